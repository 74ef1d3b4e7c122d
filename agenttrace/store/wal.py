"""Write-ahead log of raw datagrams, one file per worker (layout: ``docs/format/wal.md``).

::

    header  "ATWL" u16 version u16 flags u64 base_seq                          16 bytes
    record  "ATWR" | u32 len | u32 crc32(len ‖ seq ‖ payload) | u64 seq | payload   20 + len

Records are numbered ``base_seq, base_seq + 1, ...``; the numbers go on across
rotations (a rotated WAL starts at the next number), so a segment's footer can say
which records it holds and a replay after a crash skips exactly those.

A scan skips a record that is short, too long, out of sequence or fails its CRC and
resynchronises on the next ``ATWR`` sync marker that starts a good record, so damage
in the middle loses only the damaged record. Bad bytes after the last good record are
the torn tail of a write the process did not finish: :meth:`Wal.open` cuts them off.
Version 1 logs (no sync marker) are still read, and rewritten as version 2 on open;
``*.wal.tail-*`` side files that version 1 wrote for damage are re-imported.

>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> w = Wal(os.path.join(d, "worker-0.wal"), fsync="batch")
>>> w.open(next_seq=0).records
[]
>>> w.append([b"one", b"two"])
1
>>> w.close()
>>> [(r.seq, r.data) for r in scan_wal(os.path.join(d, "worker-0.wal")).records]
[(0, b'one'), (1, b'two')]
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import struct
import time
import zlib
from collections.abc import Callable, Sequence

import msgspec

from agenttrace.errors import SegmentCorruptError, StoreError
from agenttrace.store.layout import fsync_dir

__all__ = [
    "FSYNC_POLICIES",
    "MAX_RECORD",
    "WAL_HEADER",
    "WAL_MAGIC",
    "WAL_RECORD",
    "WAL_RECORD_V1",
    "WAL_SYNC",
    "WAL_VERSION",
    "Wal",
    "WalRecord",
    "WalScan",
    "scan_wal",
]

log = logging.getLogger("agenttrace.store.wal")

WAL_MAGIC = b"ATWL"
WAL_VERSION = 2
WAL_SYNC = b"ATWR"
WAL_HEADER = struct.Struct("<4sHHQ")  # magic, version, flags, base_seq
WAL_RECORD = struct.Struct("<4sIIQ")  # sync, payload length, crc32(len ‖ seq ‖ payload), seq
WAL_RECORD_V1 = struct.Struct("<IIQ")  # payload length, crc32(seq ‖ payload), seq
_SEQ = struct.Struct("<Q")
_LEN_SEQ = struct.Struct("<IQ")
# How far past the last good number a v1 record found by resynchronising may be numbered
# (v1 has no sync marker: the number is what makes a candidate plausible).
_V1_RESYNC_SPAN = 1 << 20
MAX_RECORD = 16 << 20  # a datagram is at most 64 KiB; anything past 16 MiB is damage
FSYNC_POLICIES = ("batch", "interval", "none")

Opener = Callable[[str, int, int], int]


class WalRecord(msgspec.Struct, frozen=True):
    seq: int
    offset: int
    data: bytes


class WalScan(msgspec.Struct):
    """What :func:`scan_wal` found: the good records and where they stop."""

    base_seq: int
    records: list[WalRecord]
    valid_end: int  # byte offset just past the last good record
    size: int  # file size; > valid_end means a torn or damaged tail
    problem: str = ""  # what was wrong with the last bad bytes found
    damaged: list[tuple[int, int]] = []  # (offset, length) of bad bytes between good records
    version: int = WAL_VERSION

    @property
    def next_seq(self) -> int:
        return self.records[-1].seq + 1 if self.records else self.base_seq


def _crc(length: int, seq: int, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(_LEN_SEQ.pack(length, seq)))


def _crc_v1(seq: int, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(_SEQ.pack(seq)))


def encode_records(first_seq: int, payloads: Sequence[bytes]) -> bytes:
    """The bytes of consecutive (v2) records numbered from ``first_seq``."""
    parts = []
    seq = first_seq
    for p in payloads:
        if len(p) > MAX_RECORD:
            raise ValueError(f"WAL record of {len(p)} bytes exceeds {MAX_RECORD}")
        parts.append(WAL_RECORD.pack(WAL_SYNC, len(p), _crc(len(p), seq, p), seq))
        parts.append(p)
        seq += 1
    return b"".join(parts)


def scan_wal(path: str | os.PathLike) -> WalScan:
    """Read a WAL file and check every record. Raises :class:`SegmentCorruptError`
    only when the 16-byte header itself is unreadable; a bad record is skipped."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < WAL_HEADER.size:
        raise SegmentCorruptError(path, 0, f"WAL of {len(data)} bytes is shorter than its header")
    magic, version, _flags, base_seq = WAL_HEADER.unpack_from(data, 0)
    if magic != WAL_MAGIC:
        raise SegmentCorruptError(path, 0, "not a WAL file (bad magic)")
    if version not in (1, 2):
        raise SegmentCorruptError(path, 4, f"WAL version {version} is not supported (this reader knows 1 and 2)")
    scan = scan_records(data, WAL_HEADER.size, base_seq, version)
    scan.base_seq = base_seq
    return scan


