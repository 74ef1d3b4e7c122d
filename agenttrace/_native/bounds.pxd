from cpython.object cimport PyObject

cdef bint _in_range(PyObject* s, long long max_t) noexcept
