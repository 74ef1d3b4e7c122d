"""The read layer: every question a face asks, answered by one engine per store.

    from agenttrace.query import open_engine, SpanFilter
    engine = open_engine("/var/lib/agenttrace")      # a QueryEngine
    engine.costs("model", since_ns=t0).rows

Faces (CLI, HTTP API, TUI, dashboard) import this package and render its Structs
(:mod:`agenttrace.query.results`); stores are reached only through an implementation of
:class:`QueryEngine`. Importing this package needs msgspec alone: the segment engine
(lz4, the store) is imported when :func:`open_engine` is first called.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from agenttrace.query.protocol import IdKind, QueryEngine
from agenttrace.query.records import STATUS_NAMES, SpanRecord, span_record, status_code
from agenttrace.query.results import (
    COST_GROUPS,
    PERF_GROUPS,
    AggregateResult,
    AggregateRow,
    CostReport,
    CostRow,
    ErrorReport,
    ErrorRow,
    PerformanceReport,
    PerformanceRow,
    SessionDetail,
    SessionList,
    SessionSummary,
    SkippedSegment,
    SpanFilter,
    SpanPage,
    StoreInventory,
    Summary,
    TokenTotals,
    TraceList,
    TraceSummary,
    TraceTree,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "COST_GROUPS",
    "PERF_GROUPS",
    "STATUS_NAMES",
    "AggregateResult",
    "AggregateRow",
    "CostReport",
    "CostRow",
    "ErrorReport",
    "ErrorRow",
    "IdKind",
    "PerformanceReport",
    "PerformanceRow",
    "QueryEngine",
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
    "open_engine",
    "span_record",
    "status_code",
]


def open_engine(data_dir: str | os.PathLike[str], *, clock: Callable[[], int] | None = None) -> QueryEngine:
    """The query engine over the segment store at ``data_dir``, or over the PostgreSQL
    store when ``data_dir`` is a ``postgresql://`` (or ``postgres://``) URI.

    The one place a face learns which store it reads."""
    if isinstance(data_dir, str) and data_dir.startswith(("postgresql://", "postgres://")):
        from agenttrace.query.postgres import PostgresQueryEngine

        return PostgresQueryEngine(data_dir) if clock is None else PostgresQueryEngine(data_dir, clock=clock)
    from agenttrace.query.segments import SegmentQueryEngine

    return SegmentQueryEngine(data_dir) if clock is None else SegmentQueryEngine(data_dir, clock=clock)
