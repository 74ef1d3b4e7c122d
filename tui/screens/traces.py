"""A session's traces (Enter on a session)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable

from agenttrace.format import human, usd

from ..widgets import TraceTable
from ._detail import DetailScreen


class SessionTracesScreen(DetailScreen):
    """Lists one session's traces; Enter opens a trace, escape goes back."""

    FOCUS = TraceTable
    NOUN = "session"

    def __init__(self, session_id: str) -> None:
        super().__init__(session_id)
        self.session_id = session_id

    def compose_body(self) -> ComposeResult:
        yield TraceTable(id="traces")

    async def fetch(self) -> Any:
        return await self.app.client.session(self.session_id)  # type: ignore[attr-defined]

    def show(self, found: Any) -> None:
        self.query_one(TraceTable).show(found.traces)
        s = found.summary
        self.set_title(
            f"session {self.session_id} ({s.service}) · {len(found.traces)} traces · {s.errors} errors"
            f" · {human(s.tokens.total_tokens)} tokens · {usd(s.cost_usd)}"
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            from .waterfall import TraceScreen

            self.app.push_screen(TraceScreen(str(event.row_key.value)))
