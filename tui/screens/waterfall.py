"""One trace's waterfall and the selected span's details (Enter on a trace)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from agenttrace.errors import NotFoundError

from ..client import CollectorUnreachable
from ..format import duration_ns, human, usd
from ..widgets import Banner, SpanDetail, Waterfall


class TraceScreen(Screen[None]):
    """The span tree with time bars on top, the highlighted span's details below."""

    DEFAULT_CSS = """
    TraceScreen #title { height: 1; padding: 0 1; background: $panel; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "back"),
        Binding("f5,ctrl+r", "reload", "reload", show=False),
    ]

    def __init__(self, trace_id: str) -> None:
        super().__init__()
        self.trace_id = trace_id

    def compose(self) -> ComposeResult:
        yield Static(Text(f"trace {self.trace_id} · loading…"), id="title")
        yield Banner()
        yield Waterfall(id="waterfall")
        yield SpanDetail(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Waterfall).focus()
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
            trace = await self.app.client.trace(self.trace_id)  # type: ignore[attr-defined]
        except NotFoundError:
            self.query_one(Banner).alert(f"trace {self.trace_id} not found (not stored yet?)")
            return
        except CollectorUnreachable as exc:
            self.query_one(Banner).alert(str(exc))
            return
        self.query_one(Banner).clear()
        spans = trace.spans
        waterfall = self.query_one(Waterfall)
        waterfall.show(spans)
        if spans:
            total = max(s.end_ns for s in spans) - min(s.start_ns for s in spans)
            cost = trace.cost_usd
            tokens = trace.tokens.total_tokens
            errors = trace.errors
            title = (
                f"trace {self.trace_id[:16]} · {len(spans)} spans · {duration_ns(total)}"
                f" · {human(tokens)} tokens · {usd(cost)} · {errors} errors"
            )
            self.query_one("#title", Static).update(Text(title))
        self.query_one(SpanDetail).show(waterfall.selected_span)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(SpanDetail).show(self.query_one(Waterfall).selected_span)
