"""The segment store: WAL, column builders, sealed segments, rollups and queries.

Write side (docs/store.md, docs/format/segment.md, docs/format/wal.md)::

    from agenttrace.store import SegmentWriter, WriterConfig, SegmentReader, list_segments
"""

from agenttrace.store.layout import SegmentInfo, list_segments
from agenttrace.store.reader import OpenedSegments, SegmentReader, SegmentReplacedError, open_segments
from agenttrace.store.segment import COLUMN_NAMES, Footer, UnknownSegmentVersionError
from agenttrace.store.writer import SegmentWriter, WriterConfig, WriterStats

__all__ = [
    "COLUMN_NAMES",
    "Footer",
    "OpenedSegments",
    "SegmentInfo",
    "SegmentReader",
    "SegmentReplacedError",
    "SegmentWriter",
    "UnknownSegmentVersionError",
    "WriterConfig",
    "WriterStats",
    "list_segments",
    "open_segments",
]
