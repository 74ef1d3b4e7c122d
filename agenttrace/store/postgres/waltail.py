"""Follow one worker's WAL from a durable cursor, across rotations.

The worker's WAL is rotated (replaced by an empty log) once its records are sealed.
With a sink behind it, :class:`~agenttrace.store.wal.Wal` (``keep_rotated=True``) first
hard-links the old log to ``worker-N.wal.<base_seq:020d>.kept``; the sink reads the
kept logs in order, then the live one, and deletes a kept log once its cursor has
passed the log's last record. So a record leaves the disk only after PostgreSQL has
committed it; what lies past the cursor is the backlog.

The cursor (``worker-N.pg-cursor``) is the number of the next record to send, written
after each commit (tmp + rename, fsynced before a kept log is deleted). A crash between
a commit and the cursor write re-sends records; the inserts are idempotent.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
from typing import BinaryIO

# The WAL's own record checks (private to the store, shared with its one other reader).
from agenttrace.store.wal import MAX_RECORD, WAL_HEADER, WAL_RECORD, WAL_RECORD_V1, _check, _resync

__all__ = ["WalTail", "kept_logs", "worker_wals"]

_KEPT_RE = re.compile(r"\.(\d{20})\.kept$")
_WORKER_RE = re.compile(r"^worker-(\d+)\.wal$")


def kept_logs(wal_path: str) -> list[tuple[int, str]]:
    """``(base_seq, path)`` of the rotated logs kept for the sink, oldest first."""
    out = []
    for p in glob.glob(glob.escape(wal_path) + ".*.kept"):
        m = _KEPT_RE.search(p)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)


def worker_wals(wal_dir: str) -> dict[int, str]:
    """``{worker: path}`` of the live WAL files in ``wal_dir``."""
    out = {}
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(wal_dir):
            m = _WORKER_RE.match(name)
            if m:
                out[int(m.group(1))] = os.path.join(wal_dir, name)
    return out


def _header(f: BinaryIO) -> tuple[int, int] | None:
    """``(base_seq, version)`` of an open WAL file, None if its header is incomplete."""
    f.seek(0)
    head = f.read(WAL_HEADER.size)
    if len(head) < WAL_HEADER.size:
        return None
    _magic, version, _flags, base = WAL_HEADER.unpack(head)
    return base, version


def _base_seq(f: BinaryIO) -> int | None:
    h = _header(f)
    return h[0] if h else None


class WalTail:
    """Reads the records of one worker's WAL from its cursor on (see the module docstring).

    :meth:`read` hands out each record once per process; the caller keeps a batch it
    could not write and retries it, then :meth:`commit` moves the durable cursor."""

    def __init__(self, wal_path: str) -> None:
        self.wal_path = wal_path
        self.cursor_path = wal_path[: -len(".wal")] + ".pg-cursor"
        self.cursor = self._load_cursor()  # next record number to send (-1: from the oldest on disk)
        self.skipped_records = 0  # records the cursor wanted that are no longer on disk
        self._f: BinaryIO | None = None
        self._ino = -1
        self._pos = 0
        self._next = -1  # number of the record at _pos
        self._version = 2

    def _load_cursor(self) -> int:
        try:
            with open(self.cursor_path) as f:
                return int(f.read().strip() or -1)
        except (FileNotFoundError, ValueError):
            return -1

    @property
    def position(self) -> int:
        """The number of the next record :meth:`read` returns."""
        return self._next if self._f is not None else self.cursor

    def commit(self, next_seq: int) -> None:
        """Everything before ``next_seq`` is committed in PostgreSQL: move the cursor, and
        delete the kept logs it has passed (after making the cursor durable)."""
        self.cursor = next_seq
        tmp = self.cursor_path + ".tmp"
        kept = kept_logs(self.wal_path)
        live = self._live_base()
        bases = [b for b, _ in kept] + ([live] if live is not None else [])
        passed = [path for i, (_b, path) in enumerate(kept) if bases[i + 1 : i + 2] and bases[i + 1] <= next_seq]
        with open(tmp, "w") as f:
            f.write(str(next_seq))
            if passed:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.cursor_path)
        for path in passed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _live_base(self) -> int | None:
        try:
            with open(self.wal_path, "rb") as f:
                return _base_seq(f)
        except FileNotFoundError:
            return None

    def _open_at(self, want: int) -> bool:
        """Open the log holding record ``want`` (-1: the oldest log) and skip to it."""
        files = kept_logs(self.wal_path)
        live = self._live_base()
        if live is not None:
            files.append((live, self.wal_path))
        if not files:
            return False
        chosen = files[0]
        if want >= 0:
            for base, path in files:
                if base <= want:
                    chosen = (base, path)
            if chosen[0] > want:  # gone from disk (deleted by hand): say so, go on
                self.skipped_records += chosen[0] - want
        self._close()
        try:
            self._f = open(chosen[1], "rb")  # noqa: SIM115 (kept open across reads)
        except FileNotFoundError:
            return False
        self._ino = os.fstat(self._f.fileno()).st_ino
        self._pos = WAL_HEADER.size
        self._next = chosen[0]
        h = _header(self._f)
        self._version = h[1] if h else 2
        while want > self._next:
            if not self._records(1 << 20, limit=want - self._next):
                break
        return True

    def _close(self) -> None:
        if self._f is not None:
            self._f.close()
        self._f = None
        self._ino = -1

    def read(self, max_bytes: int = 4 << 20) -> tuple[int, list[bytes]]:
        """``(first_seq, payloads)`` of the next complete records (``payloads`` empty: none yet)."""
        if self._f is None and not self._open_at(self.cursor):
            return self.cursor, []
        for _ in range(4):
            first = self._next
            out = self._records(max_bytes)
            if out:
                return first, out
            if _ino(self.wal_path) == self._ino:
                return first, []  # the live log: more may come
            # Rotated away: it will not grow. Read what it still holds, then go on.
            out = self._records(max_bytes)
            if out:
                return first, out
            if not self._open_at(self._next):
                return self._next, []
        return self._next, []

    def _records(self, max_bytes: int, limit: int = 1 << 30) -> list[bytes]:
        """The next good records from ``_pos`` (the checks are the WAL's own). Stops at an
        incomplete record (being written: read again later); skips damage the writer
        left in the middle of a log (bad bytes followed by a good record)."""
        f = self._f
        assert f is not None
        rec = WAL_RECORD if self._version == 2 else WAL_RECORD_V1
        f.seek(self._pos)
        data = f.read(max_bytes)
        view = memoryview(data)
        out: list[bytes] = []
        pos = 0
        while len(out) < limit and pos < len(data):
            seq, end, why = _check(data, view, pos, self._version)
            if seq < 0:
                # Bad bytes followed by a good record: damage the writer left behind
                # (a write in progress is always last, so nothing good follows it).
                nxt = _resync(data, view, pos, self._next - 1, self._version)
                if nxt >= 0:
                    pos = nxt
                    continue
                if why.endswith("cut short") and not out and pos == 0 and len(data) == max_bytes:
                    length = rec.unpack_from(data, 0)[1 if self._version == 2 else 0] if len(data) >= rec.size else 0
                    if 0 < length <= MAX_RECORD and rec.size + length > len(data):
                        f.seek(self._pos)  # one record larger than a read: read it whole
                        data = f.read(rec.size + length)
                        view = memoryview(data)
                        if len(data) == rec.size + length:
                            continue
                break  # incomplete: being written, read again later
            if seq >= self._next:
                self.skipped_records += seq - self._next  # numbers lost to damage (the writer's too)
                out.append(bytes(view[pos + rec.size : end]))
                self._next = seq + 1
            pos = end
        self._pos += pos
        return out

    def backlog_bytes(self) -> int:
        """WAL bytes on disk past the cursor: the kept logs and the unsent part of the live one."""
        total = 0
        for _base, path in kept_logs(self.wal_path):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(path).st_size - WAL_HEADER.size
        try:
            live = os.stat(self.wal_path).st_size - WAL_HEADER.size
        except FileNotFoundError:
            live = 0
        if self._f is not None and self._ino == _ino(self.wal_path) and self._next == self.cursor:
            live -= self._pos - WAL_HEADER.size
        return max(0, total + live)

    def close(self) -> None:
        self._close()


def _ino(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return -1


def disk_backlog(data_dir: str | os.PathLike[str]) -> int | None:
    """WAL bytes past the PostgreSQL sink's cursors, read from the disk alone (for
    ``agenttrace status``); None when no sink ever ran on this data directory."""
    from agenttrace.store.layout import wal_dir

    total, seen = 0, False
    for path in worker_wals(str(wal_dir(data_dir))).values():
        tail = WalTail(path)
        if not os.path.exists(tail.cursor_path):
            continue
        seen = True
        for _base, kept in kept_logs(path):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(kept).st_size - WAL_HEADER.size
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
            h = _header(f)
            if h is None:
                continue
            base, version = h
            rec = WAL_RECORD if version == 2 else WAL_RECORD_V1
            size = os.fstat(f.fileno()).st_size
            pos, seq = WAL_HEADER.size, base
            while seq < tail.cursor and pos + rec.size <= size:  # skip the sent records by their headers
                f.seek(pos)
                fields = rec.unpack(f.read(rec.size))
                length, seq = (fields[1], fields[3]) if version == 2 else (fields[0], fields[2])
                pos += rec.size + length
                seq += 1
            total += max(0, size - pos)
    return total if seen else None
