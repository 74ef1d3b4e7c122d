"""Terminal rendering for the read commands: the trace waterfall, tables and JSON.

The waterfall draws one row per span, indented by depth, with a duration bar on a
time axis shared by the whole trace, so a glance shows what ran when and what took
long. Errors are marked with ``✗`` and their status message.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agenttrace.format import fmt_cost, fmt_duration_ns, fmt_tokens, local_time
from agenttrace.query.results import SpanRecord, TraceTree

__all__ = [
    "fmt_cost",
    "fmt_duration_ns",
    "fmt_tokens",
    "print_json",
    "print_table",
    "print_traces",
    "tree_order",
    "waterfall",
]

_json = msgspec.json.Encoder()


def print_json(value: Any, *, file: Any = None) -> None:
    """Write ``value`` (Structs, dicts, lists) as one JSON document and a newline."""
    out = file or sys.stdout
    out.write(_json.encode(value).decode())
    out.write("\n")
    out.flush()


def _console(file: Any = None) -> Console:
    out = file or sys.stdout
    tty = hasattr(out, "isatty") and out.isatty()
    # Piped output is for scripts and grep: never cut a row (rich would assume 80 columns).
    return Console(file=file, highlight=False, soft_wrap=False, width=None if tty else 1000)


def print_table(
    title: str | None,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
    file: Any = None,
) -> None:
    """Print a table; ``columns`` are ``(header, justify)`` pairs.

    On a narrow terminal only the last column is shortened (with an ellipsis): ids,
    numbers and names stay whole so they can be copied.
    """
    cells = [[r if isinstance(r, Text) else Text(str(r)) for r in row] for row in rows]
    table = Table(
        title=title,
        caption=caption,
        header_style="bold",
        box=None,
        pad_edge=False,
        title_justify="left",
        caption_justify="left",
    )
    last = len(columns) - 1
    for i, (header, justify) in enumerate(columns):
        widest = max([len(header), *(c[i].cell_len for c in cells)]) if i < last else None
        table.add_column(header, justify=justify, no_wrap=True, min_width=widest)  # type: ignore[arg-type]
    for row in cells:
        table.add_row(*row)
    _console(file).print(table)


def print_traces(traces: Iterable[Any]) -> None:
    """The table of trace summaries that ``traces list`` and ``sessions show`` print."""
    print_table(
        None,
        [
            ("trace", "left"),
            ("name", "left"),
            ("start", "left"),
            ("duration", "right"),
            ("spans", "right"),
            ("errors", "right"),
            ("tokens", "right"),
            ("cost", "right"),
        ],
        [
            (
                t.trace_id,
                t.root_name,
                local_time(t.start_ns),
                fmt_duration_ns(t.duration_ms * 1e6),
                t.spans,
                t.errors or "",
                fmt_tokens(t.tokens.total_tokens),
                fmt_cost(t.cost_usd),
            )
            for t in traces
        ],
    )


def tree_order(tree: TraceTree) -> list[tuple[SpanRecord, int]]:
    """The trace's spans depth-first with their depth, as the engine's tree links them.

    Roots (including orphans whose parent never arrived) come first by start time;
    a span the links do not reach is still shown, at the top level, rather than hidden.
    """
    by_id = {s.span_id: s for s in tree.spans}
    order: list[tuple[SpanRecord, int]] = []
    seen: set[str] = set()
    stack = [(r, 0) for r in reversed(tree.root_ids)]
    while stack:
        span_id, depth = stack.pop()
        span = by_id.get(span_id)
        if span is None or span_id in seen:  # a parent cycle in bad data must not loop forever
            continue
        seen.add(span_id)
        order.append((span, depth))
        stack.extend((c, depth + 1) for c in reversed(tree.children.get(span_id, [])))
    order.extend((s, 0) for s in tree.spans if s.span_id not in seen)
    return order


def _bar(start: int, end: int, t0: int, total: int, width: int) -> str:
    """A bar of ``width`` cells: blanks before the span, blocks across it (at least one)."""
    if total <= 0:
        return "█" * width
    left = int((start - t0) / total * width)
    left = min(max(left, 0), width - 1)
    right = round((end - t0) / total * width)
    right = min(max(right, left + 1), width)
    return " " * left + "█" * (right - left) + " " * (width - right)


def waterfall(tree: TraceTree, *, bar_width: int = 40, file: Any = None, title: str | None = None) -> None:
    """Print one trace as an indented tree with bars on a shared time axis."""
    if not tree.spans:
        return
    t0 = min(s.start_ns for s in tree.spans)
    t1 = max(s.end_ns for s in tree.spans)
    total = t1 - t0
    table = Table(title=title, header_style="bold", box=None, pad_edge=False, title_justify="left")
    table.add_column("span", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("start", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    axis_end = fmt_duration_ns(total)
    table.add_column(f"0 {'─' * max(bar_width - 3 - len(axis_end), 1)} {axis_end}", no_wrap=True)
    table.add_column("tokens", justify="right", no_wrap=True)
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for span, depth in tree_order(tree):
        error = span.status == "error"
        label = Text("  " * depth)
        if error:
            label.append("✗ ", style="bold red")
        label.append(span.name, style="red" if error else "")
        if span.model and span.model not in span.name:
            label.append(f" {span.model}", style="dim")
        note = Text(span.status_message or "error", style="red") if error else Text("")
        table.add_row(
            label,
            Text(span.kind, style="cyan"),
            Text("+" + fmt_duration_ns(span.start_ns - t0), style="dim"),
            fmt_duration_ns(span.end_ns - span.start_ns),
            Text(_bar(span.start_ns, span.end_ns, t0, total, bar_width), style="red" if error else "green"),
            fmt_tokens(span.total_tokens),
            fmt_cost(span.cost_usd),
            note,
        )
    _console(file).print(table)