def _check(data: bytes, view: memoryview, pos: int, version: int) -> tuple[int, int, str]:
    """(seq, end, "") for a good record at ``pos``, else (-1, -1, why not)."""
    n = len(data)
    rec = WAL_RECORD if version == 2 else WAL_RECORD_V1
    if pos + rec.size > n:
        return -1, -1, "record header cut short"
    if version == 2:
        sync, length, crc, seq = WAL_RECORD.unpack_from(data, pos)
        if sync != WAL_SYNC:
            return -1, -1, "no record sync marker"
    else:
        length, crc, seq = WAL_RECORD_V1.unpack_from(data, pos)
    if length > MAX_RECORD:
        return -1, -1, f"record claims {length} bytes"
    end = pos + rec.size + length
    if end > n:
        return -1, -1, "record payload cut short"
    payload = view[pos + rec.size : end]
    good = _crc(length, seq, payload) == crc if version == 2 else _crc_v1(seq, payload) == crc
    return (seq, end, "") if good else (-1, -1, "record checksum mismatch")


def _resync(data: bytes, view: memoryview, pos: int, last: int, version: int) -> int:
    """Offset of the next good record after ``pos`` numbered above ``last``, or -1."""
    if version == 2:
        at = data.find(WAL_SYNC, pos + 1)
        while at >= 0:
            seq, _end, _why = _check(data, view, at, 2)
            if seq > last:
                return at
            at = data.find(WAL_SYNC, at + 1)
        return -1
    # v1: no marker; a candidate needs a plausible number, length and a matching CRC
    # (any number when nothing before it is known: a side file's first record).
    top = last + _V1_RESYNC_SPAN if last >= 0 else 1 << 64
    for at in range(pos + 1, len(data) - WAL_RECORD_V1.size + 1):
        length, _crc32, seq = WAL_RECORD_V1.unpack_from(data, at)
        if last < seq <= top and length <= MAX_RECORD and _check(data, view, at, 1)[0] == seq:
            return at
    return -1


def scan_records(data: bytes, pos: int, base_seq: int, version: int = WAL_VERSION) -> WalScan:
    """Scan the records in ``data[pos:]`` (the first numbered ``base_seq``), skipping
    damage. Also reads a v1 side file's bytes (``pos=0``)."""
    records: list[WalRecord] = []
    damaged: list[tuple[int, int]] = []
    problem = ""
    view = memoryview(data)
    expect = base_seq
    valid_end = pos
    while pos < len(data):
        seq, end, why = _check(data, view, pos, version)
        if seq >= expect:  # numbers only grow (a gap is where damage was, or a converted log's)
            rec_size = WAL_RECORD.size if version == 2 else WAL_RECORD_V1.size
            records.append(WalRecord(seq, pos, bytes(view[pos + rec_size : end])))
            expect = seq + 1
            pos = valid_end = end
            continue
        problem = why or f"record number {seq} where {expect} was due"
        nxt = _resync(data, view, pos, expect - 1, version)
        if nxt < 0:
            break  # nothing good after: a torn (or damaged) tail, cut at valid_end
        damaged.append((pos, nxt - pos))
        log.debug("WAL damage at byte %d (%s); resynchronised at byte %d", pos, problem, nxt)
        pos = nxt
    return WalScan(base_seq, records, valid_end, len(data), problem, damaged, version)


