"""The query engine of the segment store (``agenttrace.query.QueryEngine`` over sealed segments).

>>> engine = SegmentQueryEngine("/var/lib/agenttrace")              # doctest: +SKIP
>>> engine.trace("4bf92f3577b34da6a3ce929d0e0e4736").cost_usd        # doctest: +SKIP
>>> engine.aggregate(["model"], since_ns=t0).rows                      # doctest: +SKIP

What it promises:

- **Footer skipping.** A segment is opened only if its footer says it may hold what is
  asked: its start-time range overlaps the query's, its distinct services/kinds/models
  include the filter's, its bloom filters may hold the trace or session id.
- **Only the columns a query needs** are read (``SegmentReader.read_columns``); whole
  spans are decoded only for the rows a page or a trace returns.
- **Aggregates from rollups where they suffice.** Grouped by service/kind/model/status
  and minute/hour/day, filtered on those only, an aggregate is answered from rollups:
  whole days and hours from day and hour rollups (the compactor's per-day hour rollup
  files plus the hour folds stored in newer segments, folded once and kept: segments
  never change), whole minutes from the segments' minute rollups, and only the minutes
  the range cuts through from columns. A filter on anything else (session, trace, user,
  name) reads columns.
- **Corrupt segments are skipped, and said so**: every result lists them in
  ``skipped_segments`` (path, byte offset, reason).
- **Compaction is invisible**: the sources of a compaction whose output is in place are
  ignored while its manifest exists (see ``compaction.py``), so a crash mid-compaction
  never shows a span twice; a file replaced under a running query makes it run again.

Times: a span belongs to a range or a bucket by its ``start_ns``; ranges are
``[since_ns, until_ns)``; minute/hour/day buckets are UTC.
"""

from __future__ import annotations

import functools
import heapq
import operator
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from agenttrace.errors import AmbiguousIdError, NotFoundError, SegmentCorruptError, StoreError
from agenttrace.model import Span
from agenttrace.query.protocol import IdKind
from agenttrace.query.records import span_record
from agenttrace.query.reports import ReportMethods
from agenttrace.query.results import (
    AggregateResult,
    SessionDetail,
    SessionList,
    SkippedSegment,
    SpanFilter,
    SpanPage,
    StoreInventory,
    TraceList,
    TraceTree,
)
from agenttrace.query.summaries import (
    SUMMARY_COLUMNS,
    TRACE_SUMMARY_COLUMNS,
    Totals,
    aggregate_rows,
    trace_tree,
)
from agenttrace.store.compaction import hour_rollup_path, read_hour_rollup, read_manifests, superseded
from agenttrace.store.damage import DamageChecks
from agenttrace.store.layout import list_segments
from agenttrace.store.reader import SegmentReader, SegmentReplacedError
from agenttrace.store.rollup import BUCKET_NS, ROLLUP_COLUMNS, Rollup, RollupRow
from agenttrace.store.sketch import RELATIVE_ERROR

__all__ = ["GROUP_BY", "SegmentQueryEngine"]

ROLLUP_DIMS = ("service", "kind", "model", "status")
TIME_DIMS = ("minute", "hour", "day")
GROUP_BY: tuple[str, ...] = ROLLUP_DIMS + TIME_DIMS
_LEVELS = ("day", "hour", "minute")
_DIM_INDEX = {"service": 1, "kind": 2, "model": 3, "status": 4}
# Filter fields that rollup keys cannot answer: they force a column scan.
_COLUMN_ONLY = ("session_id", "trace_id", "user_id", "name_contains")


def _hex_to_bytes(value: str | bytes, size: int, what: str) -> bytes:
    if isinstance(value, bytes):
        raw = value
    else:
        try:
            raw = bytes.fromhex(value.strip())
        except ValueError:
            raise ValueError(f"{what} must be {size * 2} hex digits, got {value!r}") from None
    if len(raw) != size:
        raise ValueError(f"{what} must be {size * 2} hex digits, got {len(raw) * 2}")
    return raw


