"""A trace's waterfall: the span tree, one row per span, with a time bar on a shared axis."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from agenttrace.format import duration_ns

from ..models import SpanRecord

HEADERS = ("SPAN", "KIND", "TIMELINE", "DURATION")
BAR_WIDTH = 24


def span_tree(spans: list[SpanRecord]) -> list[tuple[int, SpanRecord]]:
    """Depth-first order of ``spans`` as (depth, span), children by start time.

    Spans whose parent is missing from the trace (lost or not yet flushed) are shown
    as roots rather than hidden.
    """
    ids = {s.span_id for s in spans}
    children: dict[str, list[SpanRecord]] = {}
    roots: list[SpanRecord] = []
    for s in spans:
        if s.parent_id and s.parent_id in ids and s.parent_id != s.span_id:
            children.setdefault(s.parent_id, []).append(s)
        else:
            roots.append(s)
    out: list[tuple[int, SpanRecord]] = []
    seen: set[str] = set()
    stack = [(0, s) for s in sorted(roots, key=_order, reverse=True)]
    while stack:
        depth, s = stack.pop()
        if s.span_id in seen:  # a cycle in bad data must not loop forever
            continue
        seen.add(s.span_id)
        out.append((depth, s))
        stack.extend((depth + 1, c) for c in sorted(children.get(s.span_id, ()), key=_order, reverse=True))
    return out


def _order(s: SpanRecord) -> tuple[int, str]:
    return (s.start_ns, s.span_id)


def time_bar(start_ns: int, end_ns: int, t0: int, total_ns: int, width: int = BAR_WIDTH) -> str:
    """The cells of ``width`` a span covers on the axis [t0, t0 + total_ns], at least one.

    >>> time_bar(0, 50, 0, 100, 10)
    '█████     '
    >>> time_bar(90, 91, 0, 100, 10)
    '         █'
    """
    if total_ns <= 0:
        return "█" * width
    first = min(width - 1, max(0, int((start_ns - t0) * width / total_ns)))
    last = min(width, max(first + 1, -(-(end_ns - t0) * width // total_ns)))
    return " " * first + "█" * (last - first) + " " * (width - last)


class Waterfall(DataTable):
    """Rows are spans in tree order; moving the cursor posts ``RowHighlighted`` with the span id."""

    DEFAULT_CSS = """
    Waterfall { height: 1fr; }
    Waterfall:nocolor > .datatable--cursor { text-style: reverse bold; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.spans: dict[str, SpanRecord] = {}

    def on_mount(self) -> None:
        for name, width in zip(HEADERS, (27, 9, BAR_WIDTH, 8), strict=True):
            self.add_column(name, key=name, width=width)

    def show(self, spans: list[SpanRecord]) -> None:
        """Show a trace's spans; on a reload the cursor stays on the same span."""
        new = {s.span_id: s for s in spans}
        if new == self.spans:
            return
        keep = self.selected_span
        self.clear()
        self.spans = new
        if not spans:
            return
        t0 = min(s.start_ns for s in spans)
        total = max(s.end_ns for s in spans) - t0
        for depth, s in span_tree(spans):
            err = s.status == "error"
            label = Text("  " * depth + ("└ " if depth else ""), style="dim")
            label.append(("✗ " if err else "") + s.name, style="bold red" if err else "")
            label.no_wrap = True
            label.overflow = "ellipsis"
            bar_style = "red" if err else ("magenta" if s.kind == "llm" else "cyan")
            self.add_row(
                label,
                Text(s.kind),
                Text(time_bar(s.start_ns, s.end_ns, t0, total), style=bar_style),
                Text(duration_ns(s.duration_ms * 1e6), justify="right"),
                key=s.span_id,
            )
        if keep is not None and keep.span_id in new:
            self.move_cursor(row=self.get_row_index(keep.span_id), animate=False)

    @property
    def selected_span(self) -> SpanRecord | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.spans.get(str(key))
