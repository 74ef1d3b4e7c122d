"""A session's traces (Enter on a session)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from agenttrace.errors import NotFoundError

from ..client import CollectorUnreachable
from ..format import human, usd
from ..widgets import Banner, TraceTable


class SessionTracesScreen(Screen[None]):
    """Lists one session's traces; Enter opens a trace, escape goes back."""

    DEFAULT_CSS = """
    SessionTracesScreen #title { height: 1; padding: 0 1; background: $panel; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "back"),
        Binding("f5,ctrl+r", "reload", "reload", show=False),
    ]

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        yield Static(Text(f"session {self.session_id} · loading…"), id="title")
        yield Banner()
        yield TraceTable(id="traces")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TraceTable).focus()
        self.action_reload()
        if getattr(self.app, "poll", False):
            # Active sessions grow and traces still running gain spans: reload while in front.
            self.set_interval(getattr(self.app, "slow_interval_s", 2.0), self._auto_reload)

    def _auto_reload(self) -> None:
        if self.app.screen is self and not getattr(self.app, "paused", False):
            self.action_reload()

    def action_reload(self) -> None:
        self.run_worker(self._load(), group="load", exclusive=True)

    async def _load(self) -> None:
        try:
            detail = await self.app.client.session(self.session_id)  # type: ignore[attr-defined]
        except NotFoundError:
            self.query_one(Banner).alert(f"session {self.session_id} not found")
            return
        except CollectorUnreachable as exc:
            self.query_one(Banner).alert(str(exc))
            return
        self.query_one(Banner).clear()
        self.query_one(TraceTable).show(detail.traces)
        s = detail.summary
        title = (
            f"session {self.session_id} ({s.service}) · {len(detail.traces)} traces · {s.errors} errors"
            f" · {human(s.tokens.total_tokens)} tokens · {usd(s.cost_usd)}"
        )
        self.query_one("#title", Static).update(Text(title))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            from .waterfall import TraceScreen

            self.app.push_screen(TraceScreen(str(event.row_key.value)))
