"""Pure-Python twin of ``ring.pyx``: a single-producer/single-consumer byte ring in
shared memory. Same layout (``docs/format/ring.md``), so a compiled producer and a
twin consumer (or the reverse) work on one ring.

Layout, restated from the format page::

    0    magic "ATRING\\0\\0" | version u32 | header_size u32 | capacity u64 | max_record u64
    64   head u64                                  producer, store-release
    128  pushed | dropped_full | dropped_oversize | bytes_pushed      producer
    192  tail u64 | popped | bytes_popped           consumer, store-release
    256  data area: records [len u32 | payload | pad to 8]; len 0xFFFFFFFF = wrap

Example::

    >>> ring = Ring.create(1 << 16)
    >>> ring.push(b"hello")
    True
    >>> ring.pop()
    b'hello'
    >>> ring.close(); ring.unlink()

Hazard (see the format page): the twin has no atomics. Header words are read and
written through a ``memoryview`` cast to ``"Q"``, which CPython does with one
aligned 8-byte copy (never torn); x86-64 keeps stores, and loads, in program order,
which is all the release/acquire pairs need. On weakly ordered CPUs a private lock
is released and re-acquired between the payload and the index (:func:`_Fence`).
"""

from __future__ import annotations

import platform
import threading
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

from agenttrace.errors import AgentTraceError

__all__ = [
    "DEFAULT_MAX_RECORD",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_RECORD_LIMIT",
    "VERSION",
    "WRAP",
    "Ring",
    "RingCorruptError",
    "RingFormatError",
    "record_size",
]

MAGIC = b"ATRING\x00\x00"
VERSION = 1
HEADER_SIZE = 256
DEFAULT_MAX_RECORD = 16 * 1024
MAX_RECORD_LIMIT = 65_507  # the largest UDP payload
WRAP = 0xFFFFFFFF

# Word indexes of the header seen as u64 (byte offset // 8).
_CAPACITY, _MAX_RECORD = 2, 3
_HEAD = 8
_PUSHED, _DROPPED_FULL, _DROPPED_OVERSIZE, _BYTES_PUSHED, _PRODUCER_LOCK = 16, 17, 18, 19, 20
_TAIL, _POPPED, _BYTES_POPPED = 24, 25, 26

# x86-64 is TSO: plain loads and stores already have the ordering we need.
_WEAK_ORDERING = platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686")

_attach_lock = threading.Lock()
# The twin cannot compare-and-swap the shared claim word, so its producers in one
# process take a lock per ring name instead (receivers all live in one process).
_producer_locks: dict[str, threading.Lock] = {}


def _producer_lock(name: str) -> threading.Lock:
    with _attach_lock:
        return _producer_locks.setdefault(name, threading.Lock())


class RingFormatError(AgentTraceError, ValueError):
    """A shared-memory block is not a ring this code can read (magic, version, sizes)."""


class RingCorruptError(AgentTraceError, ValueError):
    """A record header inside the ring makes no sense; ``offset`` is its data-area offset."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"{message} (data offset {offset})")
        self.offset = offset


def record_size(length: int) -> int:
    """Bytes a payload of ``length`` bytes occupies in the ring (u32 length, padded to 8)."""
    return (length + 11) & ~7


class _Fence:
    """A full fence from pure Python on weakly ordered CPUs: releasing a held lock is a
    store-release, re-acquiring it a load-acquire, and the acquire is not reordered
    before the release. One per side, because a lock must not be shared by the
    producer's and the consumer's threads."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def __call__(self) -> None:
        self._lock.release()
        self._lock.acquire()


def _attach_untracked(name: str) -> SharedMemory:
    # Python 3.11's SharedMemory registers every attach with the resource tracker,
    # which then unlinks the block when the *attaching* process exits, under the
    # creator's feet. Only the creator should own the name.
    with _attach_lock:
        register = resource_tracker.register
        resource_tracker.register = lambda name, rtype: None
        try:
            return SharedMemory(name=name)
        finally:
            resource_tracker.register = register


def _create_shm(name: str | None, size: int, *, persistent: bool) -> SharedMemory:
    """Create the block. A *persistent* one is not registered with the resource
    tracker, so it outlives a crashed creator (the next collector on the same data
    directory drains it, then unlinks it); see the format page, "Crash"."""
    if not persistent:
        return SharedMemory(name=name, create=True, size=size)
    with _attach_lock:
        register = resource_tracker.register
        resource_tracker.register = lambda name, rtype: None
        try:
            shm = SharedMemory(name=name, create=True, size=size)
        finally:
            resource_tracker.register = register
    shm._agenttrace_untracked = True  # type: ignore[attr-defined]
    return shm


