"""Write-ahead log of raw datagrams, one file per worker (layout: ``docs/format/wal.md``).

::

    header  "ATWL" u16 version u16 flags u64 base_seq                 16 bytes
    record  u32 len | u32 crc32(seq ‖ payload) | u64 seq | payload     16 + len bytes

Records are numbered ``base_seq, base_seq + 1, ...`` without gaps; the numbers go on
across rotations (a rotated WAL starts at the next number), so a segment's footer can
say which records it holds and a replay after a crash skips exactly those.

A scan stops at the first record that is short, too long, out of sequence or fails
its CRC: that is the torn tail of a write the process did not finish, and
:meth:`Wal.open` cuts it off (and keeps a copy beside the log when valid-looking bytes
follow it, since that means damage in the middle rather than a torn tail).

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
    "WAL_VERSION",
    "Wal",
    "WalRecord",
    "WalScan",
    "scan_wal",
]

log = logging.getLogger("agenttrace.store.wal")

WAL_MAGIC = b"ATWL"
WAL_VERSION = 1
WAL_HEADER = struct.Struct("<4sHHQ")  # magic, version, flags, base_seq
WAL_RECORD = struct.Struct("<IIQ")  # payload length, crc32(seq ‖ payload), seq
_SEQ = struct.Struct("<Q")
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
    problem: str = ""  # why the scan stopped before the end of the file

    @property
    def next_seq(self) -> int:
        return self.records[-1].seq + 1 if self.records else self.base_seq


def _crc(seq: int, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(_SEQ.pack(seq)))


def encode_records(first_seq: int, payloads: Sequence[bytes]) -> bytes:
    """The bytes of consecutive records numbered from ``first_seq``."""
    parts = []
    seq = first_seq
    for p in payloads:
        if len(p) > MAX_RECORD:
            raise ValueError(f"WAL record of {len(p)} bytes exceeds {MAX_RECORD}")
        parts.append(WAL_RECORD.pack(len(p), _crc(seq, p), seq))
        parts.append(p)
        seq += 1
    return b"".join(parts)


def scan_wal(path: str | os.PathLike) -> WalScan:
    """Read a WAL file and check every record. Raises :class:`SegmentCorruptError`
    only when the 16-byte header itself is unreadable; a bad record ends the scan."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < WAL_HEADER.size:
        raise SegmentCorruptError(path, 0, f"WAL of {len(data)} bytes is shorter than its header")
    magic, version, _flags, base_seq = WAL_HEADER.unpack_from(data, 0)
    if magic != WAL_MAGIC:
        raise SegmentCorruptError(path, 0, "not a WAL file (bad magic)")
    if version != WAL_VERSION:
        raise SegmentCorruptError(path, 4, f"WAL version {version} is not supported (this reader knows 1)")
    records = []
    pos = WAL_HEADER.size
    expect = base_seq
    problem = ""
    view = memoryview(data)
    while pos < len(data):
        if pos + WAL_RECORD.size > len(data):
            problem = "record header cut short"
            break
        length, crc, seq = WAL_RECORD.unpack_from(data, pos)
        if length > MAX_RECORD:
            problem = f"record claims {length} bytes"
            break
        end = pos + WAL_RECORD.size + length
        if end > len(data):
            problem = "record payload cut short"
            break
        if seq != expect:
            problem = f"record number {seq} where {expect} was due"
            break
        payload = view[pos + WAL_RECORD.size : end]
        if _crc(seq, payload) != crc:
            problem = "record checksum mismatch"
            break
        records.append(WalRecord(seq, pos, bytes(payload)))
        expect += 1
        pos = end
    return WalScan(base_seq, records, pos, len(data), problem)


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
        self.syncs = 0

    # --- lifecycle ------------------------------------------------------------

    def open(self, next_seq: int) -> WalScan:
        """Open (creating it if absent) and recover the log: cut a torn tail, return
        the good records. ``next_seq`` numbers the first record of a new log."""
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
        if scan.valid_end < scan.size:
            self._cut_tail(scan)
        self._fd = self._open(self.path, os.O_WRONLY | os.O_APPEND, 0o644)
        self._size = scan.valid_end
        self._next_seq = scan.next_seq
        if next_seq > scan.next_seq:
            # Numbering behind the segments (every record here is sealed already):
            # start a fresh log so numbers never repeat.
            self.rotate(next_seq)
        return scan

    def _cut_tail(self, scan: WalScan) -> None:
        dropped = scan.size - scan.valid_end
        with open(self.path, "rb") as f:
            f.seek(scan.valid_end)
            tail = f.read()
        # A torn write leaves at most one partial record; more than that is damage.
        if len(tail) >= WAL_RECORD.size:
            length = WAL_RECORD.unpack_from(tail, 0)[0]
            if WAL_RECORD.size + length < len(tail):
                aside = f"{self.path}.tail-{scan.valid_end}-{time.time_ns()}"
                with open(aside, "wb") as f:
                    f.write(tail)
                log.error(
                    "WAL %s is damaged at byte %d (%s); kept the rest in %s",
                    self.path,
                    scan.valid_end,
                    scan.problem,
                    aside,
                )
        os.truncate(self.path, scan.valid_end)
        self.truncated_bytes += dropped
        log.warning(
            "WAL %s: cut %d bytes of torn tail at byte %d (%s)", self.path, dropped, scan.valid_end, scan.problem
        )

    def _create(self, base_seq: int) -> None:
        tmp = self.path + ".tmp"
        fd = self._open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, WAL_HEADER.pack(WAL_MAGIC, WAL_VERSION, 0, base_seq))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        fsync_dir(os.path.dirname(self.path) or ".")
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = self._open(self.path, os.O_WRONLY | os.O_APPEND, 0o644)
        self._size = WAL_HEADER.size
        self._next_seq = base_seq
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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