class _Seg:
    """One sealed segment as the engine sees it: footer facts, reader, cached rollups."""

    __slots__ = (
        "_hour",
        "_rollup",
        "created",
        "day_dir",
        "max_end",
        "max_start",
        "min_start",
        "name",
        "path",
        "reader",
        "rows",
        "stamp",
    )

    def __init__(self, path: str, stamp: tuple[int, int, int], reader: Any) -> None:
        self.path = path
        self.name = os.path.basename(path)
        self.day_dir = os.path.dirname(path)
        self.stamp = stamp
        self.reader = reader
        f = reader.footer
        self.rows: int = f.rows
        self.min_start: int = f.min_start_ns
        self.max_start: int = f.max_start_ns
        self.max_end: int = f.max_end_ns
        self.created: int = getattr(f, "created_unix_ns", 0)
        self._rollup: Rollup | None = None
        self._hour: Rollup | None = None

    def may_hold(self, flt: SpanFilter, trace_id: bytes | None) -> bool:
        """False when the footer proves the segment holds no span matching ``flt``."""
        if self.rows == 0:
            return False
        if flt.since_ns is not None and self.max_start < flt.since_ns:
            return False
        if flt.until_ns is not None and self.min_start >= flt.until_ns:
            return False
        f = self.reader.footer
        for dim in ("service", "kind", "model"):
            want = getattr(flt, dim)
            have = getattr(f, dim + "s", None)
            if want is not None and have and want not in have:  # empty: the footer does not say
                return False
        if trace_id is not None and not self.reader.may_contain_trace(trace_id):
            return False
        return not (flt.session_id is not None and not self.reader.may_contain_session(flt.session_id))

    def rollup(self) -> Rollup:
        """The segment's minute rollup: its rollup section, or rebuilt from columns if that is unreadable."""
        if self._rollup is None:
            self._rollup = self._load_rollup(None)
        return self._rollup

    def hour_rollup(self, latency: bool = True) -> Rollup:
        """The segment's rollup folded into hours (the section stores that fold: cheap);
        without latency sketches when ``latency`` is False (not cached: used once)."""
        if self._hour is None:
            if not latency:
                return self._load_rollup("hour", latency=False)
            self._hour = self._rollup.fold("hour") if self._rollup is not None else self._load_rollup("hour")
        return self._hour

    def _load_rollup(self, granularity: str | None, *, latency: bool = True) -> Rollup:
        try:
            data = self.reader.rollup_bytes()
            if data is None:
                raise StoreError("segment has no rollup section")
            return Rollup.from_bytes(data, granularity, latency=latency)
        except SegmentReplacedError:
            raise _Replaced from None
        except (SegmentCorruptError, StoreError, ValueError, msgspec.DecodeError):
            r = Rollup()
            try:
                r.add_columns(self.reader.read_columns(list(ROLLUP_COLUMNS)))
            except SegmentReplacedError:
                raise _Replaced from None
            return r if granularity is None else r.fold(granularity)


class _DayIndex:
    """The hour or day rollup of the live segments of one day directory (with latency
    sketches merged, or without when only sums were asked for)."""

    __slots__ = ("members", "rollup")

    def __init__(self, level: str) -> None:
        self.members: dict[str, tuple[int, int, int]] = {}  # path -> stamp
        self.rollup = Rollup(level)


class _Index:
    """Hour and day rollups per day directory: from the compactor's hour rollup file for
    the live segments it covers, plus the hour folds stored in the other segments'
    rollup sections (read once: segments never change), grown as segments appear."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.days: dict[tuple[str, bool, str], _DayIndex] = {}  # (day dir, latency, level)

    def levels(self, segs: Sequence[_Seg], level: str, skipped: list[SkippedSegment], latency: bool) -> list[Rollup]:
        by_day: dict[str, list[_Seg]] = {}
        for s in segs:
            by_day.setdefault(s.day_dir, []).append(s)
        for key in [k for k in self.days if k[0] not in by_day]:
            del self.days[key]
        out = []
        for day_dir, members in by_day.items():
            now = {s.path: s.stamp for s in members}
            idx = self.days.get((day_dir, True, level))
            if (idx is None or idx.members != now) and not latency:
                idx = self.days.get((day_dir, False, level))
            if idx is None or idx.members != now:
                key = (day_dir, latency, level)
                idx = self._build(day_dir, level, members, now, self.days.get(key), skipped, latency)
                if idx.members == now:
                    self.days[key] = idx
                else:  # a member could not be read: never cache (and later grow) an index that lacks it
                    self.days.pop(key, None)
            out.append(idx.rollup)
        return out

    def _build(
        self,
        day_dir: str,
        level: str,
        members: list[_Seg],
        now: dict[str, tuple[int, int, int]],
        old: _DayIndex | None,
        skipped: list[SkippedSegment],
        latency: bool,
    ) -> _DayIndex:
        if old is None or any(now.get(p) != st for p, st in old.members.items()):
            # start again: from the compactor's hour file when it covers only live,
            # unchanged segments of the day, else from nothing
            old = _DayIndex(level)
            covers = {(s.name, s.rows, s.created): s for s in members}
            path = hour_rollup_path(self.data_dir, os.path.basename(day_dir))
            f = read_hour_rollup(path, level, latency=latency)
            if f is not None and f[0] <= covers.keys():
                old.rollup = f[1]
                old.members = {covers[c].path: covers[c].stamp for c in f[0]}
        for s in members:
            if s.path in old.members:
                continue
            try:
                r = s.hour_rollup(latency)
            except (SegmentCorruptError, StoreError) as exc:
                _add_skip(skipped, s.path, exc)
                continue
            old.rollup.merge(r, sketch=latency)
            old.members[s.path] = s.stamp
        return old


class _Replaced(Exception):
    """A segment was replaced (compacted) while a query read it: run the query again."""


_F = TypeVar("_F", bound=Callable[..., Any])


def _retrying(fn: _F) -> _F:
    """Run a query again (up to 3 times) when compaction replaced a file under it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for _ in range(3):
            try:
                return fn(*args, **kwargs)
            except _Replaced:
                continue
        raise StoreError("segments kept being replaced while the query ran (compaction); try again")

    return wrapper  # type: ignore[return-value]


