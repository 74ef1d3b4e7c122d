"""Shared-memory names of one data directory, and what a crashed collector left behind.

A collector's rings and counter blocks are named after its data directory (a hash of
its real path) and the worker slot, and are not registered with Python's resource
tracker: when the collector is killed (``kill -9`` of the main process, of the
workers, of all of them) they stay in ``/dev/shm`` with whatever datagrams were in
them. The next collector on the same data directory finds them by name, hands each
ring to a worker, which stores its records through the normal path (WAL, then
segments), and removes the names on a clean stop. So a datagram that reached a ring
is stored even across a crash of everything, and a crash-and-restart leaves no
leftovers. Two collectors on one data directory are not supported (the data
directory lock keeps the second out).

    >>> ring_name("/var/lib/agenttrace", 0).startswith("agenttrace-")
    True
    >>> ring_name("/var/lib/agenttrace", 0) != ring_name("/srv/other", 0)
    True
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Leftovers", "block_name", "find_leftovers", "prefix", "ring_name", "wait_for_orphans"]

SHM_DIR = Path("/dev/shm")


def prefix(data_dir: str | os.PathLike[str]) -> str:
    """The name prefix of every shared-memory block of ``data_dir``'s collector."""
    digest = hashlib.sha256(os.fsencode(os.path.realpath(data_dir))).hexdigest()[:16]
    return f"agenttrace-{digest}-"


def ring_name(data_dir: str | os.PathLike[str], worker: int) -> str:
    return f"{prefix(data_dir)}ring-{worker}"


def block_name(data_dir: str | os.PathLike[str], worker: int) -> str:
    return f"{prefix(data_dir)}counters-{worker}"


@dataclass
class Leftovers:
    """Blocks of ``data_dir`` found in /dev/shm, by worker slot."""

    rings: dict[int, str] = field(default_factory=dict)
    blocks: dict[int, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rings or self.blocks)


def find_leftovers(data_dir: str | os.PathLike[str], shm_dir: Path = SHM_DIR) -> Leftovers:
    """What a previous collector on ``data_dir`` left in shared memory."""
    pattern = re.compile(re.escape(prefix(data_dir)) + r"(ring|counters)-(\d+)$")
    found = Leftovers()
    try:
        names = os.listdir(shm_dir)
    except OSError:
        return found
    for name in names:
        m = pattern.match(name)
        if m:
            (found.rings if m.group(1) == "ring" else found.blocks)[int(m.group(2))] = name
    return found


def _is_worker(pid: int) -> bool:
    """``pid`` runs and is a multiprocessing child (not an unrelated process that
    reused the number)."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"multiprocessing" in cmdline


def wait_for_orphans(pids: list[int], timeout: float) -> list[int]:
    """Wait until the workers ``pids`` of a dead collector have exited (a worker
    whose parent died empties its ring and exits on its own). Returns those still
    running after ``timeout``: their rings must not get a second consumer."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if _is_worker(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _is_worker(p)]
    return alive
