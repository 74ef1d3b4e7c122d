"""The segment store: WAL, column builders, sealed segments and rollups.

Write side (docs/store.md, docs/format/segment.md, docs/format/wal.md)::

    from agenttrace.store import SegmentWriter, WriterConfig, SegmentReader, list_segments

Maintenance::

    from agenttrace.store import compact, apply_retention

Queries over the store are the read layer's: ``agenttrace.query.open_engine(data_dir)``
(``agenttrace.query.segments.SegmentQueryEngine``; docs/query.md).
"""

from agenttrace.store.compaction import CompactionStats, compact
from agenttrace.store.layout import SegmentInfo, list_segments
from agenttrace.store.reader import OpenedSegments, SegmentReader, SegmentReplacedError, open_segments
from agenttrace.store.retention import RetentionStats, apply_retention
from agenttrace.store.rollup import Rollup, RollupRow
from agenttrace.store.segment import COLUMN_NAMES, Footer, UnknownSegmentVersionError
from agenttrace.store.sketch import LatencySketch
from agenttrace.store.writer import SegmentWriter, WriterConfig, WriterStats

__all__ = [
    "COLUMN_NAMES",
    "CompactionStats",
    "Footer",
    "LatencySketch",
    "OpenedSegments",
    "RetentionStats",
    "Rollup",
    "RollupRow",
    "SegmentInfo",
    "SegmentReader",
    "SegmentReplacedError",
    "SegmentWriter",
    "UnknownSegmentVersionError",
    "WriterConfig",
    "WriterStats",
    "apply_retention",
    "compact",
    "list_segments",
    "open_segments",
]
