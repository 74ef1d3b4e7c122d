# cython: boundscheck=False, wraparound=False, cdivision=True
"""A single-writer seqlock over a byte area: ``seq u64 · len u64 · bytes`` (8-aligned).

The writer (one process) publishes whole byte strings; readers (any process) copy the
latest one without a lock, and retry when a publish overlapped their copy. The memory
ordering, with C11 atomics (at_atomic.h), so it holds on ARM64 as on x86-64:

    writer                                   reader
    s = seq (relaxed)                        s1 = seq (acquire)      odd: retry
    seq = s + 1 (relaxed)                    n = len (relaxed)
    fence(release)   ─ odd seq before data   copy n bytes
    len = n; copy bytes                      fence(acquire)  ─ copy before re-read
    seq = s + 2 (release) ─ data before even s2 = seq (relaxed)     s1 != s2: retry

A reader that sees the same even ``seq`` before and after its copy saw no byte of a
later publish (Boehm, "Can Seqlocks Get Along With Programming Language Memory
Models?", 2012). The bytes themselves are copied with memcpy, as the Linux kernel's
seqlock readers do: a torn copy is possible and is exactly what the seq check rejects.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

HEADER = 16  # seq u64 · len u64
cdef Py_ssize_t _HEADER = 16


def publish(unsigned char[::1] area, const unsigned char[::1] data) -> None:
    """Write ``data`` into ``area`` under the seqlock (one writer only)."""
    cdef Py_ssize_t n = data.shape[0]
    if area.shape[0] < _HEADER or n > area.shape[0] - _HEADER:
        raise ValueError(f"{n} bytes do not fit a seqlock area of {area.shape[0]} bytes")
    cdef uint64_t *words = <uint64_t *> &area[0]
    cdef uint64_t seq = at_load_relaxed(&words[0])
    with nogil:
        at_store_relaxed(&words[0], seq + 1)  # odd: writing
        at_fence_release()  # readers see the odd seq before any byte below
        at_store_relaxed(&words[1], <uint64_t> n)
        if n:
            memcpy(&area[_HEADER], &data[0], n)
        at_store_release(&words[0], seq + 2)  # every byte above before the even seq


def read(const unsigned char[::1] area):
    """The bytes last published into ``area``, or None when a publish overlapped the
    copy (call again)."""
    if area.shape[0] < _HEADER:
        raise ValueError(f"a seqlock area holds at least {HEADER} bytes, got {area.shape[0]}")
    cdef const uint64_t *words = <const uint64_t *> &area[0]
    cdef uint64_t s1 = at_load_acquire(<uint64_t *> &words[0])
    if s1 & 1:
        return None
    cdef uint64_t n = at_load_relaxed(<uint64_t *> &words[1])
    if n > <uint64_t> (area.shape[0] - _HEADER):
        return None  # a length being written: the seq check would fail too
    cdef bytes out = PyBytes_FromStringAndSize(NULL, <Py_ssize_t> n)
    cdef char *dst = PyBytes_AS_STRING(out)
    with nogil:
        if n:
            memcpy(dst, &area[_HEADER], n)
        at_fence_acquire()  # the copy above completes before seq is read again
    if at_load_relaxed(<uint64_t *> &words[0]) != s1:
        return None
    return out