def unlink_shm(shm: SharedMemory, *, owner: bool) -> None:
    """Remove the block's name; only a tracked creator goes through the tracker."""
    if owner and not getattr(shm, "_agenttrace_untracked", False):
        shm.unlink()
        return
    from multiprocessing.shared_memory import _posixshmem  # type: ignore[attr-defined]

    _posixshmem.shm_unlink(shm._name)


def _check_sizes(capacity: int, max_record: int) -> None:
    if not 0 <= max_record <= MAX_RECORD_LIMIT:
        raise ValueError(f"max_record must be within 0..{MAX_RECORD_LIMIT}, got {max_record}")
    if capacity <= 0 or capacity % 8:
        raise ValueError(f"capacity must be a positive multiple of 8 bytes, got {capacity}")
    if capacity < 2 * record_size(max_record):
        raise ValueError(
            f"capacity {capacity} is smaller than two records of max_record {max_record} "
            f"({2 * record_size(max_record)} bytes)"
        )


class Ring:
    """One end (or both) of an SPSC ring. Build with :meth:`create` or :meth:`attach`."""

    def __init__(self, shm: SharedMemory, *, owner: bool) -> None:
        self._shm = shm
        self._owner = owner
        buf = shm.buf
        head = buf[:HEADER_SIZE]
        if len(buf) < HEADER_SIZE or bytes(head[:8]) != MAGIC:
            head.release()
            raise RingFormatError(f"shared memory {shm.name!r} is not an AgentTrace ring (bad magic)")
        q = head.cast("Q")
        i = head[8:16].cast("I")
        version, header_size = i[0], i[1]
        i.release()
        capacity, max_record = q[_CAPACITY], q[_MAX_RECORD]
        if version != VERSION or header_size != HEADER_SIZE:
            q.release()
            head.release()
            raise RingFormatError(
                f"ring {shm.name!r} has version {version}, header {header_size} "
                f"(this reader knows version {VERSION}, header {HEADER_SIZE})"
            )
        try:
            _check_sizes(capacity, max_record)
            if HEADER_SIZE + capacity > len(buf):
                raise ValueError(f"capacity {capacity} runs past the {len(buf)}-byte block")
        except ValueError as exc:
            q.release()
            head.release()
            raise RingFormatError(f"ring {shm.name!r}: {exc}") from None
        self._head_view = head
        self._q = q
        self._data = buf[HEADER_SIZE : HEADER_SIZE + capacity]
        self._u32 = self._data.cast("I")
        self._cap = capacity
        self._max_record = max_record
        self._pfence = _Fence() if _WEAK_ORDERING else None
        self._cfence = _Fence() if _WEAK_ORDERING else None
        self._closed = False
        self._claim = _producer_lock(shm.name)
        self.pinned = 0  # running receivers that hold this ring

    @classmethod
    def create(
        cls, capacity: int, *, name: str | None = None, max_record: int = DEFAULT_MAX_RECORD, persistent: bool = False
    ) -> Ring:
        """Create a ring of ``capacity`` data bytes; this process owns (and should
        eventually :meth:`unlink`) the shared-memory name. A ``persistent`` ring is
        not unlinked by the resource tracker when its creator dies."""
        _check_sizes(capacity, max_record)
        shm = _create_shm(name, HEADER_SIZE + capacity, persistent=persistent)
        buf = shm.buf
        buf[:8] = MAGIC
        ints = buf[8:16].cast("I")
        ints[0], ints[1] = VERSION, HEADER_SIZE
        ints.release()
        q = buf[16:32].cast("Q")
        q[0], q[1] = capacity, max_record
        q.release()
        return cls(shm, owner=True)

    @classmethod
    def attach(cls, name: str) -> Ring:
        """Open the ring another process created, by its name."""
        shm = _attach_untracked(name)
        try:
            return cls(shm, owner=False)
        except BaseException:
            shm.close()
            raise

    @property
    def name(self) -> str:
        """The shared-memory name to pass to :meth:`attach`."""
        return self._shm.name

    @property
    def capacity(self) -> int:
        """Bytes in the data area."""
        return self._cap

    @property
    def max_record(self) -> int:
        """Largest payload :meth:`push` accepts."""
        return self._max_record

    # --- producer -------------------------------------------------------------

    def push(self, data: bytes | bytearray | memoryview) -> bool:
        """Append one record. Returns False, and counts it, when the ring is full or
        ``data`` is longer than ``max_record``. Never waits for the consumer."""
        with self._claim:
            return self._push(data)

    def _push(self, data: bytes | bytearray | memoryview) -> bool:
        if type(data) is not bytes:
            data = memoryview(data).cast("B")  # lengths in bytes, whatever the item format
        q = self._q
        n = len(data)
        if n > self._max_record:
            q[_DROPPED_OVERSIZE] += 1
            return False
        need = (n + 11) & ~7
        cap = self._cap
        head = q[_HEAD]
        tail = q[_TAIL]
        if self._pfence is not None:
            self._pfence()  # the tail load before reusing the bytes below it
        off = head % cap
        to_end = cap - off
        free = cap - (head - tail)
        if need <= to_end:
            if need > free:
                q[_DROPPED_FULL] += 1
                return False
            start, advance = off, need
        else:
            if to_end + need > free:
                q[_DROPPED_FULL] += 1
                return False
            self._u32[off >> 2] = WRAP
            start, advance = 0, to_end + need
        self._data[start + 4 : start + 4 + n] = data
        self._u32[start >> 2] = n
        if self._pfence is not None:
            self._pfence()  # payload before head
        q[_HEAD] = head + advance
        q[_PUSHED] += 1
        q[_BYTES_PUSHED] += n
        return True

    # --- consumer -------------------------------------------------------------

    def pop(self) -> bytes | None:
        """Remove and return the oldest record, or None when the ring is empty."""
        got = self.pop_many(1)
        return got[0] if got else None

    def pop_many(self, max_items: int) -> list[bytes]:
        """Remove and return up to ``max_items`` records, oldest first."""
        if max_items <= 0:
            return []
        q = self._q
        tail = q[_TAIL]
        head = q[_HEAD]
        if head == tail:
            return []
        if self._cfence is not None:
            self._cfence()  # head before the payload reads
        cap, data, u32, max_record = self._cap, self._data, self._u32, self._max_record
        out: list[bytes] = []
        t = tail
        nbytes = 0
        while t != head and len(out) < max_items:
            off = t % cap
            n = u32[off >> 2]
            if n == WRAP:
                t += cap - off
                continue
            if n > max_record or off + 4 + n > cap:
                raise RingCorruptError(f"record length {n} is impossible here", offset=off)
            out.append(bytes(data[off + 4 : off + 4 + n]))
            nbytes += n
            t += (n + 11) & ~7
        if self._cfence is not None:
            self._cfence()  # payload reads before the space is handed back
        q[_TAIL] = t
        q[_POPPED] += len(out)
        q[_BYTES_POPPED] += nbytes
        return out

    def skip_to_head(self) -> int:
        """Consumer: give up the records between tail and head (after
        :class:`RingCorruptError`: they cannot be framed). Returns the bytes skipped."""
        q = self._q
        tail, head = q[_TAIL], q[_HEAD]
        q[_TAIL] = head
        return head - tail

    # --- after a crash ----------------------------------------------------------

    def release_dead_producer(self) -> bool:
        """Free the producer claim that a killed producer may still hold. Call only
        when no producer of this ring can be running (at start, before any receiver).
        Returns True when a claim was held."""
        held = bool(self._q[_PRODUCER_LOCK])
        self._q[_PRODUCER_LOCK] = 0
        return held

    def waiting(self) -> int:
        """Records pushed and not yet popped (from the shared counters)."""
        q = self._q
        return q[_PUSHED] - q[_POPPED]

    # --- anyone ---------------------------------------------------------------

    def fill(self) -> float:
        """Fraction of the data area in use, 0.0 .. 1.0 (from any process)."""
        tail = self._q[_TAIL]
        head = self._q[_HEAD]
        return min(max(head - tail, 0), self._cap) / self._cap

    def stats(self) -> dict[str, int]:
        """The ring's shared counters (the same numbers in every process)."""
        q = self._q
        return {
            "pushed": q[_PUSHED],
            "popped": q[_POPPED],
            "dropped_full": q[_DROPPED_FULL],
            "dropped_oversize": q[_DROPPED_OVERSIZE],
            "bytes_pushed": q[_BYTES_PUSHED],
            "bytes_popped": q[_BYTES_POPPED],
        }

    def close(self) -> None:
        """Unmap this process's view. The ring lives on until :meth:`unlink`."""
        if self._closed:
            return
        if self.pinned:
            raise RuntimeError(f"ring {self.name!r} is in use by a running receiver; stop it first")
        self._closed = True
        self._release_views()
        self._shm.close()

    def __del__(self) -> None:
        # An unclosed ring must not leave exported views that stop SharedMemory's own
        # finalizer from unmapping.
        if not getattr(self, "_closed", True):
            self._release_views()

    def _release_views(self) -> None:
        for view in (self._u32, self._data, self._q, self._head_view):
            view.release()

    def unlink(self) -> None:
        """Remove the shared-memory name (normally done by the creator)."""
        unlink_shm(self._shm, owner=self._owner)

    def __enter__(self) -> Ring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Ring {self.name!r} capacity={self._cap} max_record={self._max_record} twin>"
