"""One collector per data directory: an exclusive ``flock`` on ``<data dir>/collector.lock``.

The collector takes the lock before it binds a socket or touches the store, and holds
it for its whole life; the file holds its pid so a second collector can say who runs.
The kernel drops a ``flock`` when its holder dies, even by ``kill -9``, so a crash
never leaves a stale lock behind; the file itself is never removed (removing a lock
file lets two processes each lock a different inode).

Worker processes write the WAL and segments too, and one whose main process was
killed keeps draining its ring for a moment. Each worker therefore holds a shared
POSIX record lock on the same file (:func:`hold_as_worker`; on Linux record locks and
``flock`` are independent), and :meth:`DataDirLock.acquire` waits for such workers
of a previous run to finish before it lets a new collector in.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> lock = DataDirLock.acquire(d)
    >>> try:
    ...     DataDirLock.acquire(d)
    ... except DataDirLockedError as exc:
    ...     exc.pid == os.getpid()
    True
    >>> lock.release()
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from agenttrace.errors import DataDirLockedError

__all__ = ["LOCK_NAME", "DataDirLock", "hold_as_worker"]

LOCK_NAME = "collector.lock"


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def _lock_holders(fd: int) -> list[int]:
    """The pids holding a record lock on ``fd``'s file, from /proc/locks (Linux), for the
    message that names them; empty where that cannot be read."""
    try:
        st = os.fstat(fd)
        wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        with open("/proc/locks") as f:
            fields = [line.split() for line in f]
    except OSError:
        return []
    # "1: POSIX ADVISORY READ 4242 08:01:1234 0 EOF" (a blocked waiter's line has "->")
    return sorted({int(x[4]) for x in fields if len(x) > 5 and x[5] == wanted and x[4].isdigit()} - {os.getpid()})


def _wait_for_old_workers(fd: int, data_dir: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if time.monotonic() >= deadline:
                raise DataDirLockedError(data_dir, None, orphans=_lock_holders(fd) or True) from None
            time.sleep(0.05)
            continue
        fcntl.lockf(fd, fcntl.LOCK_UN)  # only a test: this collector's own workers take it shared
        return


def hold_as_worker(data_dir: str | os.PathLike[str]) -> int:
    """Called by each worker process at its start: a shared record lock on the data
    directory's lock file, held (with the returned descriptor) until the process ends."""
    fd = os.open(Path(data_dir) / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fcntl.lockf(fd, fcntl.LOCK_SH)
    return fd


class DataDirLock:
    """A held lock; :meth:`release` (or process exit) lets the next collector in."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def acquire(cls, data_dir: str | os.PathLike[str], *, workers_wait_s: float = 10.0) -> DataDirLock:
        """Lock ``data_dir`` (which must exist) or raise :class:`DataDirLockedError`
        naming the directory and the pid that holds it. Workers of a previous collector
        that still run are waited for, up to ``workers_wait_s``."""
        path = Path(data_dir) / LOCK_NAME
        # O_CLOEXEC (Python's default): workers must not inherit, and so keep, the lock.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise DataDirLockedError(str(Path(data_dir)), pid) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            _wait_for_old_workers(fd, str(Path(data_dir)), workers_wait_s)
        except BaseException:
            os.close(fd)
            raise
        # Only the holder writes the file, and only after it holds the lock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = -1
