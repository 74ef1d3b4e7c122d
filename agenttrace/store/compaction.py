"""Compaction: merge small sealed segments, fold minute rollups into hour rollup files.

Merging (:func:`compact`) takes runs of consecutive small segments of one worker and
day, ``w<N>-<a>.seg .. w<N>-<z>.seg``, and writes one segment holding their spans (in
the same order), their merged rollup and the union of their WAL ranges. The merged
file **replaces the last source** under its own name, so the writer's next sequence
number is unaffected. The steps, each durable before the next::

    1. write  <day>/compact-w<N>-<z>.seg.tmp            (fsync)
    2. write  <day>/compact-w<N>-<z>.json               (tmp, fsync, rename, fsync dir)
       {"output": "w<N>-<z>.seg", "sources": [...], "rows": R, "created_unix_ns": C}
    3. rename the tmp over w<N>-<z>.seg                 (fsync dir)
    4. delete the other sources                          (fsync dir)
    5. delete the manifest                               (fsync dir)

Readers apply one rule (:func:`superseded`): while a manifest exists **and** its output's
footer carries its ``rows`` and ``created_unix_ns`` (so step 3 happened), the sources it
names are ignored. A crash before step 3 leaves the old files, which readers use; a
crash after it leaves the merged file, which readers use instead of any sources left.
Either way every span is seen exactly once. The next run (:func:`recover`) finishes
steps 4-5 or removes the leftovers of steps 1-2.

Hour rollups (:func:`write_hour_rollups`): for every day directory,
``rollups/hour/<day>/hour.rollup`` holds the hour-folded rollup of that day's segments
and the names, row counts and creation times of the segments it covers (today's is a
snapshot, grown on every run). The query engine uses it while all the segments it covers
are present and unchanged, and folds in the day's newer segments itself.

One maintainer at a time: :func:`maintenance_lock` takes an exclusive ``flock`` on
``$DATA_DIR/.maintenance.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from agenttrace.errors import SegmentCorruptError, StoreError
from agenttrace.store.layout import SegmentInfo, fsync_dir, list_segments, segments_dir
from agenttrace.store.rollup import Rollup

__all__ = [
    "CompactionManifest",
    "CompactionStats",
    "HourRollupFile",
    "compact",
    "hour_rollup_path",
    "live_segments",
    "maintenance_lock",
    "read_hour_rollup",
    "read_manifests",
    "recover",
    "superseded",
    "write_hour_rollups",
]

_MANIFEST_RE = re.compile(r"^compact-(w\d+-\d+)\.json$")
HOUR_ROLLUP_VERSION = 2  # 2 adds the day fold; 1 is still read


class CompactionManifest(msgspec.Struct, kw_only=True):
    """What a compaction in progress replaces (see the module docstring, step 2)."""

    output: str
    sources: list[str]  # the files the output replaces, the output's own old name excluded
    rows: int
    created_unix_ns: int


class CompactionStats(msgspec.Struct, kw_only=True):
    """What one :func:`compact` run did."""

    merged_segments: int = 0  # source files merged away
    written_segments: int = 0
    rows: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    recovered: int = 0  # unfinished compactions finished or rolled back
    skipped_corrupt: list[str] = []
    hour_rollups: int = 0


class HourRollupFile(msgspec.Struct, array_like=True):
    """``rollups/hour/<day>/hour.rollup``: [version, covers, hour rollup, day rollup]."""

    version: int
    covers: list[tuple[str, int, int]]  # segment name, rows, created_unix_ns
    rollup: bytes  # Rollup("hour").to_bytes()
    day: bytes = b""  # the same folded into its day (version 2): day answers decode a 24th


_enc = msgspec.msgpack.Encoder()
_manifest_dec = msgspec.json.Decoder(CompactionManifest)
_hour_dec = msgspec.msgpack.Decoder(HourRollupFile)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _unlink(path: str | Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def maintenance_lock(data_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the data directory's maintenance lock (compaction, retention) for the block."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(data_dir) / ".maintenance.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_manifests(data_dir: str | os.PathLike[str]) -> dict[str, list[CompactionManifest]]:
    """Manifests of unfinished compactions by day directory path."""
    out: dict[str, list[CompactionManifest]] = {}
    root = segments_dir(data_dir)
    try:
        days = list(os.scandir(root))
    except FileNotFoundError:
        return out
    for day in days:
        if not day.is_dir():
            continue
        try:
            names = [e.name for e in os.scandir(day.path)]
        except FileNotFoundError:
            continue
        for name in names:
            if _MANIFEST_RE.match(name):
                try:
                    data = Path(day.path, name).read_bytes()
                    out.setdefault(day.path, []).append(_manifest_dec.decode(data))
                except (FileNotFoundError, msgspec.DecodeError):
                    continue  # finished meanwhile, or torn (never renamed into place: cannot happen)
    return out


def superseded(manifests: dict[str, list[CompactionManifest]], footer_of: Callable[[str], object | None]) -> set[str]:
    """Paths readers must ignore: sources of manifests whose output is in place.

    ``footer_of(path)`` gives the footer of a present segment (or None)."""
    out: set[str] = set()
    for day_path, ms in manifests.items():
        for m in ms:
            footer = footer_of(os.path.join(day_path, m.output))
            if (
                footer is not None
                and getattr(footer, "rows", None) == m.rows
                and getattr(footer, "created_unix_ns", None) == m.created_unix_ns
            ):
                out.update(os.path.join(day_path, s) for s in m.sources)
    return out


def live_segments(data_dir: str | os.PathLike[str]) -> list[SegmentInfo]:
    """``list_segments`` without the sources of a compaction whose output is in place:
    what every reader should read (each span exactly once)."""
    manifests = read_manifests(data_dir)  # before listing: see QueryEngine.segments
    infos = list_segments(data_dir)
    if not manifests:
        return infos
    gone = superseded(manifests, _footer_or_none)
    return [i for i in infos if i.path not in gone]


def _footer_or_none(path: str) -> object | None:
    from agenttrace.store.reader import SegmentReader

    try:
        return SegmentReader(path).footer
    except (SegmentCorruptError, StoreError):
        return None


def recover(data_dir: str | os.PathLike[str]) -> int:
    """Finish or roll back compactions a crash interrupted; returns how many."""
    n = 0
    for day_path, ms in read_manifests(data_dir).items():
        for m in ms:
            done = superseded({day_path: [m]}, _footer_or_none)
            for p in done:  # the output is in place: finish deleting the sources
                _unlink(p)
            _unlink(os.path.join(day_path, f"compact-{m.output}.tmp"))
            fsync_dir(day_path)
            _unlink(os.path.join(day_path, f"compact-{m.output[: -len('.seg')]}.json"))
            fsync_dir(day_path)
            n += 1
    for tmp in segments_dir(data_dir).glob("*/compact-*.tmp"):
        _unlink(tmp)  # step 1 done, step 2 not: nothing refers to it
    return n


def _runs(infos: list[SegmentInfo], small: Callable[[SegmentInfo], bool], max_bytes: int) -> list[list[SegmentInfo]]:
    """Runs of consecutive-seq small segments of one worker and day, at least two long."""
    runs: list[list[SegmentInfo]] = []
    cur: list[SegmentInfo] = []
    size = 0
    for info in infos:
        contiguous = cur and info.day == cur[-1].day and info.worker == cur[-1].worker and info.seq == cur[-1].seq + 1
        if small(info) and (contiguous or not cur) and size + info.size <= max_bytes:
            cur.append(info)
            size += info.size
            continue
        if len(cur) >= 2:
            runs.append(cur)
        cur, size = ([info], info.size) if small(info) else ([], 0)
    if len(cur) >= 2:
        runs.append(cur)
    return runs


def compact(
    data_dir: str | os.PathLike[str],
    *,
    small_bytes: int = 1 << 20,
    target_bytes: int = 8 << 20,
    hour_rollups: bool = True,
    _crash_at: str | None = None,
) -> CompactionStats:
    """Merge runs of small segments (each under ``small_bytes``) into segments of at
    most about ``target_bytes``, then write or refresh the days' hour rollup files.

    Takes the maintenance lock. Safe against a crash at any point (module docstring).
    """
    from agenttrace.store.reader import SegmentReader
    from agenttrace.store.segment import encode_segment

    stats = CompactionStats()
    with maintenance_lock(data_dir):
        stats.recovered = recover(data_dir)
        infos = list_segments(data_dir)
        for run in _runs(infos, lambda i: i.size < small_bytes, target_bytes):
            spans = []
            merged = Rollup()
            wal_first, wal_last = [], []
            try:
                for info in run:
                    r = SegmentReader(info.path)
                    spans += r.read_spans()
                    try:
                        merged.merge(r.rollup())
                    except (SegmentCorruptError, StoreError):
                        part = Rollup()
                        part.add_spans(spans[-r.rows :])
                        merged.merge(part)
                    if r.footer.wal_first_seq >= 0:
                        wal_first.append(r.footer.wal_first_seq)
                    if r.footer.wal_last_seq >= 0:
                        wal_last.append(r.footer.wal_last_seq)
            except SegmentCorruptError as exc:
                stats.skipped_corrupt.append(exc.path)  # leave this run alone; queries skip the bad file
                continue
            last = run[-1]
            blob = encode_segment(
                spans,
                worker=last.worker,
                seq=last.seq,
                wal_first_seq=min(wal_first) if wal_first else -1,
                wal_last_seq=max(wal_last) if wal_last else -1,
                rollup=merged.to_bytes(),
            )
            from agenttrace.store.segment import SegmentData

            footer = SegmentData(blob).footer
            out_path = Path(last.path)
            day_dir = out_path.parent
            # not named w<N>-*.tmp: the writer removes those of its worker when it opens
            tmp = day_dir / f"compact-{out_path.name}.tmp"
            with open(tmp, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            _crash_point(_crash_at, "after_tmp")
            manifest = CompactionManifest(
                output=out_path.name,
                sources=[Path(i.path).name for i in run[:-1]],
                rows=footer.rows,
                created_unix_ns=footer.created_unix_ns,
            )
            mpath = day_dir / f"compact-{out_path.stem}.json"
            _write_atomic(mpath, msgspec.json.encode(manifest))
            _crash_point(_crash_at, "after_manifest")
            try:
                os.replace(tmp, out_path)
            except FileNotFoundError:  # someone removed our tmp: give this run up
                _unlink(mpath)
                continue
            fsync_dir(day_dir)
            _crash_point(_crash_at, "after_rename")
            for i, info in enumerate(run[:-1]):
                _unlink(info.path)
                if i == 0:
                    _crash_point(_crash_at, "mid_delete")
            fsync_dir(day_dir)
            _crash_point(_crash_at, "after_delete")
            _unlink(mpath)
            fsync_dir(day_dir)
            stats.merged_segments += len(run)
            stats.written_segments += 1
            stats.rows += footer.rows
            stats.bytes_before += sum(i.size for i in run)
            stats.bytes_after += len(blob)
        if hour_rollups:
            stats.hour_rollups = write_hour_rollups(data_dir)
    return stats


def _crash_point(crash_at: str | None, name: str) -> None:
    # Test hook: die here by SIGKILL (no cleanup, nothing flushed) to prove the protocol.
    if crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)


def hour_rollup_path(data_dir: str | os.PathLike[str], day: str) -> Path:
    return Path(data_dir) / "rollups" / "hour" / day / "hour.rollup"


def read_hour_rollup(
    path: str | os.PathLike[str], granularity: str = "hour", *, latency: bool = True
) -> tuple[set[tuple[str, int, int]], Rollup] | None:
    """(covered segments, rollup at ``granularity``: hour or day) of an hour rollup file,
    or None if absent or unreadable. ``latency=False``: without sketches (see Rollup.from_bytes)."""
    try:
        f = _hour_dec.decode(Path(path).read_bytes())
        if f.version not in (1, HOUR_ROLLUP_VERSION):
            return None
        covers = {tuple(c) for c in f.covers}
        if granularity == "day" and f.day:
            return covers, Rollup.from_bytes(f.day, latency=latency)  # type: ignore[return-value]
        return covers, Rollup.from_bytes(f.rollup, granularity, latency=latency)  # type: ignore[return-value]
    except (OSError, ValueError, msgspec.DecodeError):
        return None


def write_hour_rollups(data_dir: str | os.PathLike[str]) -> int:
    """Write or refresh the hour rollup file of every day whose segments changed since its
    file was written (today's too: a snapshot of what is sealed so far, grown on the next
    run); returns how many files were written."""
    from agenttrace.store.reader import SegmentReader

    by_day: dict[str, list[SegmentInfo]] = {}
    for info in list_segments(data_dir):
        by_day.setdefault(info.day, []).append(info)
    written = 0
    for day, infos in by_day.items():
        path = hour_rollup_path(data_dir, day)
        try:
            readers = [SegmentReader(i.path) for i in infos]
        except (SegmentCorruptError, StoreError):
            continue  # a corrupt segment: no hour file; queries fall back to the segments' own rollups
        cover = {Path(r.path).name: (Path(r.path).name, r.footer.rows, r.footer.created_unix_ns) for r in readers}
        covers = set(cover.values())
        existing = read_hour_rollup(path)
        if existing is not None and existing[0] == covers:
            continue
        if existing is not None and existing[0] <= covers:
            rollup, done = existing[1], existing[0]  # grow it: only the new segments are read
        else:
            rollup, done = Rollup("hour"), set()
        try:
            for r in readers:
                if cover[Path(r.path).name] in done:
                    continue
                data = r.rollup_bytes()
                part = Rollup.from_bytes(data, "hour") if data is not None else r.rollup().fold("hour")
                rollup.merge(part)
        except (SegmentCorruptError, StoreError, ValueError, msgspec.DecodeError):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        f = HourRollupFile(HOUR_ROLLUP_VERSION, sorted(covers), rollup.to_bytes(), rollup.fold("day").to_bytes())
        _write_atomic(path, _enc.encode(f))
        written += 1
    return written
