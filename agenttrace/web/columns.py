"""Span columns for the dashboard's scans, from any query engine.

The segment store's engine (``agenttrace.query.segments``) exposes its sealed
segments, and reading only the columns a scan needs from them is many times cheaper
than decoding whole spans; any other :class:`~agenttrace.query.QueryEngine` is read
through the protocol (``iter_spans``, ``trace_spans``) and its spans turned into the
same columns. Column names are the segment's: ``Span`` fields, usage flattened into
``input_tokens`` and the other token counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from agenttrace.errors import SegmentCorruptError, StoreError
from agenttrace.query import SkippedSegment, SpanFilter
from agenttrace.store.reader import SegmentReplacedError

__all__ = ["ReadAgain", "as_columns", "column_chunks", "trace_columns"]

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
_CHUNK = 4096


class ReadAgain(Exception):
    """A segment was compacted while being read: read the segment set again."""


def as_columns(spans: Sequence[Any], names: Sequence[str]) -> dict[str, list]:
    """``spans`` (model Structs) as a dict of column lists."""
    out: dict[str, list] = {}
    for n in names:
        if n in TOKEN_FIELDS:
            out[n] = [getattr(s.usage, n) if s.usage is not None else 0 for s in spans]
        else:
            out[n] = [getattr(s, n) for s in spans]
    return out


def _skip(seg: Any, exc: Exception) -> SkippedSegment:
    return SkippedSegment(path=seg.path, offset=getattr(exc, "offset", 0), reason=str(exc))


def column_chunks(
    engine: Any,
    names: Sequence[str],
    since_ns: int | None,
    until_ns: int | None,
    skipped: list[SkippedSegment] | None = None,
) -> Iterator[dict[str, list]]:
    """The ``names`` columns of the spans that may start in ``[since_ns, until_ns)``, a
    chunk at a time. Chunks may hold rows outside the range: callers that care filter
    on ``start_ns``. Unreadable segments are appended to ``skipped``."""
    if hasattr(engine, "segments"):
        segs, bad = engine.segments()
        if skipped is not None:
            skipped += bad
        for seg in segs:
            if (since_ns is not None and seg.max_start < since_ns) or (
                until_ns is not None and seg.min_start >= until_ns
            ):
                continue
            try:
                yield seg.reader.read_columns(list(names))
            except SegmentReplacedError:
                continue  # compacted meanwhile: its rows are in the file that replaced it
            except (SegmentCorruptError, StoreError) as exc:
                if skipped is not None:
                    skipped.append(_skip(seg, exc))
        return
    chunk: list[Any] = []
    for span in engine.iter_spans(SpanFilter(since_ns=since_ns, until_ns=until_ns)):
        chunk.append(span)
        if len(chunk) >= _CHUNK:
            yield as_columns(chunk, names)
            chunk = []
    if chunk:
        yield as_columns(chunk, names)


def trace_columns(engine: Any, trace_id: str, names: Sequence[str]) -> tuple[dict[str, list], list[SkippedSegment]]:
    """The ``names`` columns of every span of one trace (any order). Raises
    :class:`ReadAgain` when a segment is compacted under the read."""
    if not hasattr(engine, "segments"):
        spans, skipped = engine.trace_spans(trace_id)
        return as_columns(spans, names), list(skipped)
    tid = bytes.fromhex(trace_id)
    segs, skipped = engine.segments()
    skipped = list(skipped)
    cols: dict[str, list] = {n: [] for n in names}
    for seg in segs:
        if not seg.reader.may_contain_trace(tid):
            continue
        try:
            rows = seg.reader.rows_where("trace_id", tid)
            if not rows:
                continue
            got = seg.reader.read_columns(list(names), rows)
        except SegmentReplacedError:
            raise ReadAgain from None
        except (SegmentCorruptError, StoreError) as exc:
            skipped.append(_skip(seg, exc))
            continue
        for n in names:
            cols[n] += got[n]
    return cols, skipped
