"""Retention: delete the oldest sealed segments beyond a maximum age or total size.

A segment goes as a whole. By age, a segment is deleted once **all** its spans
started before ``now - max_age_s`` (its footer's ``max_start_ns``). By size, the
oldest segments (by their first span) go until the segments' total size is at most
``max_bytes``. A worker's newest segment always stays: its writer resumes after the
WAL position that segment records (docs/architecture.md, exactly-once rule), so
deleting it could bring back spans from the WAL; the size limit can be exceeded by
those segments alone. Hour rollup files of days that lose a segment are deleted with it
(the compactor writes them again for what is left); empty day directories are
removed. The WAL is never touched: it only holds spans not yet sealed.

Runs under the maintenance lock, after finishing any interrupted compaction, so a
manifest never names a file retention removed behind its back.

>>> apply_retention("/var/lib/agenttrace", max_age_s=30 * 86400, max_bytes=20 << 30)  # doctest: +SKIP
RetentionStats(deleted_segments=12, deleted_bytes=..., kept_segments=..., kept_bytes=...)
"""

from __future__ import annotations

import calendar
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from agenttrace.errors import ConfigError, SegmentCorruptError, StoreError
from agenttrace.store.compaction import hour_rollup_path, maintenance_lock, recover
from agenttrace.store.layout import SegmentInfo, fsync_dir, list_segments

__all__ = ["RetentionStats", "apply_retention"]


class RetentionStats(msgspec.Struct, kw_only=True):
    """What one retention pass did."""

    deleted_segments: int = 0
    deleted_bytes: int = 0
    kept_segments: int = 0
    kept_bytes: int = 0
    deleted_paths: list[str] = []


def apply_retention(
    data_dir: str | os.PathLike[str],
    *,
    max_age_s: float | None = None,
    max_bytes: int | None = None,
    clock: Callable[[], int] = time.time_ns,
) -> RetentionStats:
    """Delete segments older than ``max_age_s`` or beyond ``max_bytes`` in total, oldest first.

    ``None`` disables a limit. A corrupt segment counts by its file's day and size
    (it cannot tell its time range) so it does not linger forever."""
    from agenttrace.store.reader import SegmentReader

    if max_age_s is not None and max_age_s <= 0:
        raise ConfigError("max_age_s", max_age_s, "a number of seconds > 0")
    if max_bytes is not None and max_bytes < 0:
        raise ConfigError("max_bytes", max_bytes, "a number of bytes >= 0")
    stats = RetentionStats()
    with maintenance_lock(data_dir):
        recover(data_dir)
        infos = list_segments(data_dir)
        # Never a worker's newest segment: the writer resumes after its WAL position
        # (docs/architecture.md, exactly-once rule); deleting it would replay its WAL.
        newest: dict[int, SegmentInfo] = {}
        for info in infos:
            if info.worker not in newest or info.seq > newest[info.worker].seq:
                newest[info.worker] = info
        keep_always = {i.path for i in newest.values()}
        entries = []  # (first start, last start, path, size, day)
        for info in infos:
            try:
                f = SegmentReader(info.path).footer
                first, last = f.min_start_ns, f.max_start_ns
            except (SegmentCorruptError, StoreError):
                first = last = calendar.timegm(time.strptime(info.day, "%Y-%m-%d")) * 10**9
            entries.append((first, last, info.path, info.size, info.day))
        entries.sort()
        doomed: set[str] = set()
        if max_age_s is not None:
            cutoff = clock() - int(max_age_s * 1e9)
            doomed.update(e[2] for e in entries if e[1] < cutoff and e[2] not in keep_always)
        if max_bytes is not None:
            total = sum(e[3] for e in entries if e[2] not in doomed)
            for e in entries:
                if total <= max_bytes:
                    break
                if e[2] not in doomed and e[2] not in keep_always:
                    doomed.add(e[2])
                    total -= e[3]
        touched_days: set[str] = set()
        for _first, _last, path, size, day in entries:
            if path in doomed:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    continue
                stats.deleted_segments += 1
                stats.deleted_bytes += size
                stats.deleted_paths.append(path)
                touched_days.add(day)
            else:
                stats.kept_segments += 1
                stats.kept_bytes += size
        for day in touched_days:
            day_dir = Path(data_dir) / "segments" / day
            fsync_dir(day_dir)
            hr = hour_rollup_path(data_dir, day)
            if hr.exists():
                shutil.rmtree(hr.parent, ignore_errors=True)
            try:
                if not any(day_dir.iterdir()):
                    day_dir.rmdir()
            except OSError:
                pass
    return stats
