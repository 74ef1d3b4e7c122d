"""Following the store as it grows: the spans behind ``GET /api/v1/stream``.

Workers seal a segment about once a second, and a sealed segment holds exactly the
spans that arrived since the worker's previous one, so "what is new" is "the segments
not seen before". A span is not sent by start time: an agent's root span starts first
but is emitted (and stored) last, after its children, so a start-time watermark would
miss it.

:class:`SpanTail` remembers the segment files it has read; each :meth:`SpanTail.poll`
reads the matching rows of the new ones. Compaction rewrites old segments into a file
named like the last of its sources; a name already read is never read again, and the
span ids sent recently are remembered too, so a compacted file that is new to the tail
does not repeat spans.

A store whose engine has no segments (any other ``QueryEngine``) is followed through
``engine.spans`` by start time instead, from a minute before the stream began, with the
same de-duplication; there a root span that started long before it is stored can be
missed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from agenttrace.errors import SegmentCorruptError, StoreError
from agenttrace.query import SpanFilter, SpanRecord, span_record
from agenttrace.store.reader import SegmentReplacedError

__all__ = ["SpanTail", "StreamFilter"]

LOOKBACK_S = 60.0  # stores without segments: how far before "now" a new stream starts looking

# (stream filter field, segment column)
_FILTER_COLUMNS = (("service", "service"), ("kind", "kind"), ("session", "session_id"))


class StreamFilter:
    """Which spans a stream carries; None means any."""

    __slots__ = ("kind", "service", "session")

    def __init__(self, *, service: str | None = None, kind: str | None = None, session: str | None = None) -> None:
        self.service = service or None
        self.kind = kind or None
        self.session = session or None


class SpanTail:
    """The spans that reach the store after this tail was made, segment by segment.

    ``engine`` is the query engine (only its ``segments()`` is used). ``max_batch`` caps
    the spans one poll returns (the newest are kept); the rest are counted in
    :attr:`skipped`, so a browser tab never has to swallow a flood.

        >>> tail = SpanTail(engine)          # doctest: +SKIP
        >>> tail.poll()                      # doctest: +SKIP
        [SpanRecord(...), ...]
    """

    def __init__(
        self, engine: Any, flt: StreamFilter | None = None, *, max_batch: int = 2000, remember: int = 50_000
    ) -> None:
        self._engine = engine
        self._flt = flt or StreamFilter()
        self._max_batch = max_batch
        self._remember = remember
        self._sent: OrderedDict[bytes, None] = OrderedDict()
        self.skipped = 0  # spans left out because a poll had more than max_batch
        self._by_segment = hasattr(engine, "segments")
        self._seen: set[str] = set()
        if self._by_segment:
            segs, _ = engine.segments()
            self._seen = {s.name for s in segs}
        else:
            # A store without segments (e.g. PostgreSQL) is followed by start time from a
            # floor a little before now; what is stored already is marked as sent.
            self._floor = time.time_ns() - int(LOOKBACK_S * 1e9)
            for r in engine.spans(self._span_filter(limit=10_000)).spans:
                self._sent[r.span_id] = None

    def _span_filter(self, limit: int) -> SpanFilter:
        f = self._flt
        return SpanFilter(since_ns=self._floor, service=f.service, kind=f.kind, session_id=f.session, limit=limit)

    def _poll_by_time(self) -> list[SpanRecord]:
        page = self._engine.spans(self._span_filter(self._max_batch)).spans  # newest first
        new = [r for r in page if r.span_id not in self._sent]
        for r in new:
            self._sent[r.span_id] = None
        while len(self._sent) > self._remember:
            self._sent.popitem(last=False)
        return sorted(new, key=lambda r: (r.start_ns, r.span_id))

    def poll(self) -> list[SpanRecord]:
        """The matching spans of the segments sealed since the last poll, oldest first."""
        if not self._by_segment:
            return self._poll_by_time()
        segs, _ = self._engine.segments()
        fresh = [s for s in segs if s.name not in self._seen]
        out: list[Any] = []
        for seg in sorted(fresh, key=lambda s: s.max_start):
            try:
                out += self._read(seg)
            except SegmentReplacedError:
                continue  # compacted under us: the new file is read on the next poll
            except (SegmentCorruptError, StoreError):
                pass  # the query routes report corrupt segments; a live feed moves on
            self._seen.add(seg.name)
        # Forget names that are gone (compacted away, expired) so the set stays small.
        self._seen &= {s.name for s in segs}
        out = [s for s in out if s.span_id not in self._sent]
        if len(out) > self._max_batch:
            out.sort(key=lambda s: s.start_ns)
            self.skipped += len(out) - self._max_batch
            out = out[-self._max_batch :]
        for s in out:
            self._sent[s.span_id] = None
        while len(self._sent) > self._remember:
            self._sent.popitem(last=False)
        out.sort(key=lambda s: (s.start_ns, s.span_id))
        return [span_record(s) for s in out]

    def _read(self, seg: Any) -> list[Any]:
        checks = [(col, getattr(self._flt, f)) for f, col in _FILTER_COLUMNS if getattr(self._flt, f) is not None]
        rows: list[int] | range = range(seg.rows)
        if checks:
            cols = seg.reader.read_columns([c for c, _ in checks])
            for col, want in checks:
                values = cols[col]
                rows = [i for i in rows if values[i] == want]
        if len(rows) > self._max_batch:
            # Decoding whole spans is the cost; at high rates keep only the newest rows.
            starts = seg.reader.read_columns(["start_ns"])["start_ns"]
            keep = sorted(rows, key=starts.__getitem__)[-self._max_batch :]
            self.skipped += len(rows) - len(keep)
            rows = sorted(keep)
        if not rows:
            return []
        return seg.reader.read_spans(list(rows))
