"""A session's traces (Enter on a session)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable

from agenttrace.errors import NotFoundError
from agenttrace.format import human, usd

from ..widgets import CodingActivity, TraceTable
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
        yield CodingActivity(id="coding")

    async def fetch(self) -> Any:
        client = self.app.client  # type: ignore[attr-defined]
        found = await client.session(self.session_id)
        try:  # a coding session's commits and files; a collector without the route has none
            self._activity = await client.session_coding(self.session_id)
        except NotFoundError:
            self._activity = None
        return found

    def show(self, found: Any) -> None:
        self.query_one(TraceTable).show(found.traces)
        self.query_one(CodingActivity).show(getattr(self, "_activity", None))
        s = found.summary
        self.set_title(
            f"session {self.session_id} ({s.service}) · {len(found.traces)} traces · {s.errors} errors"
            f" · {human(s.tokens.total_tokens)} tokens · {usd(s.cost_usd)}"
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            from .waterfall import TraceScreen

            self.app.push_screen(TraceScreen(str(event.row_key.value)))
