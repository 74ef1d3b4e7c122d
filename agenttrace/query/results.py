"""What a query engine returns: msgspec Structs with stable, self-describing field names.

The CLI's ``--json`` and the HTTP API serialise these directly, so a field name is a
promise: fields are only ever added. Times are Unix nanoseconds (``*_ns``) and,
where a person reads them, milliseconds (``*_ms``); ids are lowercase hex; a status
is a word (``unset``, ``ok``, ``error``); money is US dollars (``cost_usd``).

Every result carries ``skipped_segments``: the segment files the engine could not
read (corrupt or truncated) and left out, so a reader can say "answered from the
rest, skipped one corrupt segment".
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from agenttrace.query.records import SpanRecord

__all__ = [
    "COST_GROUPS",
    "PERF_GROUPS",
    "AggregateResult",
    "AggregateRow",
    "CostReport",
    "CostRow",
    "ErrorReport",
    "ErrorRow",
    "PerformanceReport",
    "PerformanceRow",
    "SessionDetail",
    "SessionList",
    "SessionSummary",
    "SkippedSegment",
    "SpanFilter",
    "SpanPage",
    "SpanRecord",
    "StoreInventory",
    "Summary",
    "TokenTotals",
    "TraceList",
    "TraceSummary",
    "TraceTree",
]


class SkippedSegment(msgspec.Struct, kw_only=True):
    """A segment file a query left out: its path, the byte offset of the fault, why."""

    path: str
    offset: int
    reason: str


class SpanFilter(msgspec.Struct, kw_only=True):
    """Which spans a query looks at. ``None`` means "any".

    ``since_ns`` / ``until_ns`` bound a span's **start** time, ``[since_ns, until_ns)``.
    ``status`` is 0 (unset), 1 (ok) or 2 (error). ``trace_id`` is 32 hex digits.
    ``name_contains`` matches a substring of the span name, case-insensitively.
    ``limit`` caps a page of spans; ``cursor`` is the ``next_cursor`` of the previous page.
    """

    since_ns: int | None = None
    until_ns: int | None = None
    service: str | None = None
    kind: str | None = None
    model: str | None = None
    status: int | None = None
    session_id: str | None = None
    trace_id: str | None = None
    user_id: str | None = None
    name_contains: str | None = None
    limit: int = 100
    cursor: str | None = None


class TokenTotals(msgspec.Struct, kw_only=True):
    """Token sums by type (convention: cache_* are parts of input, reasoning of output)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0  # input + output


class TraceTree(msgspec.Struct, kw_only=True):
    """One trace: its spans (by start time), the tree, and totals.

    ``children`` maps a span id to its children's ids (by start time); ``root_ids`` are
    the spans with no parent or whose parent was not received (``orphan_ids`` lists the
    latter).
    """

    trace_id: str
    spans: list[SpanRecord]
    root_ids: list[str]
    children: dict[str, list[str]]
    orphan_ids: list[str]
    span_count: int
    errors: int
    tokens: TokenTotals
    cost_usd: float
    start_ns: int
    end_ns: int
    duration_ms: float
    services: list[str]
    session_id: str
    skipped_segments: list[SkippedSegment] = []


class SpanPage(msgspec.Struct, kw_only=True):
    """A page of spans, newest first. ``next_cursor`` is None on the last page."""

    spans: list[SpanRecord]
    next_cursor: str | None
    scanned_segments: int
    skipped_segments: list[SkippedSegment] = []


class SessionSummary(msgspec.Struct, kw_only=True):
    """A session's activity: over all its spans, or over a window when the query says so."""

    session_id: str
    service: str  # the most frequent service of the session's spans
    user_id: str
    first_seen_ns: int
    last_seen_ns: int  # latest end_ns
    duration_ms: float
    spans: int
    traces: int
    errors: int
    tokens: TokenTotals
    cost_usd: float
    models: list[str]


class SessionList(msgspec.Struct, kw_only=True):
    """Sessions, most recently active first. ``total`` counts every session that matched,
    of which ``sessions`` holds the first ``limit`` (``None``: not counted)."""

    sessions: list[SessionSummary]
    since_ns: int | None
    until_ns: int | None
    skipped_segments: list[SkippedSegment] = []
    total: int | None = None


class TraceSummary(msgspec.Struct, kw_only=True):
    """One trace of a session, in a list."""

    trace_id: str
    root_name: str
    start_ns: int
    end_ns: int
    duration_ms: float
    spans: int
    errors: int
    tokens: TokenTotals
    cost_usd: float


