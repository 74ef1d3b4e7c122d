# Typed interface of seqlock.pyx: a single-writer seqlock over a byte area in shared memory.
from libc.stdint cimport uint64_t


cdef extern from "at_atomic.h":
    uint64_t at_load_acquire(uint64_t *p) noexcept nogil
    void at_store_release(uint64_t *p, uint64_t v) noexcept nogil
    uint64_t at_load_relaxed(uint64_t *p) noexcept nogil
    void at_store_relaxed(uint64_t *p, uint64_t v) noexcept nogil
    void at_fence_release() noexcept nogil
    void at_fence_acquire() noexcept nogil