class Wal:
    """The append side of one worker's WAL.

    ``fsync``: ``"batch"`` syncs at the end of every :meth:`append` call;
    ``"interval"`` syncs at most every ``fsync_interval_ms`` (checked by
    :meth:`append` and :meth:`maybe_sync`, so call it from a timer too);
    ``"none"`` leaves it to the kernel (a process crash loses nothing, a power cut may).
    ``opener`` replaces :func:`os.open` (tests inject faults through it).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fsync: str = "interval",
        fsync_interval_ms: float = 200,
        clock: Callable[[], float] = time.monotonic,
        opener: Opener | None = None,
        keep_rotated: bool = False,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            from agenttrace.errors import ConfigError

            raise ConfigError("wal_fsync", fsync, " or ".join(repr(p) for p in FSYNC_POLICIES))
        self.path = os.fspath(path)
        self.fsync_policy = fsync
        self.fsync_interval_s = fsync_interval_ms / 1000.0
        self._clock = clock
        self._open = opener or os.open
        self._fd = -1
        self._size = 0
        self._next_seq = 0
        self._dirty = False
        self._last_sync = clock()
        self.truncated_bytes = 0  # cut off at open (torn tail)
        # A sink reading this log (PostgreSQL) still needs rotated records: keep each
        # rotated log as <path>.<base_seq:020d>.kept; the sink deletes it once sent.
        self.keep_rotated = keep_rotated
        self._base_seq = 0
        self.syncs = 0

    # --- lifecycle ------------------------------------------------------------

    def open(self, next_seq: int) -> WalScan:
        """Open (creating it if absent) and recover the log: cut a torn tail, return
        the good records (also those after damage). ``next_seq`` numbers the first
        record of a new log. A version 1 log is rewritten as version 2."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        try:
            scan = scan_wal(self.path)
        except FileNotFoundError:
            self._create(next_seq)
            return WalScan(next_seq, [], WAL_HEADER.size, WAL_HEADER.size)
        except SegmentCorruptError as exc:
            # An unreadable header: keep the file for inspection and start afresh.
            aside = f"{self.path}.corrupt-{time.time_ns()}"
            os.replace(self.path, aside)
            log.error("WAL %s is unreadable (%s); moved to %s and started a new log", self.path, exc.detail, aside)
            self._create(next_seq)
            return WalScan(next_seq, [], WAL_HEADER.size, WAL_HEADER.size, problem=exc.detail)
        for offset, length in scan.damaged:
            log.error(
                "WAL %s is damaged at byte %d (%d bytes, %s); the records after it are kept",
                self.path,
                offset,
                length,
                scan.problem,
            )
        if scan.version != WAL_VERSION:
            self._convert(scan)
            scan = scan_wal(self.path)
        elif scan.valid_end < scan.size:
            self._cut_tail(scan)
        self._fd = self._open(self.path, os.O_WRONLY | os.O_APPEND, 0o644)
        self._size = scan.valid_end
        self._next_seq = scan.next_seq
        self._base_seq = scan.base_seq
        if next_seq > scan.next_seq:
            # Numbering behind the segments (every record here is sealed already):
            # start a fresh log so numbers never repeat.
            self.rotate(next_seq)
        return scan

    def _convert(self, scan: WalScan) -> None:
        """Rewrite a version 1 log as version 2 (same base and good records), atomically."""
        if scan.valid_end < scan.size:
            self.truncated_bytes += scan.size - scan.valid_end
        tmp = self.path + ".tmp"
        body = b"".join(encode_records(r.seq, [r.data]) for r in scan.records)
        with open(tmp, "wb") as f:
            f.write(WAL_HEADER.pack(WAL_MAGIC, WAL_VERSION, 0, scan.base_seq) + body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fsync_dir(os.path.dirname(self.path) or ".")
        log.info("WAL %s: converted from version %d to %d", self.path, scan.version, WAL_VERSION)

    def _cut_tail(self, scan: WalScan) -> None:
        # Nothing good follows valid_end (a scan resynchronises past damage), so this is
        # an append the process did not finish, or damage past the last record.
        dropped = scan.size - scan.valid_end
        os.truncate(self.path, scan.valid_end)
        self.truncated_bytes += dropped
        log.warning(
            "WAL %s: cut %d bytes of torn tail at byte %d (%s)", self.path, dropped, scan.valid_end, scan.problem
        )

    def import_side_files(self, sealed_before: Callable[[int], int]) -> list[WalRecord]:
        """Append the intact records of ``<wal>.tail-<offset>-<time_ns>`` side files
        (written by version 1 for damage in the middle) as new records, then remove the
        files. ``sealed_before(time_ns)`` is the last record number sealed before the
        side file was written: only records numbered above it are imported (the rest
        are in segments). Returns the appended records."""
        directory = os.path.dirname(self.path) or "."
        prefix = os.path.basename(self.path) + ".tail-"
        imported: list[WalRecord] = []
        for name in sorted(os.listdir(directory)):
            if not name.startswith(prefix):
                continue
            side = os.path.join(directory, name)
            try:
                written_ns = int(name.rsplit("-", 1)[1])
                with open(side, "rb") as f:
                    data = f.read()
            except (ValueError, OSError) as exc:
                log.error("WAL side file %s cannot be read (%s); left in place", side, exc)
                continue
            records = _side_records(data)
            sealed = sealed_before(written_ns)
            payloads = [r.data for r in records if r.seq > sealed]
            if payloads:
                first = self._next_seq
                self.append(payloads)
                self.sync()
                imported += [WalRecord(first + i, -1, p) for i, p in enumerate(payloads)]
            os.unlink(side)
            log.warning(
                "WAL side file %s: re-imported %d of its %d intact records (the others were sealed)",
                side,
                len(payloads),
                len(records),
            )
        return imported

    def _create(self, base_seq: int) -> None:
        tmp = self.path + ".tmp"
        fd = self._open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, WAL_HEADER.pack(WAL_MAGIC, WAL_VERSION, 0, base_seq))
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.keep_rotated and self._fd >= 0 and self._size > WAL_HEADER.size:
            with contextlib.suppress(FileExistsError):  # linked already before a crash
                os.link(self.path, f"{self.path}.{self._base_seq:020d}.kept")
        os.replace(tmp, self.path)
        fsync_dir(os.path.dirname(self.path) or ".")
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = self._open(self.path, os.O_WRONLY | os.O_APPEND, 0o644)
        self._size = WAL_HEADER.size
        self._next_seq = base_seq
        self._base_seq = base_seq
        self._dirty = False

    def rotate(self, base_seq: int | None = None) -> None:
        """Replace the log with an empty one numbered from ``base_seq`` (default: the
        next number). Call only when every record is sealed. Atomic: a crash leaves
        either the old log (whose records the segments already hold) or the new one."""
        try:
            self._create(self._next_seq if base_seq is None else base_seq)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(self.path + ".tmp")
            raise StoreError(f"could not rotate the WAL {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        if self._fd >= 0:
            try:
                if self._dirty and self.fsync_policy != "none":
                    os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1

    # --- appending --------------------------------------------------------------

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def size(self) -> int:
        return self._size

    def append(self, payloads: Sequence[bytes]) -> int:
        """Append records, one per payload; return the number of the last one.

        On a write error (disk full) the partial bytes are cut off again, the log is
        as before the call, and :class:`StoreError` is raised."""
        if self._fd < 0:
            raise StoreError(f"WAL {self.path} is not open")
        if not payloads:
            return self._next_seq - 1
        data = encode_records(self._next_seq, payloads)
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            self._rollback()
            what = "disk full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))
            raise StoreError(f"WAL append to {self.path} failed ({what}); the datagrams were not stored") from exc
        self._size += len(data)
        self._next_seq += len(payloads)
        self._dirty = True
        if self.fsync_policy == "batch":
            self.sync()
        elif self.fsync_policy == "interval":
            self.maybe_sync()
        return self._next_seq - 1

    def _rollback(self) -> None:
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:  # pragma: no cover - the scan at next open cuts it instead
            log.error("WAL %s: could not cut a failed append (%s); the next open will", self.path, exc)

    def maybe_sync(self) -> bool:
        """fsync if the interval policy says it is due; True when it synced."""
        if self._dirty and self.fsync_policy == "interval" and self._clock() - self._last_sync >= self.fsync_interval_s:
            self.sync()
            return True
        return False

    def sync(self) -> None:
        if self._fd >= 0 and self._dirty:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise StoreError(f"fsync of the WAL {self.path} failed: {exc.strerror or exc}") from exc
            self._dirty = False
            self.syncs += 1
        self._last_sync = self._clock()


def _side_records(data: bytes) -> list[WalRecord]:
    """The intact v1 records of a side file: it starts at the damaged record, so the
    first good record is found by resynchronising."""
    view = memoryview(data)
    seq, _end, _why = _check(data, view, 0, 1)
    start = 0 if seq >= 0 else _resync(data, view, 0, -1, 1)
    if start < 0:
        return []
    first = WAL_RECORD_V1.unpack_from(data, start)[2]
    return scan_records(data, start, first, version=1).records


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
