"""Running sums of spans into session and trace summaries: the one place they are made.

An implementation feeds rows of span columns (lists keyed by Span field name, usage
flattened) into a :class:`Totals` per session or trace, then asks it for the summary
Struct. Sessions and trace lists are summed the same way whatever store the rows came
from, so their figures agree between the CLI, the API and the TUI.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from agenttrace.model import Span
from agenttrace.query.records import STATUS_NAMES, span_record
from agenttrace.query.results import AggregateRow, SessionSummary, SkippedSegment, TokenTotals, TraceSummary, TraceTree
from agenttrace.store.rollup import TOKEN_FIELDS

__all__ = [
    "SUMMARY_COLUMNS",
    "TOKEN_FIELDS",
    "TRACE_SUMMARY_COLUMNS",
    "Totals",
    "aggregate_rows",
    "token_totals",
    "trace_tree",
]

# The columns Totals.add_many reads; trace summaries also read the span name and parent.
SUMMARY_COLUMNS: tuple[str, ...] = tuple(
    sorted(
        {
            "session_id",
            "trace_id",
            "start_ns",
            "end_ns",
            "status",
            "service",
            "user_id",
            "model",
            "cost_usd",
            *TOKEN_FIELDS,
        }
    )
)
TRACE_SUMMARY_COLUMNS: tuple[str, ...] = tuple(sorted({*SUMMARY_COLUMNS, "name", "parent_id"}))
_ERROR = 2


def token_totals(source: Mapping[str, int] | Any) -> TokenTotals:
    """Token sums from a mapping or an object with the five token fields (total = input + output)."""
    get = source.__getitem__ if isinstance(source, Mapping) else source.__getattribute__
    t = TokenTotals(**{f: get(f) for f in TOKEN_FIELDS})
    t.total_tokens = t.input_tokens + t.output_tokens
    return t


class Totals:
    """Running sums for one session or trace.

    >>> t = Totals()
    >>> cols = {"start_ns": [5, 1], "end_ns": [9, 4], "status": [2, 1], "cost_usd": [0.5, None],
    ...         "trace_id": [b"t", b"t"], "service": ["s", "s"], "user_id": ["", "u"], "model": ["m", ""],
    ...         "name": ["child", "root"], "parent_id": [b"p", b""],
    ...         **{f: [1, 2] for f in TOKEN_FIELDS}}
    >>> t.add_many(cols, [0, 1])
    >>> s = t.trace_summary("74")
    >>> (s.root_name, s.spans, s.errors, s.duration_ms, s.tokens.total_tokens, s.cost_usd)
    ('root', 2, 1, 8e-06, 6, 0.5)
    """

    __slots__ = (
        "cost",
        "errors",
        "first",
        "last",
        "models",
        "root",
        "services",
        "spans",
        "tok",
        "traces",
        "users",
    )

    def __init__(self) -> None:
        self.spans = 0
        self.errors = 0
        self.cost = 0.0
        self.first: int | None = None
        self.last: int | None = None
        self.tok = dict.fromkeys(TOKEN_FIELDS, 0)
        self.traces: set[bytes] = set()
        self.services: Counter[str] = Counter()
        self.users: Counter[str] = Counter()
        self.models: set[str] = set()
        # (rank, name) of the span naming the trace: its root's, else its earliest span's
        self.root: tuple[tuple[int, int], str] | None = None

    def add_many(self, c: Mapping[str, Sequence[Any]], js: Sequence[int]) -> None:
        """Add the rows at positions ``js`` of the columns ``c`` (:data:`SUMMARY_COLUMNS`,
        plus ``name`` and ``parent_id`` when a trace summary will be asked for)."""
        if not js:
            return
        st, en, status, cost = c["start_ns"], c["end_ns"], c["status"], c["cost_usd"]
        self.spans += len(js)
        self.errors += sum(1 for j in js if status[j] == _ERROR)
        self.cost += sum(cost[j] or 0.0 for j in js)
        first = min(st[j] for j in js)
        last = max(en[j] for j in js)
        if self.first is None or first < self.first:
            self.first = first
        if self.last is None or last > self.last:
            self.last = last
        for f in TOKEN_FIELDS:
            col = c[f]
            self.tok[f] += sum(col[j] or 0 for j in js)
        trace, service, user, model = c["trace_id"], c["service"], c["user_id"], c["model"]
        self.traces.update(trace[j] for j in js)
        self.services.update(service[j] for j in js)
        self.users.update(u for j in js if (u := user[j]))
        self.models.update(m for j in js if (m := model[j]))
        names, parents = c.get("name"), c.get("parent_id")
        if names is not None and parents is not None:
            for j in js:
                rank = (0 if not parents[j] else 1, st[j])
                if self.root is None or rank < self.root[0]:
                    self.root = (rank, names[j])

    def session_summary(self, session_id: str) -> SessionSummary:
        first, last = self.first or 0, self.last or 0
        return SessionSummary(
            session_id=session_id,
            service=self.services.most_common(1)[0][0] if self.services else "",
            user_id=self.users.most_common(1)[0][0] if self.users else "",
            first_seen_ns=first,
            last_seen_ns=last,
            duration_ms=(last - first) / 1e6,
            spans=self.spans,
            traces=len(self.traces),
            errors=self.errors,
            tokens=token_totals(self.tok),
            cost_usd=self.cost,
            models=sorted(self.models),
        )

    def trace_summary(self, trace_id: str) -> TraceSummary:
        """The one-line summary of a trace (its rows must have included name and parent_id)."""
        first, last = self.first or 0, self.last or 0
        return TraceSummary(
            trace_id=trace_id,
            root_name=self.root[1] if self.root is not None else "",
            start_ns=first,
            end_ns=last,
            duration_ms=(last - first) / 1e6,
            spans=self.spans,
            errors=self.errors,
            tokens=token_totals(self.tok),
            cost_usd=self.cost,
        )


def trace_tree(trace_id_hex: str, spans: Sequence[Span], skipped: list[SkippedSegment]) -> TraceTree:
    """A whole trace as a tree with its totals, from its spans in start order (every engine
    builds ``QueryEngine.trace`` here, so the tree and figures agree between stores)."""
    ids = {s.span_id for s in spans}
    children: dict[str, list[str]] = {}
    roots, orphans = [], []
    tok = dict.fromkeys(TOKEN_FIELDS, 0)
    for s in spans:
        if s.usage is not None:
            for f in TOKEN_FIELDS:
                tok[f] += getattr(s.usage, f)
        if s.parent_id and s.parent_id in ids:
            children.setdefault(s.parent_id.hex(), []).append(s.span_id.hex())
        else:
            roots.append(s.span_id.hex())
            if s.parent_id:
                orphans.append(s.span_id.hex())
    start = min(s.start_ns for s in spans)
    end = max(s.end_ns for s in spans)
    sessions = Counter(s.session_id for s in spans if s.session_id)
    return TraceTree(
        trace_id=trace_id_hex,
        spans=[span_record(s) for s in spans],
        root_ids=roots,
        children=children,
        orphan_ids=orphans,
        span_count=len(spans),
        errors=sum(s.status == _ERROR for s in spans),
        tokens=token_totals(tok),
        cost_usd=sum(s.cost_usd or 0.0 for s in spans),
        start_ns=start,
        end_ns=end,
        duration_ms=(end - start) / 1e6,
        services=sorted({s.service for s in spans if s.service}),
        session_id=sessions.most_common(1)[0][0] if sessions else "",
        skipped_segments=skipped,
    )


def aggregate_rows(groups: Mapping[tuple, Any], group_by: Sequence[str], latency: bool) -> list[AggregateRow]:
    """Rows of ``QueryEngine.aggregate`` from group key -> running sums (count, errors, token
    fields, cost_usd, duration_sum_ns, sketch), in key order; the same for every engine."""
    rows = []
    for gk in sorted(groups):
        r = groups[gk]
        p50, p95, p99 = r.sketch.quantiles((0.5, 0.95, 0.99)) if latency else (None, None, None)
        group = {g: (STATUS_NAMES.get(v, str(v)) if g == "status" else v) for g, v in zip(group_by, gk, strict=True)}
        rows.append(
            AggregateRow(
                group=group,
                count=r.count,
                errors=r.errors,
                tokens=token_totals(r),
                cost_usd=r.cost_usd,
                duration_avg_ms=r.duration_sum_ns / r.count / 1e6 if r.count else 0.0,
                p50_ms=None if p50 is None else p50 / 1e6,
                p95_ms=None if p95 is None else p95 / 1e6,
                p99_ms=None if p99 is None else p99 / 1e6,
            )
        )
    return rows
