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
        H_TAIL "AT_H_TAIL"
        H_POPPED "AT_H_POPPED"
        H_BYTES_POPPED "AT_H_BYTES_POPPED"
    const uint32_t RING_WRAP "AT_RING_WRAP"


cdef inline size_t ring_record_size(size_t length) noexcept nogil:
    return (length + 11) & ~(<size_t>7)


cdef class Ring:
    cdef object _shm
    cdef Py_buffer _view
    cdef bint _has_view
    cdef bint _owner
    cdef uint64_t *_hdr
    cdef char *_data
    cdef readonly uint64_t capacity
    cdef readonly uint64_t max_record
    cdef uint64_t _tail_cache      # producer's last seen tail (only ever behind the real one)
    cdef uint64_t _pending_wrap    # bytes a reserved region skips at the end of the area
    cdef public int pinned         # running receivers that hold raw pointers into the ring

    # Producer side, GIL not needed. reserve() hands out a contiguous writable region of
    # at least min_bytes and at most want bytes (8-aligned), or NULL when the ring has less
    # room; the caller writes well-formed records (u32 length + payload, padded to 8) at
    # its start, then commit() publishes `used` bytes of them with one store-release.
    cdef char *reserve(self, size_t min_bytes, size_t want, size_t *got) noexcept nogil
    cdef void commit(self, size_t used, uint64_t records, uint64_t payload_bytes) noexcept nogil
    cdef void count_dropped(self, uint64_t full, uint64_t oversize) noexcept nogil
    cdef uint64_t free_bytes(self) noexcept nogil
    cdef bint push_ptr(self, const char *data, size_t n) noexcept nogil
    cdef int _check_open(self) except -1
