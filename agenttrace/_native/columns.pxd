# Typed interface of columns.pyx (the column encodings of docs/format/segment.md).
from libc.stdint cimport int64_t, uint64_t

cdef Py_ssize_t put_uvarint(unsigned char* out, uint64_t u) noexcept nogil
cdef Py_ssize_t get_uvarint(const unsigned char* data, Py_ssize_t pos, Py_ssize_t end, uint64_t* result) noexcept nogil
