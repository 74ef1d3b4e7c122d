"""Where the store keeps its files inside a data directory.

::

    $DATA_DIR/
      wal/worker-<N>.wal                           raw datagrams of worker N (docs/format/wal.md)
      segments/<YYYY-MM-DD>/w<N>-<seq:08d>.seg     sealed, immutable (docs/format/segment.md)
      segments/<YYYY-MM-DD>/w<N>-<seq:08d>.seg.tmp being written; never read, removed at open

The day is the UTC day of the segment's first span; ``seq`` counts up per worker, so
two workers never touch the same file and a name never comes back.

>>> segment_path("/d", day="2026-11-22", worker=3, seq=7).as_posix()
'/d/segments/2026-11-22/w3-00000007.seg'
>>> parse_segment_name("w3-00000007.seg")
(3, 7)
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

import msgspec

__all__ = [
    "SegmentInfo",
    "day_of",
    "fsync_dir",
    "list_segments",
    "parse_segment_name",
    "segment_path",
    "segments_dir",
    "wal_dir",
    "wal_path",
]

_SEG_RE = re.compile(r"^w(\d+)-(\d+)\.seg$")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SegmentInfo(msgspec.Struct, frozen=True, order=True):
    """One sealed segment file as the directory shows it (no bytes read)."""

    day: str
    worker: int
    seq: int
    path: str
    size: int


def segments_dir(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "segments"


def wal_dir(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "wal"


def wal_path(data_dir: str | os.PathLike, worker: int) -> Path:
    return wal_dir(data_dir) / f"worker-{worker}.wal"


def day_of(unix_ns: int) -> str:
    """The UTC day (``YYYY-MM-DD``) of a Unix time in nanoseconds, clamped to years 1..9999."""
    seconds = max(min(unix_ns // 1_000_000_000, 253_402_300_799), -62_135_596_800)
    return _dt.datetime.fromtimestamp(seconds, _dt.UTC).strftime("%Y-%m-%d")


def segment_path(data_dir: str | os.PathLike, *, day: str, worker: int, seq: int) -> Path:
    return segments_dir(data_dir) / day / f"w{worker}-{seq:08d}.seg"


def parse_segment_name(name: str) -> tuple[int, int] | None:
    """``(worker, seq)`` of a segment file name, or None for anything else (``*.tmp`` too)."""
    m = _SEG_RE.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def list_segments(data_dir: str | os.PathLike, *, worker: int | None = None) -> list[SegmentInfo]:
    """Every sealed segment under ``data_dir``, sorted by day, worker and seq.

    Temporary files and anything not named like a segment are ignored; a missing
    directory is an empty store."""
    root = segments_dir(data_dir)
    out = []
    try:
        days = os.scandir(root)
    except FileNotFoundError:
        return []
    with days:
        for day in days:
            if not (_DAY_RE.match(day.name) and day.is_dir()):
                continue
            try:
                entries = list(os.scandir(day.path))
            except FileNotFoundError:
                continue  # removed (by retention) while we looked
            for entry in entries:
                parsed = parse_segment_name(entry.name)
                if parsed is None or (worker is not None and parsed[0] != worker):
                    continue
                try:
                    size = entry.stat().st_size
                except FileNotFoundError:
                    continue
                out.append(SegmentInfo(day.name, parsed[0], parsed[1], entry.path, size))
    out.sort()
    return out


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX needs the directory synced)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