def _skip(path: str, exc: Exception) -> SkippedSegment:
    if isinstance(exc, SegmentCorruptError):
        return SkippedSegment(path=path, offset=exc.offset, reason=exc.detail)
    return SkippedSegment(path=path, offset=0, reason=str(exc))


def _add_skip(skipped: list[SkippedSegment], path: str, exc: Exception) -> None:
    if all(s.path != path for s in skipped):  # already reported (e.g. by the damage check)
        skipped.append(_skip(path, exc))


def _decompose(lo: int | None, hi: int | None, levels: Sequence[str]) -> list[tuple[str, int | None, int | None]]:
    """Split ``[lo, hi)`` into whole buckets of the coarsest level possible, then finer
    ones at the edges, then ``columns`` for what cuts through a minute."""
    if lo is not None and hi is not None and lo >= hi:
        return []
    if not levels:
        return [("columns", lo, hi)]
    size = BUCKET_NS[levels[0]]
    a = None if lo is None else -(-lo // size) * size
    b = None if hi is None else hi // size * size
    if a is not None and b is not None and a >= b:
        return _decompose(lo, hi, levels[1:])
    out = [(levels[0], a, b)]
    if lo is not None and a is not None and a > lo:
        out += _decompose(lo, a, levels[1:])
    if hi is not None and b is not None and b < hi:
        out += _decompose(b, hi, levels[1:])
    return out


class SegmentQueryEngine(ReportMethods):
    """The :class:`~agenttrace.query.QueryEngine` of the segment store: answers queries
    over the sealed segments of ``data_dir`` (see the module docstring).

    One engine can live as long as the process: it caches footers and rollups of
    segments (which never change) and notices new, compacted and deleted files on each
    query. Safe to share between threads.
    """

    def __init__(self, data_dir: str | os.PathLike[str], *, clock: Callable[[], int] = time.time_ns) -> None:
        self.data_dir = Path(data_dir)
        self._clock = clock
        self._segs: dict[str, _Seg] = {}
        self._bad: dict[str, tuple[tuple[int, int, int], SkippedSegment]] = {}
        # Live segments whose footer reads but a chunk does not: answered from what
        # reads, and reported for every query whose time range they overlap.
        self._damaged: dict[str, tuple[_Seg, SkippedSegment]] = {}
        self._checks: Any = None  # damage.DamageChecks, opened on first use
        self._index = _Index(self.data_dir)
        self._lock = threading.RLock()

    # --- segment set -------------------------------------------------------------

    def segments(
        self, since_ns: int | None = None, until_ns: int | None = None
    ) -> tuple[list[_Seg], list[SkippedSegment]]:
        """Live segments (not superseded by a compacted one), and the damaged ones: those
        left out (footer unreadable) and live ones holding a damaged chunk whose start
        times overlap ``[since_ns, until_ns)`` (every query over that range must say so,
        even one answered from rollups that never touch the chunk)."""
        with self._lock:
            # Manifests first, then the listing: a compaction that finishes in between
            # deleted its sources before its manifest, so no source is listed unmasked.
            manifests = read_manifests(self.data_dir)
            live: dict[str, _Seg] = {}
            bad: dict[str, tuple[tuple[int, int, int], SkippedSegment]] = {}
            for info in list_segments(self.data_dir):
                path = str(info.path)
                try:
                    st = os.stat(path)
                except FileNotFoundError:  # compacted or expired between listing and stat
                    continue
                stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
                seg = self._segs.get(path)
                if seg is not None and seg.stamp == stamp:
                    live[path] = seg
                    continue
                old_bad = self._bad.get(path)
                if old_bad is not None and old_bad[0] == stamp:
                    bad[path] = old_bad
                    continue
                try:
                    live[path] = _Seg(path, stamp, SegmentReader(path))
                    if self._checks is None:
                        self._checks = DamageChecks(self.data_dir)
                    fault = self._checks.check(live[path].reader, st.st_size, st.st_mtime_ns)
                    if fault is not None:
                        self._damaged[path] = (live[path], _skip(path, fault))
                    else:
                        self._damaged.pop(path, None)
                except SegmentCorruptError as exc:
                    bad[path] = (stamp, _skip(path, exc))
                except StoreError as exc:
                    if os.path.exists(path):
                        bad[path] = (stamp, _skip(path, exc))
            if manifests:
                for p in superseded(manifests, lambda p: live[p].reader.footer if p in live else None):
                    live.pop(p, None)
                    bad.pop(p, None)
            self._segs, self._bad = live, bad
            for p in [p for p in self._damaged if p not in live]:
                del self._damaged[p]
            if self._checks is not None:
                self._checks.keep_only(set(live) | set(bad))
                self._checks.save()
            segs = sorted(live.values(), key=lambda s: (s.min_start, s.path))
            skipped = [b for _, b in bad.values()]
            for seg, fault in self._damaged.values():
                if (since_ns is None or seg.max_start >= since_ns) and (until_ns is None or seg.min_start < until_ns):
                    skipped.append(fault)
            return segs, skipped

    def inventory(self) -> StoreInventory:
        """How many live segments are readable, and the corrupt ones left out."""
        segs, skipped = self.segments()
        return StoreInventory(readable=len(segs), skipped_segments=skipped)

    def resolve(self, kind: IdKind, prefix: str) -> str:
        """The one trace or session id that starts with ``prefix`` (trace ids: hex, any
        case). Reads the id column of every live segment: meant for a person typing a
        short id, not for a loop."""
        if kind not in ("trace", "session"):
            raise ValueError(f"cannot resolve a {kind!r} id: use trace or session")
        want = prefix.strip()
        if not want:
            raise ValueError(f"an empty {kind} id matches everything: give some of its digits")
        column = "trace_id" if kind == "trace" else "session_id"
        if kind == "trace":
            want = want.lower()
            if len(want) > 32 or any(ch not in "0123456789abcdef" for ch in want):
                raise ValueError(f"{prefix!r} is not a trace id prefix: a trace id is 32 hex digits")
        segs, skipped = self.segments()
        found: set[str] = set()
        for seg in segs:
            cols = self._read(seg, [column], skipped)
            if cols is None:
                continue
            for value in set(cols[column]):
                text = value.hex() if isinstance(value, bytes) else value
                if text and text.startswith(want):
                    found.add(text)
        if not found:
            raise NotFoundError(f"no {kind} id starts with {prefix!r}")
        if len(found) > 1:
            raise AmbiguousIdError(prefix, sorted(found))
        return found.pop()

    def _read(
        self, seg: _Seg, names: Sequence[str], skipped: list[SkippedSegment], rows: list[int] | None = None
    ) -> dict[str, list] | None:
        try:
            return seg.reader.read_columns(list(names), rows)
        except SegmentReplacedError:
            raise _Replaced from None
        except (SegmentCorruptError, StoreError) as exc:
            if os.path.exists(seg.path):  # else: deleted by retention or compaction meanwhile
                _add_skip(skipped, seg.path, exc)
            return None

    def _spans_at(self, seg: _Seg, rows: list[int], skipped: list[SkippedSegment]) -> list[Span]:
        try:
            return seg.reader.read_spans(rows)
        except SegmentReplacedError:
            raise _Replaced from None
        except (SegmentCorruptError, StoreError) as exc:
            if os.path.exists(seg.path):
                _add_skip(skipped, seg.path, exc)
            return []

    # --- traces ------------------------------------------------------------------

    @_retrying
    def trace_spans(self, trace_id: str | bytes) -> tuple[list[Span], list[SkippedSegment]]:
        """The spans of one trace (model Structs, by start time) and the segments skipped."""
        tid = _hex_to_bytes(trace_id, 16, "trace id")
        segs, skipped = self.segments()
        out: list[Span] = []
        for seg in segs:
            if not seg.reader.may_contain_trace(tid):
                continue
            # rows_where searches the dictionary-encoded column without materialising it
            # (~25x cheaper than reading the whole trace_id column and comparing).
            try:
                rows = seg.reader.rows_where("trace_id", tid)
            except SegmentReplacedError:
                raise _Replaced from None
            except (SegmentCorruptError, StoreError) as exc:
                if os.path.exists(seg.path):  # else: deleted by retention or compaction meanwhile
                    _add_skip(skipped, seg.path, exc)
                continue
            if rows:
                out += self._spans_at(seg, rows, skipped)
        out.sort(key=lambda s: (s.start_ns, s.span_id))
        return out, skipped

    def trace(self, trace_id: str | bytes) -> TraceTree:
        """One trace with its span tree and totals; NotFoundError if no span has that id."""
        spans, skipped = self.trace_spans(trace_id)
        tid = _hex_to_bytes(trace_id, 16, "trace id").hex()
        if not spans:
            raise NotFoundError(
                f"no trace {tid}" + (f" (skipped {len(skipped)} corrupt segment(s))" if skipped else "")
            )
        return trace_tree(tid, spans, skipped)

    @_retrying
    def traces(self, flt: SpanFilter | None = None) -> TraceList:
        """The ``flt.limit`` traces with a span matching ``flt`` whose latest matching span
        started last, newest first; each summary covers the whole trace (root span name,
        duration, spans, errors, tokens, cost)."""
        flt = flt or SpanFilter()
        if flt.limit < 1:
            raise ValueError(f"limit must be at least 1, got {flt.limit}")
        tid = _hex_to_bytes(flt.trace_id, 16, "trace id") if flt.trace_id else None
        segs, skipped = self.segments(flt.since_ns, flt.until_ns)
        cands = sorted((s for s in segs if s.may_hold(flt, tid)), key=lambda s: s.max_start, reverse=True)
        latest: dict[bytes, int] = {}  # trace id -> start of its newest matching span
        counted = True  # every candidate segment read, so len(latest) is the total
        for seg in cands:
            if len(latest) >= flt.limit and seg.max_start < heapq.nlargest(flt.limit, latest.values())[-1]:
                counted = False
                break  # no later segment can hold a newer matching span
            sel = self._select(seg, flt, tid, ["trace_id", "start_ns"], skipped)
            if sel is None:
                continue
            for t, st in zip(sel[1]["trace_id"], sel[1]["start_ns"], strict=True):
                if st > latest.get(t, -(1 << 63)):
                    latest[t] = st
        chosen = heapq.nlargest(flt.limit, latest, key=lambda t: (latest[t], t))
        wanted = set(chosen)
        accs: dict[bytes, Totals] = {}
        for seg in segs:
            mine = [t for t in wanted if seg.reader.may_contain_trace(t)]
            if not mine:
                continue
            c = self._read(seg, ["trace_id"], skipped)
            if c is None:
                continue
            keys = set(mine)
            rows = [i for i, t in enumerate(c["trace_id"]) if t in keys]
            if not rows:
                continue
            cols = self._read(seg, TRACE_SUMMARY_COLUMNS, skipped, rows)
            if cols is None:
                continue
            for t, js in _rows_by(cols["trace_id"]).items():
                acc = accs.get(t)
                if acc is None:
                    acc = accs[t] = Totals()
                acc.add_many(cols, js)
        # a chosen trace missing from accs was deleted meanwhile
        out = [accs[t].trace_summary(t.hex()) for t in chosen if t in accs]
        return TraceList(
            traces=out,
            since_ns=flt.since_ns,
            until_ns=flt.until_ns,
            skipped_segments=skipped,
            total=len(latest) if counted else None,
        )

    # --- spans by filter ---------------------------------------------------------

    def _select(
        self,
        seg: _Seg,
        flt: SpanFilter,
        tid: bytes | None,
        need: Sequence[str],
        skipped: list[SkippedSegment],
        *,
        end_after: int | None = None,
    ) -> tuple[list[int], dict[str, list]] | None:
        """The rows of ``seg`` matching ``flt`` (and ending at or after ``end_after``) and
        the ``need`` columns of those rows, as lists aligned with them.

        Reads the start times first when the range cuts the segment, then the filter and
        wanted columns of the rows left only. None when the segment could not be read."""
        lo, hi = flt.since_ns, flt.until_ns
        rows: list[int] | None = None
        if (lo is not None and seg.min_start < lo) or (hi is not None and seg.max_start >= hi):
            c = self._read(seg, ["start_ns"], skipped)
            if c is None:
                return None
            st = c["start_ns"]
            if lo is None:
                rows = [i for i, v in enumerate(st) if v < hi]  # type: ignore[operator]
            elif hi is None:
                rows = [i for i, v in enumerate(st) if v >= lo]
            else:
                rows = [i for i, v in enumerate(st) if lo <= v < hi]
            if not rows:
                return [], {k: [] for k in need}
        checks: list[tuple[str, Any]] = [
            (name, getattr(flt, name))
            for name in ("service", "kind", "model", "status", "session_id", "user_id")
            if getattr(flt, name) is not None
        ]
        if tid is not None:
            checks.append(("trace_id", tid))
        needle = flt.name_contains.lower() if flt.name_contains else None
        names = [*need, *(c for c, _ in checks)]
        if needle:
            names.append("name")
        if end_after is not None:
            names.append("end_ns")
        cols = self._read(seg, list(dict.fromkeys(names)), skipped, rows)
        if cols is None:
            return None
        n = len(rows) if rows is not None else len(cols[names[0]]) if names else seg.rows
        keep: list[int] | range = range(n)
        filtered = False
        for col, v in checks:
            c = cols[col]
            keep = [j for j in keep if c[j] == v]
            filtered = True
        if needle:
            c = cols["name"]
            keep = [j for j in keep if needle in c[j].lower()]
            filtered = True
        if end_after is not None:
            c = cols["end_ns"]
            keep = [j for j in keep if c[j] >= end_after]
            filtered = True
        base: list[int] | range = rows if rows is not None else range(n)
        if not filtered:
            return list(base), {k: cols[k] for k in need}
        return [base[j] for j in keep], {k: [cols[k][j] for j in keep] for k in need}

    def iter_spans(self, flt: SpanFilter | None = None) -> Iterator[Span]:
        """Every span matching ``flt`` (ignoring limit and cursor), segment by segment,
        oldest segment first. For exporters; corrupt segments are left out silently
        (call :meth:`segments` first to learn about them)."""
        flt = flt or SpanFilter()
        tid = _hex_to_bytes(flt.trace_id, 16, "trace id") if flt.trace_id else None
        segs, _ = self.segments()
        for seg in segs:
            if not seg.may_hold(flt, tid):
                continue
            try:
                sel = self._select(seg, flt, tid, [], [])
                if sel is None:
                    continue
                rows = sel[0]
                found = self._spans_at(seg, rows, []) if rows else []
            except _Replaced:
                raise StoreError(f"segment {seg.path} was compacted while being read; run again") from None
            yield from found

    @_retrying
    def spans(self, flt: SpanFilter | None = None) -> SpanPage:
        """A page of the spans matching ``flt``, newest first (by start time, then span id)."""
        flt = flt or SpanFilter()
        if flt.limit < 1:
            raise ValueError(f"limit must be at least 1, got {flt.limit}")
        tid = _hex_to_bytes(flt.trace_id, 16, "trace id") if flt.trace_id else None
        after: tuple[int, bytes] | None = None
        if flt.cursor:
            try:
                c_start, c_sid = flt.cursor.split(":")
                after = (int(c_start), bytes.fromhex(c_sid))
            except ValueError:
                raise ValueError(f"bad cursor {flt.cursor!r}: pass the next_cursor of a previous page") from None
        segs, skipped = self.segments(flt.since_ns, flt.until_ns)
        cands = sorted((s for s in segs if s.may_hold(flt, tid)), key=lambda s: s.max_start, reverse=True)
        want = flt.limit + 1  # one more than a page tells whether there is a next page
        best: list[tuple[int, bytes, int, int]] = []  # min-heap of (start, span_id, seg#, row)
        scanned = 0
        for n, seg in enumerate(cands):
            if len(best) >= want and seg.max_start < best[0][0]:
                break  # every later segment starts before the oldest span kept
            if after is not None and seg.min_start > after[0]:
                continue
            scanned += 1
            sel = self._select(seg, flt, tid, ["start_ns", "span_id"], skipped)
            if sel is None:
                continue
            rows, cols = sel
            for i, st, sid in zip(rows, cols["start_ns"], cols["span_id"], strict=True):
                if after is not None and (st, sid) >= after:
                    continue
                item = (st, sid, n, i)
                if len(best) < want:
                    heapq.heappush(best, item)
                elif item > best[0]:
                    heapq.heapreplace(best, item)
        ordered = sorted(best, reverse=True)
        page, more = ordered[: flt.limit], len(ordered) > flt.limit
        by_seg: dict[int, list[int]] = {}
        for _, _, n, i in page:
            by_seg.setdefault(n, []).append(i)
        got: dict[tuple[int, int], Span] = {}
        for n, rows in by_seg.items():
            for i, sp in zip(rows, self._spans_at(cands[n], rows, skipped), strict=False):
                got[(n, i)] = sp
        records = [span_record(got[(n, i)]) for _, _, n, i in page if (n, i) in got]
        last = page[-1] if page else None
        return SpanPage(
            spans=records,
            next_cursor=f"{last[0]}:{last[1].hex()}" if more and last else None,
            scanned_segments=scanned,
            skipped_segments=skipped,
        )

    # --- sessions ----------------------------------------------------------------

    def _session_accs(
        self, segs: Iterable[_Seg], flt: SpanFilter, skipped: list[SkippedSegment], *, end_after: int | None = None
    ) -> dict[str, Totals]:
        need = SUMMARY_COLUMNS
        accs: dict[str, Totals] = {}
        for seg in segs:
            if not seg.may_hold(flt, None) or (end_after is not None and seg.max_end < end_after):
                continue
            sel = self._select(seg, flt, None, need, skipped, end_after=end_after)
            if sel is None:
                continue
            cols = sel[1]
            by_session: dict[str, list[int]] = {}
            for j, sid in enumerate(cols["session_id"]):
                if sid:
                    by_session.setdefault(sid, []).append(j)
            for sid, js in by_session.items():
                acc = accs.get(sid)
                if acc is None:
                    acc = accs[sid] = Totals()
                acc.add_many(cols, js)
        return accs

    @_retrying
    def sessions(
        self,
        since_ns: int | None = None,
        until_ns: int | None = None,
        *,
        service: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
    ) -> SessionList:
        """Sessions with spans starting in ``[since_ns, until_ns)``, most recently active
        first; their figures count the spans in that range."""
        flt = SpanFilter(since_ns=since_ns, until_ns=until_ns, service=service, user_id=user_id)
        segs, skipped = self.segments(since_ns, until_ns)
        accs = self._session_accs(segs, flt, skipped)
        out = sorted(
            (a.session_summary(k) for k, a in accs.items()), key=lambda s: (s.last_seen_ns, s.session_id), reverse=True
        )
        return SessionList(
            sessions=out[:limit], since_ns=since_ns, until_ns=until_ns, skipped_segments=skipped, total=len(out)
        )

    @_retrying
    def recent(self, window_s: float = 300.0, *, limit: int = 50, now_ns: int | None = None) -> SessionList:
        """Active sessions: those with a span ending in the last ``window_s`` seconds, most
        recent first, their figures over the spans that ended in the window. Cheap: only
        segments whose latest end falls in the window are read."""
        now = self._clock() if now_ns is None else now_ns
        cutoff = now - int(window_s * 1e9)
        segs, skipped = self.segments()
        accs = self._session_accs(segs, SpanFilter(), skipped, end_after=cutoff)
        out = sorted(
            (a.session_summary(k) for k, a in accs.items()), key=lambda s: (s.last_seen_ns, s.session_id), reverse=True
        )
        return SessionList(
            sessions=out[:limit], since_ns=cutoff, until_ns=None, skipped_segments=skipped, total=len(out)
        )

    @_retrying
    def session(self, session_id: str) -> SessionDetail:
        """One session's summary and traces; NotFoundError if no span carries the id."""
        flt = SpanFilter(session_id=session_id)
        segs, skipped = self.segments()
        acc = Totals()
        traces: dict[bytes, Totals] = {}
        for seg in segs:
            if not seg.may_hold(flt, None):
                continue
            sel = self._select(seg, flt, None, TRACE_SUMMARY_COLUMNS, skipped)
            if sel is None or not sel[0]:
                continue
            cols = sel[1]
            acc.add_many(cols, range(len(sel[0])))
            for t, js in _rows_by(cols["trace_id"]).items():
                ta = traces.get(t)
                if ta is None:
                    ta = traces[t] = Totals()
                ta.add_many(cols, js)
        if acc.spans == 0:
            raise NotFoundError(
                f"no session {session_id!r}" + (f" (skipped {len(skipped)} corrupt segment(s))" if skipped else "")
            )
        summaries = [ta.trace_summary(t.hex()) for t, ta in traces.items()]
        summaries.sort(key=lambda t: (t.start_ns, t.trace_id))
        return SessionDetail(summary=acc.session_summary(session_id), traces=summaries, skipped_segments=skipped)

    # --- aggregates --------------------------------------------------------------

    @_retrying
    def aggregate(
        self,
        group_by: Sequence[str] = (),
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
        latency: bool = True,
    ) -> AggregateResult:
        """Count, errors, tokens, cost, average duration and p50/p95/p99 latency of the
        spans starting in ``[since_ns, until_ns)`` that match ``where``, grouped by any of
        service, kind, model, status, minute, hour, day (see :data:`GROUP_BY`).

        ``since_ns``/``until_ns`` override ``where``'s; its limit and cursor are ignored.
        ``latency=False`` skips the percentiles (``p*_ms`` are None): cost and token
        questions answer faster without merging latency sketches.
        """
        group_by = list(group_by)
        for g in group_by:
            if g not in GROUP_BY:
                raise ValueError(f"cannot group by {g!r}: use any of {', '.join(GROUP_BY)}")
        if len(set(group_by)) != len(group_by):
            raise ValueError(f"group_by names a field twice: {group_by}")
        flt = where or SpanFilter()
        lo = since_ns if since_ns is not None else flt.since_ns
        hi = until_ns if until_ns is not None else flt.until_ns
        flt = SpanFilter(**{**_struct_dict(flt), "since_ns": lo, "until_ns": hi})
        time_dims = [d for d in TIME_DIMS if d in group_by]
        finest = time_dims[0] if time_dims else None
        levels = _LEVELS[_LEVELS.index(finest) :] if finest else _LEVELS
        segs, skipped = self.segments(lo, hi)
        used_rollups = used_columns = False
        key_ok = self._key_filter(flt)
        if any(getattr(flt, f) is not None for f in _COLUMN_ONLY):
            pieces: list[tuple[str, int | None, int | None]] = [("columns", lo, hi)]
        else:
            pieces = _decompose(lo, hi, levels)
        tid = _hex_to_bytes(flt.trace_id, 16, "trace id") if flt.trace_id else None
        project = _projector(group_by)
        groups: dict[tuple, RollupRow] = {}

        def take(k: tuple, row: RollupRow) -> None:
            gk = project(k)
            mine = groups.get(gk)
            if mine is None:
                mine = groups[gk] = RollupRow()
            mine.merge(row, sketch=latency)

        for level, a, b in pieces:
            if level == "columns":
                sub = SpanFilter(**{**_struct_dict(flt), "since_ns": a, "until_ns": b})
                part = Rollup(finest or "day")
                for seg in segs:
                    if not seg.may_hold(sub, tid):
                        continue
                    sel = self._select(seg, sub, tid, ROLLUP_COLUMNS, skipped)
                    if sel is None:
                        continue
                    used_columns = True
                    if sel[0]:
                        part.add_columns(sel[1])
                for k, row in part.rows.items():
                    take(k, row)
                continue
            used_rollups = True
            if level == "minute":
                sources = []
                sub = SpanFilter(**{**_struct_dict(flt), "since_ns": a, "until_ns": b})
                for seg in segs:
                    if seg.may_hold(sub, None):
                        try:
                            sources.append(seg.rollup())
                        except (SegmentCorruptError, StoreError) as exc:
                            _add_skip(skipped, seg.path, exc)
            else:
                with self._lock:
                    sources = self._index.levels(segs, level, skipped, latency)
            for r in sources:
                for k, row in r.rows.items():
                    if (a is None or k[0] >= a) and (b is None or k[0] < b) and key_ok(k):
                        take(k, row)
        rows = aggregate_rows(groups, group_by, latency)
        source = "mixed" if used_rollups and used_columns else "columns" if used_columns else "rollups"
        return AggregateResult(
            group_by=group_by,
            since_ns=lo,
            until_ns=hi,
            rows=rows,
            source=source,
            relative_error=RELATIVE_ERROR,
            skipped_segments=skipped,
        )

    @staticmethod
    def _key_filter(flt: SpanFilter) -> Callable[[tuple], bool]:
        checks = [(_DIM_INDEX[d], getattr(flt, d)) for d in ROLLUP_DIMS if getattr(flt, d) is not None]
        if not checks:
            return lambda k: True
        return lambda k: all(k[i] == v for i, v in checks)


def _projector(group_by: list[str]) -> Callable[[tuple], tuple]:
    """Key of a rollup row → its group's values, in group_by order."""
    parts = [(_DIM_INDEX[g], 0) if g in _DIM_INDEX else (0, BUCKET_NS[g]) for g in group_by]
    if not parts:
        return lambda k: ()
    if all(size == 0 for _, size in parts):
        getter = operator.itemgetter(*(i for i, _ in parts))
        if len(parts) == 1:
            return lambda k: (getter(k),)
        return getter  # type: ignore[return-value]
    return lambda k: tuple(k[i] if not size else k[0] - k[0] % size for i, size in parts)


def _struct_dict(s: SpanFilter) -> dict[str, Any]:
    return {f: getattr(s, f) for f in s.__struct_fields__}


def _rows_by(keys: Sequence[bytes]) -> dict[bytes, list[int]]:
    """Row positions grouped by key (a trace id), in row order."""
    out: dict[bytes, list[int]] = {}
    for j, k in enumerate(keys):
        out.setdefault(k, []).append(j)
    return out
