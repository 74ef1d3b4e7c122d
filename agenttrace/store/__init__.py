"""The segment store: WAL, column builders, sealed segments, rollups and queries.

Write side (docs/store.md, docs/format/segment.md, docs/format/wal.md)::

    from agenttrace.store import SegmentWriter, WriterConfig, SegmentReader, list_segments

Read side (docs/query.md)::

    from agenttrace.store import QueryEngine, SpanFilter, compact, apply_retention
"""

from agenttrace.store.compaction import CompactionStats, compact
from agenttrace.store.layout import SegmentInfo, list_segments
from agenttrace.store.query import GROUP_BY, QueryEngine
from agenttrace.store.reader import OpenedSegments, SegmentReader, SegmentReplacedError, open_segments
from agenttrace.store.results import (
    AggregateResult,
    AggregateRow,
    SessionDetail,
    SessionList,
    SessionSummary,
    SkippedSegment,
    SpanFilter,
    SpanPage,
    TokenTotals,
    TraceList,
    TraceSummary,
    TraceTree,
)
from agenttrace.store.retention import RetentionStats, apply_retention
from agenttrace.store.rollup import Rollup, RollupRow
from agenttrace.store.segment import COLUMN_NAMES, Footer, UnknownSegmentVersionError
from agenttrace.store.sketch import LatencySketch
from agenttrace.store.writer import SegmentWriter, WriterConfig, WriterStats

__all__ = [
    "COLUMN_NAMES",
    "GROUP_BY",
    "AggregateResult",
    "AggregateRow",
    "CompactionStats",
    "Footer",
    "LatencySketch",
    "OpenedSegments",
    "QueryEngine",
    "RetentionStats",
    "Rollup",
    "RollupRow",
    "SegmentInfo",
    "SegmentReader",
    "SegmentReplacedError",
    "SegmentWriter",
    "SessionDetail",
    "SessionList",
    "SessionSummary",
    "SkippedSegment",
    "SpanFilter",
    "SpanPage",
    "TokenTotals",
    "TraceList",
    "TraceSummary",
    "TraceTree",
    "UnknownSegmentVersionError",
    "WriterConfig",
    "WriterStats",
    "apply_retention",
    "compact",
    "list_segments",
    "open_segments",
]
