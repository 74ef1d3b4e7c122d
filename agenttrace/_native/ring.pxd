# Typed interface of ring.pyx (layout: docs/format/ring.md). recv.pyx cimports this
# to receive straight into ring memory with the GIL released.
from cpython.buffer cimport Py_buffer
from libc.stdint cimport uint32_t, uint64_t


cdef extern from "at_atomic.h":
    uint64_t at_load_acquire(uint64_t *p) noexcept nogil
    void at_store_release(uint64_t *p, uint64_t v) noexcept nogil
    uint64_t at_load_relaxed(uint64_t *p) noexcept nogil
    void at_store_relaxed(uint64_t *p, uint64_t v) noexcept nogil
    void at_bump(uint64_t *p, uint64_t n) noexcept nogil
    void at_bump_release(uint64_t *p, uint64_t n) noexcept nogil
    bint at_try_lock(uint64_t *p, uint64_t token) noexcept nogil
    void at_unlock(uint64_t *p) noexcept nogil
    int at_flag_load(int *p) noexcept nogil
    void at_flag_store(int *p, int v) noexcept nogil


cdef extern from "at_ring.h":
    enum:
        RING_HEADER_SIZE "AT_RING_HEADER_SIZE"
        H_CAPACITY "AT_H_CAPACITY"
        H_MAX_RECORD "AT_H_MAX_RECORD"
        H_HEAD "AT_H_HEAD"
        H_PUSHED "AT_H_PUSHED"
        H_DROPPED_FULL "AT_H_DROPPED_FULL"
        H_DROPPED_OVERSIZE "AT_H_DROPPED_OVERSIZE"
        H_BYTES_PUSHED "AT_H_BYTES_PUSHED"
        H_PRODUCER_LOCK "AT_H_PRODUCER_LOCK"
        H_TAIL "AT_H_TAIL"
        H_POPPED "AT_H_POPPED"
        H_BYTES_POPPED "AT_H_BYTES_POPPED"
    const uint32_t RING_WRAP "AT_RING_WRAP"


cdef extern from "<sched.h>":
    int sched_yield() noexcept nogil


cdef inline size_t ring_record_size(size_t length) noexcept nogil:
    return (length + 11) & ~(<size_t>7)


# The producer's view of one ring: plain C, so receive threads use it without the GIL.
cdef struct RingC:
    uint64_t *hdr
    char *data
    uint64_t capacity
    uint64_t max_record
    uint64_t tail_cache      # last tail seen by a producer (only ever behind the real one)
    uint64_t pending_wrap    # bytes the reserved region skips at the end of the area


# Only the holder of the producer claim may reserve/commit/push. ring_try_claim does
# not wait; ring_claim yields until it holds the claim (another receiver of this process
# holds it for one recvmmsg batch at most).
cdef inline bint ring_try_claim(RingC *r) noexcept nogil:
    return at_try_lock(&r.hdr[H_PRODUCER_LOCK], 1)


cdef inline void ring_claim(RingC *r) noexcept nogil:
    while not at_try_lock(&r.hdr[H_PRODUCER_LOCK], 1):
        sched_yield()


cdef inline void ring_release_claim(RingC *r) noexcept nogil:
    at_unlock(&r.hdr[H_PRODUCER_LOCK])


cdef inline uint64_t ring_free(RingC *r) noexcept nogil:
    """Free bytes right now (any thread; a hint for choosing a ring)."""
    cdef uint64_t tail = at_load_acquire(&r.hdr[H_TAIL])
    cdef uint64_t head = at_load_acquire(&r.hdr[H_HEAD])
    return r.capacity - (head - tail) if head - tail <= r.capacity else 0


cdef inline char *ring_reserve(RingC *r, size_t min_bytes, size_t want, size_t *got) noexcept nogil:
    """A contiguous writable region of at least min_bytes and at most want bytes
    (8-aligned) at the producer position, or at offset 0 when the end of the area is
    too short (ring_commit then writes the wrap marker); NULL when there is no room.
    The caller writes records (u32 length, payload, pad to 8) back to back from its start."""
    cdef uint64_t cap = r.capacity
    cdef uint64_t head = at_load_relaxed(&r.hdr[H_HEAD])
    cdef uint64_t off = head % cap
    cdef uint64_t to_end = cap - off
    cdef uint64_t free = cap - (head - r.tail_cache)
    cdef uint64_t avail
    cdef int attempt
    want &= ~(<size_t>7)
    if min_bytes < 8:
        min_bytes = 8
    for attempt in range(2):
        if attempt == 1:
            r.tail_cache = at_load_acquire(&r.hdr[H_TAIL])
            free = cap - (head - r.tail_cache)
        avail = to_end if to_end < free else free
        if avail >= min_bytes:
            r.pending_wrap = 0
            got[0] = want if want < avail else avail
            return r.data + off
        if free > to_end and free - to_end >= min_bytes:
            avail = free - to_end
            r.pending_wrap = to_end
            got[0] = want if want < avail else avail
            return r.data
    got[0] = 0
    return NULL


cdef inline void ring_commit(RingC *r, size_t used, uint64_t records, uint64_t payload_bytes) noexcept nogil:
    """Publish `used` bytes of records written into the last reserved region."""
    cdef uint64_t head = at_load_relaxed(&r.hdr[H_HEAD])
    if used == 0:
        r.pending_wrap = 0
        return
    if r.pending_wrap:
        (<uint32_t *>(r.data + head % r.capacity))[0] = RING_WRAP
        head += r.pending_wrap
        r.pending_wrap = 0
    at_store_release(&r.hdr[H_HEAD], head + used)
    at_bump(&r.hdr[H_PUSHED], records)
    at_bump(&r.hdr[H_BYTES_PUSHED], payload_bytes)


cdef inline void ring_count_dropped(RingC *r, uint64_t full, uint64_t oversize) noexcept nogil:
    if full:
        at_bump(&r.hdr[H_DROPPED_FULL], full)
    if oversize:
        at_bump(&r.hdr[H_DROPPED_OVERSIZE], oversize)


cdef class Ring:
    cdef RingC c
    cdef object _shm
    cdef Py_buffer _view
    cdef bint _has_view
    cdef bint _owner
    cdef public int pinned         # running receivers that hold raw pointers into the ring

    cdef bint push_ptr(self, const char *data, size_t n) noexcept nogil
    cdef int _check_open(self) except -1
