# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Single-producer/single-consumer byte ring in shared memory (compiled build).

Layout and memory ordering: ``docs/format/ring.md``. The twin ``ring_py.py`` reads
and writes the same bytes. Producer-side hot path for receive threads: the ``cdef``
``reserve``/``commit`` pair in ``ring.pxd``, usable without the GIL.
"""

from cpython.buffer cimport PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from agenttrace._native.ring_py import (
    DEFAULT_MAX_RECORD,
    HEADER_SIZE,
    MAGIC,
    MAX_RECORD_LIMIT,
    VERSION,
    WRAP,
    RingCorruptError,
    RingFormatError,
    Ring as _TwinRing,
    _attach_untracked,
    _check_sizes,
    _create_shm,
    unlink_shm,
    record_size,
)

from multiprocessing.shared_memory import SharedMemory

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

assert HEADER_SIZE == RING_HEADER_SIZE and WRAP == RING_WRAP


cdef class Ring:
    """One end (or both) of an SPSC ring. Build with :meth:`create` or :meth:`attach`.

    >>> ring = Ring.create(1 << 16)
    >>> ring.push(b"hello"), ring.pop()
    (True, b'hello')
    >>> ring.close(); ring.unlink()
    """

    def __cinit__(self):
        self._has_view = False
        self.pinned = 0

    def __init__(self, shm, *, owner):
        # Validate with the twin's checks (one place that knows the header rules),
        # then keep raw pointers for the compiled paths.
        _TwinRing(shm, owner=owner)._release_views()
        self._shm = shm
        self._owner = owner
        PyObject_GetBuffer(shm.buf, &self._view, PyBUF_WRITABLE)
        self._has_view = True
        self.c.hdr = <uint64_t *>self._view.buf
        self.c.data = <char *>self._view.buf + RING_HEADER_SIZE
        self.c.capacity = self.c.hdr[H_CAPACITY]
        self.c.max_record = self.c.hdr[H_MAX_RECORD]
        self.c.tail_cache = at_load_acquire(&self.c.hdr[H_TAIL])
        self.c.pending_wrap = 0

    def __dealloc__(self):
        if self._has_view:
            PyBuffer_Release(&self._view)
            self._has_view = False

    @classmethod
    def create(cls, capacity, *, name=None, max_record=DEFAULT_MAX_RECORD, persistent=False):
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
    def attach(cls, name):
        """Open the ring another process created, by its name."""
        shm = _attach_untracked(name)
        try:
            return cls(shm, owner=False)
        except BaseException:
            shm.close()
            raise

    @property
    def name(self):
        """The shared-memory name to pass to :meth:`attach`."""
        return self._shm.name

    @property
    def capacity(self):
        """Bytes in the data area."""
        return self.c.capacity

    @property
    def max_record(self):
        """Largest payload :meth:`push` accepts."""
        return self.c.max_record

    # --- producer -------------------------------------------------------------

    cdef bint push_ptr(self, const char *data, size_t n) noexcept nogil:
        # Caller holds the producer claim.
        cdef size_t need, got
        cdef char *rec
        if n > self.c.max_record:
            ring_count_dropped(&self.c, 0, 1)
            return False
        need = ring_record_size(n)
        rec = ring_reserve(&self.c, need, need, &got)
        if rec == NULL:
            ring_count_dropped(&self.c, 1, 0)
            return False
        memcpy(rec + 4, data, n)
        (<uint32_t *>rec)[0] = <uint32_t>n
        ring_commit(&self.c, need, 1, n)
        return True

    def push(self, data):
        """Append one record. Returns False, and counts it, when the ring is full or
        ``data`` is longer than ``max_record``. Never waits."""
        cdef Py_buffer view
        cdef bint ok
        self._check_open()
        if PyBytes_CheckExact(data):
            if not ring_try_claim(&self.c):
                with nogil:
                    ring_claim(&self.c)
            ok = self.push_ptr(PyBytes_AS_STRING(data), <size_t>PyBytes_GET_SIZE(data))
            ring_release_claim(&self.c)
            return ok
        PyObject_GetBuffer(data, &view, 0)
        try:
            with nogil:
                ring_claim(&self.c)
            ok = self.push_ptr(<const char *>view.buf, <size_t>view.len)
            ring_release_claim(&self.c)
        finally:
            PyBuffer_Release(&view)
        return ok

    # --- consumer -------------------------------------------------------------

    def pop(self):
        """Remove and return the oldest record, or None when the ring is empty."""
        got = self.pop_many(1)
        return got[0] if got else None

    def pop_many(self, Py_ssize_t max_items):
        """Remove and return up to ``max_items`` records, oldest first."""
        cdef list out = []
        cdef uint64_t cap = self.c.capacity
        cdef uint64_t tail, head, t, off, nbytes = 0
        cdef uint32_t n
        cdef Py_ssize_t count = 0
        self._check_open()
        if max_items <= 0:
            return out
        tail = at_load_relaxed(&self.c.hdr[H_TAIL])
        head = at_load_acquire(&self.c.hdr[H_HEAD])
        t = tail
        while t != head and count < max_items:
            off = t % cap
            n = (<uint32_t *>(self.c.data + off))[0]
            if n == RING_WRAP:
                t += cap - off
                continue
            if n > self.c.max_record or off + 4 + n > cap:
                raise RingCorruptError(f"record length {n} is impossible here", offset=off)
            out.append(PyBytes_FromStringAndSize(self.c.data + off + 4, n))
            count += 1
            nbytes += n
            t += ring_record_size(n)
        if t != tail:
            at_store_release(&self.c.hdr[H_TAIL], t)
            at_bump(&self.c.hdr[H_POPPED], <uint64_t>count)
            at_bump(&self.c.hdr[H_BYTES_POPPED], nbytes)
        return out

    def skip_to_head(self):
        """Consumer: give up the records between tail and head (after
        :class:`RingCorruptError`: they cannot be framed). Returns the bytes skipped."""
        self._check_open()
        cdef uint64_t tail = at_load_relaxed(&self.c.hdr[H_TAIL])
        cdef uint64_t head = at_load_acquire(&self.c.hdr[H_HEAD])
        at_store_release(&self.c.hdr[H_TAIL], head)
        return head - tail

    # --- after a crash ----------------------------------------------------------

    def release_dead_producer(self):
        """Free the producer claim that a killed producer may still hold. Call only
        when no producer of this ring can be running (at start, before any receiver).
        Returns True when a claim was held."""
        self._check_open()
        cdef bint held = at_load_acquire(&self.c.hdr[H_PRODUCER_LOCK]) != 0
        at_store_release(&self.c.hdr[H_PRODUCER_LOCK], 0)
        return held

    def waiting(self):
        """Records pushed and not yet popped (from the shared counters)."""
        self._check_open()
        return at_load_relaxed(&self.c.hdr[H_PUSHED]) - at_load_relaxed(&self.c.hdr[H_POPPED])

    # --- anyone ---------------------------------------------------------------

    def fill(self):
        """Fraction of the data area in use, 0.0 .. 1.0 (from any process)."""
        self._check_open()
        cdef uint64_t tail = at_load_acquire(&self.c.hdr[H_TAIL])
        cdef uint64_t head = at_load_acquire(&self.c.hdr[H_HEAD])
        cdef uint64_t used = head - tail if head > tail else 0
        if used > self.c.capacity:
            used = self.c.capacity
        return <double>used / <double>self.c.capacity

    def stats(self):
        """The ring's shared counters (the same numbers in every process)."""
        self._check_open()
        cdef uint64_t *h = self.c.hdr
        return {
            "pushed": at_load_relaxed(&h[H_PUSHED]),
            "popped": at_load_relaxed(&h[H_POPPED]),
            "dropped_full": at_load_relaxed(&h[H_DROPPED_FULL]),
            "dropped_oversize": at_load_relaxed(&h[H_DROPPED_OVERSIZE]),
            "bytes_pushed": at_load_relaxed(&h[H_BYTES_PUSHED]),
            "bytes_popped": at_load_relaxed(&h[H_BYTES_POPPED]),
        }

    cdef int _check_open(self) except -1:
        if not self._has_view:
            raise ValueError("ring is closed")
        return 0

    def close(self):
        """Unmap this process's view. The ring lives on until :meth:`unlink`."""
        if not self._has_view:
            return
        if self.pinned:
            raise RuntimeError(f"ring {self.name!r} is in use by a running receiver; stop it first")
        PyBuffer_Release(&self._view)
        self._has_view = False
        self.c.hdr = NULL
        self.c.data = NULL
        self._shm.close()

    def unlink(self):
        """Remove the shared-memory name (normally done by the creator)."""
        unlink_shm(self._shm, owner=self._owner)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<Ring {self.name!r} capacity={self.c.capacity} max_record={self.c.max_record} compiled>"