class TraceList(msgspec.Struct, kw_only=True):
    """Traces with a span matching the filter, the most recently active first; the
    figures of each cover the whole trace."""

    traces: list[TraceSummary]
    since_ns: int | None
    until_ns: int | None
    skipped_segments: list[SkippedSegment] = []
    # Every trace that matched, of which ``traces`` holds the first ``limit``; ``None``
    # when the engine stopped reading early (older segments could only add older traces).
    total: int | None = None


class SessionDetail(msgspec.Struct, kw_only=True):
    """A session's summary and its traces, oldest first."""

    summary: SessionSummary
    traces: list[TraceSummary]
    skipped_segments: list[SkippedSegment] = []


class AggregateRow(msgspec.Struct, kw_only=True):
    """One group of an aggregate. ``group`` maps each group-by name to its value
    (``minute``/``hour``/``day`` to the bucket's start in Unix ns, UTC).

    ``p50_ms`` .. ``p99_ms`` come from a latency sketch and are within
    ``AggregateResult.relative_error`` of the exact percentile; ``duration_avg_ms`` is exact.
    """

    group: dict[str, Any]
    count: int
    errors: int
    tokens: TokenTotals
    cost_usd: float
    duration_avg_ms: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class AggregateResult(msgspec.Struct, kw_only=True):
    """Aggregate rows sorted by group. ``source`` says how it was answered:
    ``rollups`` (precomputed minute/hour/day rollups only), ``columns`` (span columns
    only) or ``mixed`` (rollups inside whole minutes, columns for the cut minutes at
    the edges of the range)."""

    group_by: list[str]
    since_ns: int | None
    until_ns: int | None
    rows: list[AggregateRow]
    source: str
    relative_error: float
    skipped_segments: list[SkippedSegment] = []


class StoreInventory(msgspec.Struct, kw_only=True):
    """What a store holds at all: how many readable parts (segment files, tables, ...),
    and the ones it cannot read. ``readable == 0`` and nothing skipped: an empty store."""

    readable: int
    skipped_segments: list[SkippedSegment] = []


# --- reports: reshaped aggregates (agenttrace.query.reports builds them) ---------------

CostGroup = Literal["model", "service", "kind", "day"]
COST_GROUPS: tuple[str, ...] = ("model", "service", "kind", "day")
PerfGroup = Literal["kind", "model", "service"]
PERF_GROUPS: tuple[str, ...] = ("kind", "model", "service")


class Summary(msgspec.Struct, kw_only=True):
    """Totals over a time range."""

    since_ns: int | None
    until_ns: int | None
    spans: int
    errors: int
    error_rate: float  # errors / spans, 0 when there are no spans
    tokens: TokenTotals
    cost_usd: float
    duration_avg_ms: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    skipped_segments: list[SkippedSegment] = []


class CostRow(msgspec.Struct, kw_only=True):
    """One group's spend. ``key`` is the model/service/kind name, or the day as ``YYYY-MM-DD``."""

    key: str
    spans: int
    tokens: TokenTotals
    cost_usd: float
    share: float  # of the total cost, 0..1 (0 when the total is 0)


class CostReport(msgspec.Struct, kw_only=True):
    by: str
    since_ns: int | None
    until_ns: int | None
    rows: list[CostRow]  # by cost, highest first (by day: oldest first)
    total_cost_usd: float
    total_tokens: TokenTotals
    skipped_segments: list[SkippedSegment] = []


class PerformanceRow(msgspec.Struct, kw_only=True):
    key: str
    count: int
    duration_avg_ms: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class PerformanceReport(msgspec.Struct, kw_only=True):
    """Latency percentiles, within ``relative_error`` of the exact values."""

    by: str
    since_ns: int | None
    until_ns: int | None
    rows: list[PerformanceRow]  # by p95, slowest first
    relative_error: float
    skipped_segments: list[SkippedSegment] = []


class ErrorRow(msgspec.Struct, kw_only=True):
    key: str
    count: int
    errors: int
    error_rate: float


class ErrorReport(msgspec.Struct, kw_only=True):
    by: str
    since_ns: int | None
    until_ns: int | None
    rows: list[ErrorRow]  # most errors first; groups without errors are left out
    total_spans: int
    total_errors: int
    recent: list[SpanRecord] = []  # the latest failed spans, newest first
    skipped_segments: list[SkippedSegment] = []
