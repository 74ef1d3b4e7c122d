"""One trace's waterfall and the selected span's details (Enter on a trace)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable

from agenttrace.format import duration_ns, human, usd

from ..widgets import SpanDetail, Waterfall
from ._detail import DetailScreen


class TraceScreen(DetailScreen):
    """The span tree with time bars on top, the highlighted span's details below."""

    FOCUS = Waterfall
    NOUN = "trace"

    def __init__(self, trace_id: str) -> None:
        super().__init__(trace_id)
        self.trace_id = trace_id

    def compose_body(self) -> ComposeResult:
        yield Waterfall(id="waterfall")
        yield SpanDetail(id="detail")

    async def fetch(self) -> Any:
        return await self.app.client.trace(self.trace_id)  # type: ignore[attr-defined]

    def not_found(self) -> str:
        return f"trace {self.trace_id} not found (not stored yet?)"

    def show(self, found: Any) -> None:
        spans = found.spans
        waterfall = self.query_one(Waterfall)
        waterfall.show(spans)
        if spans:
            total = max(s.end_ns for s in spans) - min(s.start_ns for s in spans)
            self.set_title(
                f"trace {self.trace_id[:16]} · {len(spans)} spans · {duration_ns(total)}"
                f" · {human(found.tokens.total_tokens)} tokens · {usd(found.cost_usd)} · {found.errors} errors"
            )
        self.query_one(SpanDetail).show(waterfall.selected_span)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(SpanDetail).show(self.query_one(Waterfall).selected_span)
