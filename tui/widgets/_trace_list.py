"""The traces of one session: when, root span, duration, spans, tokens, cost, errors."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from agenttrace.format import duration_ns, human, usd

from ..models import TraceSummary

HEADERS = ("STARTED", "TRACE", "DURATION", "SPANS", "TOKENS", "COST", "ERR")
WIDTHS = (8, 24, 8, 5, 6, 7, 3)


class TraceTable(DataTable):
    """A session's traces, newest first; Enter opens the selected trace's waterfall."""

    DEFAULT_CSS = """
    TraceTable { height: 1fr; }
    TraceTable:nocolor > .datatable--cursor { text-style: reverse bold; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "waterfall")]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._shown: list[TraceSummary] = []

    def on_mount(self) -> None:
        for name, width in zip(HEADERS, WIDTHS, strict=True):
            self.add_column(name, key=name, width=width)

    def show(self, rows: list[TraceSummary]) -> None:
        """Show ``rows`` newest first; the cursor stays on the same trace across reloads."""
        rows = sorted(rows, key=lambda r: (-r.start_ns, r.trace_id))
        if rows == self._shown:
            return
        self._shown = rows
        keep = self.selected_trace
        self.clear()
        for r in rows:
            started = time.strftime("%H:%M:%S", time.localtime(r.start_ns / 1e9)) if r.start_ns else "-"
            self.add_row(
                Text(started),
                Text(r.root_name or r.trace_id, overflow="ellipsis", no_wrap=True),
                Text(duration_ns(r.duration_ms * 1e6), justify="right"),
                Text(human(r.spans), justify="right"),
                Text(human(r.tokens.total_tokens), justify="right"),
                Text(usd(r.cost_usd), justify="right"),
                Text(str(r.errors), justify="right", style="bold red" if r.errors else ""),
                key=r.trace_id,
            )
        if keep is not None:
            index = next((i for i, r in enumerate(rows) if r.trace_id == keep), 0)
            self.move_cursor(row=index, animate=False)

    @property
    def selected_trace(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
