"""The trace waterfall as a user reads it: tree order, indentation, bars on one time axis."""

from __future__ import annotations

import io

from agenttrace.commands.render import fmt_cost, fmt_duration_ns, tree_order, waterfall
from agenttrace.export import span_record
from agenttrace.model import Span, Usage
from agenttrace.query.results import TokenTotals, TraceTree

T = b"t" * 16
MS = 1_000_000


def _span(sid: str, parent: str, name: str, start_ms: int, end_ms: int, **kw) -> Span:
    return Span(
        trace_id=T,
        span_id=sid.encode() * 8,
        parent_id=parent.encode() * 8 if parent else b"",
        name=name,
        start_ns=start_ms * MS,
        end_ns=end_ms * MS,
        **kw,
    )


TRACE = [
    # Deliberately out of order: the tree is rebuilt from parent ids and start times.
    _span("d", "c", "fetch", 1450, 1650, kind="http", status=2, status_message="timeout after 200ms"),
    _span("c", "a", "search", 1400, 1700, kind="tool"),
    _span("a", "", "agent run", 0, 4000, kind="agent"),
    _span("b", "a", "plan", 100, 1300, kind="llm", model="gpt-4o", usage=Usage(1200, 300), cost_usd=0.0123),
]


def _tree(spans: list[Span]) -> TraceTree:
    """A TraceTree linked the way the engine documents it (children and roots by start time)."""
    recs = sorted((span_record(s) for s in spans), key=lambda r: r.start_ns)
    ids = {r.span_id for r in recs}
    children: dict[str, list[str]] = {}
    for r in recs:
        if r.parent_id in ids:
            children.setdefault(r.parent_id, []).append(r.span_id)
    roots = [r.span_id for r in recs if r.parent_id not in ids]
    return TraceTree(
        trace_id=T.hex(),
        spans=recs,
        root_ids=roots,
        children=children,
        orphan_ids=[r.span_id for r in recs if r.parent_id and r.parent_id not in ids],
        span_count=len(recs),
        errors=sum(r.status == "error" for r in recs),
        tokens=TokenTotals(),
        cost_usd=0.0,
        start_ns=recs[0].start_ns,
        end_ns=max(r.end_ns for r in recs),
        duration_ms=0.0,
        services=[],
        session_id="",
    )


def _render(spans: list[Span]) -> list[str]:
    buf = io.StringIO()
    waterfall(_tree(spans), bar_width=40, file=buf)
    return buf.getvalue().splitlines()


def test_tree_order_is_depth_first_with_siblings_by_start() -> None:
    assert [(s.name, d) for s, d in tree_order(_tree(TRACE))] == [
        ("agent run", 0),
        ("plan", 1),
        ("search", 1),
        ("fetch", 2),
    ]


def test_orphans_are_shown_at_the_top_level_not_hidden() -> None:
    orphan = _span("z", "q", "late child", 10, 20)
    order = tree_order(_tree([*TRACE, orphan]))
    assert ("late child", 0) in [(s.name, d) for s, d in order]
    assert len(order) == 5


def test_spans_the_links_miss_are_still_shown() -> None:
    tree = _tree(TRACE)
    tree.root_ids = []  # as if the links were damaged: nothing may vanish from the view
    assert sorted(s.name for s, _ in tree_order(tree)) == ["agent run", "fetch", "plan", "search"]


def test_waterfall_rows_show_indent_kind_duration_tokens_cost_and_errors() -> None:
    lines = _render(TRACE)
    header, rows = lines[0], lines[1:]
    assert "4.00s" in header  # the axis is labelled with the trace's length
    names = [r.split("  ")[0].strip() for r in rows]
    assert rows[0].startswith("agent run")
    assert rows[1].startswith("  plan gpt-4o")
    assert rows[3].startswith("    ✗ fetch")  # depth 2 and marked as an error
    assert "timeout after 200ms" in rows[3]
    assert "1,500" in rows[1] and "$0.0123" in rows[1]
    assert "1.20s" in rows[1] and "200.0ms" in rows[3]
    assert len(names) == 4


def test_bars_share_one_time_axis() -> None:
    rows = _render(TRACE)[1:]
    bars = [r[r.index("█") :].split(" ")[0] for r in rows]
    starts = [r.index("█") for r in rows]
    assert len(bars[0]) == 40  # the root spans the whole axis
    assert len(bars[1]) == 12  # 1.2 s of 4 s over 40 cells
    assert starts[1] - starts[0] == 1  # plan starts 100 ms in: one cell
    assert starts[2] - starts[0] == 14  # search starts at 1.4 s
    assert len(bars[3]) >= 1  # a short span still gets a visible cell


def test_number_formats() -> None:
    assert fmt_duration_ns(999) == "999ns"
    assert fmt_duration_ns(1_500_000) == "1.5ms"
    assert fmt_duration_ns(61 * 10**9) == "1m01s"
    assert fmt_cost(None) == "" and fmt_cost(0.5) == "$0.5000" and fmt_cost(1234.5) == "$1,234.50"
