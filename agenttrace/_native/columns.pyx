# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Column encodings of the segment format, compiled (twin: ``columns_py.py``).

Same names, arguments, results and errors as the twin; the layouts are drawn in
``docs/format/segment.md``. The loops over varints run in C on a buffer sized for
the worst case (10 bytes a varint), so no Python object is made per value on encode.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.list cimport PyList_New, PyList_SET_ITEM
from libc.math cimport ceil, log
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memcmp, memcpy

__all__ = [
    "decode_bitmap",
    "decode_blobs",
    "decode_deltas",
    "decode_dict",
    "decode_fixed",
    "decode_varints",
    "dict_codes",
    "dict_encode",
    "dict_find",
    "encode_bitmap",
    "encode_blobs",
    "encode_deltas",
    "encode_dict",
    "encode_fixed",
    "bloom_set",
    "encode_varints",
    "rollup_groups",
    "transpose",
]


cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        const char* name
        int type
        Py_ssize_t offset
        int flags
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    PyTypeObject PyMemberDescr_Type


cdef extern from *:
    """
    static inline int at_add_overflow(int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); }
    static inline int at_sub_overflow(int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); }
    static int at_cmp_i64(const void* a, const void* b) {
        int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
        return (x > y) - (x < y);
    }
    """
    bint at_add_overflow(int64_t a, int64_t b, int64_t* r) noexcept nogil
    bint at_sub_overflow(int64_t a, int64_t b, int64_t* r) noexcept nogil
    int at_cmp_i64(const void* a, const void* b) noexcept nogil


cdef enum:
    T_OBJECT_EX = 16  # structmember.h: an object field that raises AttributeError when unset


cdef inline uint64_t zigzag(int64_t v) noexcept nogil:
    return (<uint64_t>v << 1) ^ <uint64_t>(v >> 63)


cdef inline int64_t unzigzag(uint64_t u) noexcept nogil:
    return <int64_t>((u >> 1) ^ (0 - (u & 1)))


cdef Py_ssize_t put_uvarint(unsigned char* out, uint64_t u) noexcept nogil:
    cdef Py_ssize_t n = 0
    while u >= 0x80:
        out[n] = <unsigned char>((u & 0x7F) | 0x80)
        u >>= 7
        n += 1
    out[n] = <unsigned char>u
    return n + 1


cdef Py_ssize_t get_uvarint(const unsigned char* data, Py_ssize_t pos, Py_ssize_t end, uint64_t* result) noexcept nogil:
    """New position, or -1 when the varint overruns ``end``, -2 when it is over 10 bytes."""
    cdef uint64_t r = 0
    cdef int shift = 0
    cdef unsigned char b
    while True:
        if pos >= end:
            return -1
        if shift >= 64:
            return -2
        b = data[pos]
        pos += 1
        r |= (<uint64_t>(b & 0x7F)) << shift
        if b < 0x80:
            result[0] = r
            return pos
        shift += 7


cdef inline object _varint_error(Py_ssize_t code, Py_ssize_t pos):
    if code == -1:
        return ValueError(f"varint runs past the end of the column at byte {pos}")
    return ValueError(f"varint longer than 10 bytes at byte {pos}")


cdef class _Buf:
    """A malloc'd output buffer that grows; freed with the object."""
    cdef unsigned char* data
    cdef Py_ssize_t size
    cdef Py_ssize_t cap

    def __cinit__(self, Py_ssize_t cap):
        self.cap = cap if cap > 16 else 16
        self.size = 0
        self.data = <unsigned char*>malloc(self.cap)
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.data)

    cdef int reserve(self, Py_ssize_t more) except -1:
        cdef Py_ssize_t cap = self.cap
        cdef unsigned char* grown
        if self.size + more <= cap:
            return 0
        while cap < self.size + more:
            cap *= 2
        grown = <unsigned char*>malloc(cap)
        if grown == NULL:
            raise MemoryError()
        memcpy(grown, self.data, self.size)
        free(self.data)
        self.data = grown
        self.cap = cap
        return 0

    cdef inline void put(self, uint64_t u) noexcept:
        # callers reserve 10 bytes first
        self.size += put_uvarint(self.data + self.size, u)

    cdef int write(self, const unsigned char* src, Py_ssize_t n) except -1:
        self.reserve(n)
        memcpy(self.data + self.size, src, n)
        self.size += n
        return 0

    cdef bytes tobytes(self):
        return PyBytes_FromStringAndSize(<char*>self.data, self.size)


def encode_varints(values) -> bytes:
    """Zigzag LEB128 varints of signed 64-bit ints, one after another."""
    cdef Py_ssize_t n = len(values)
    cdef _Buf buf = _Buf(n * 10)
    cdef int64_t v
    for item in values:
        v = item
        buf.put(zigzag(v))
    return buf.tobytes()


cdef list _pick(int64_t* vals, Py_ssize_t count, rows):
    cdef list out
    cdef Py_ssize_t i, r
    if rows is None:
        out = [None] * count
        for i in range(count):
            out[i] = vals[i]
        return out
    out = []
    for item in rows:
        r = item
        if r < 0 or r >= count:
            raise IndexError("list index out of range")
        out.append(vals[r])
    return out


cdef int64_t* _alloc_i64(Py_ssize_t count) except NULL:
    cdef int64_t* vals = <int64_t*>malloc(sizeof(int64_t) * (count if count > 0 else 1))
    if vals == NULL:
        raise MemoryError()
    return vals


def decode_varints(bytes data, Py_ssize_t count, Py_ssize_t offset=0, rows=None) -> list:
    """Read ``count`` zigzag varints starting at ``offset``; ``ValueError`` if they overrun.
    Keep only ``rows`` when given (only those become Python ints)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t end = len(data)
    cdef Py_ssize_t pos = offset
    cdef Py_ssize_t nxt
    cdef uint64_t u
    cdef Py_ssize_t i
    cdef int64_t* vals = _alloc_i64(count)
    try:
        for i in range(count):
            nxt = get_uvarint(p, pos, end, &u)
            if nxt < 0:
                raise _varint_error(nxt, pos)
            pos = nxt
            vals[i] = unzigzag(u)
        return _pick(vals, count, rows)
    finally:
        free(vals)


def encode_deltas(values) -> bytes:
    """Each value minus the one before (the first minus 0), as zigzag varints.

    Values must fit a signed 64-bit int; deltas wrap modulo 2**64, and
    :func:`decode_deltas` wraps them back, so any in-range sequence round-trips."""
    cdef Py_ssize_t n = len(values)
    cdef _Buf buf = _Buf(n * 10)
    cdef int64_t v
    cdef uint64_t prev = 0
    for item in values:
        v = item
        buf.put(zigzag(<int64_t>(<uint64_t>v - prev)))
        prev = <uint64_t>v
    return buf.tobytes()


def decode_deltas(bytes data, Py_ssize_t count, Py_ssize_t offset=0, rows=None) -> list:
    """Inverse of :func:`encode_deltas`; keep only ``rows`` when given."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t end = len(data)
    cdef Py_ssize_t pos = offset
    cdef Py_ssize_t nxt
    cdef uint64_t u
    cdef uint64_t prev = 0
    cdef Py_ssize_t i
    cdef int64_t* vals = _alloc_i64(count)
    try:
        for i in range(count):
            nxt = get_uvarint(p, pos, end, &u)
            if nxt < 0:
                raise _varint_error(nxt, pos)
            pos = nxt
            prev = prev + <uint64_t>unzigzag(u)
            vals[i] = <int64_t>prev
        return _pick(vals, count, rows)
    finally:
        free(vals)


def encode_blobs(values) -> bytes:
    """Each value as ``uvarint(len) + bytes``."""
    cdef _Buf buf = _Buf(len(values) * 16)
    cdef bytes b
    cdef Py_ssize_t m
    for item in values:
        b = item
        m = len(b)
        buf.reserve(10)
        buf.put(<uint64_t>m)
        buf.write(<const unsigned char*>PyBytes_AS_STRING(b), m)
    return buf.tobytes()


def decode_blobs(bytes data, Py_ssize_t count, Py_ssize_t offset=0, rows=None) -> list:
    """Read ``count`` length-prefixed blobs; keep only ``rows`` when given."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t end = len(data)
    cdef Py_ssize_t pos = offset
    cdef Py_ssize_t nxt, i, r
    cdef uint64_t m
    cdef bint keep_all = rows is None
    cdef list out = [None] * count if keep_all else []
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* lens = NULL
    if not keep_all:
        starts = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (count + 1))
        lens = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (count + 1))
        if starts == NULL or lens == NULL:
            free(starts)
            free(lens)
            raise MemoryError()
    try:
        for i in range(count):
            nxt = get_uvarint(p, pos, end, &m)
            if nxt < 0:
                raise _varint_error(nxt, pos)
            pos = nxt
            if m > <uint64_t>(end - pos):
                raise ValueError(f"blob of {m} bytes runs past the end of the column at byte {pos}")
            if keep_all:
                out[i] = PyBytes_FromStringAndSize(<const char*>(p + pos), <Py_ssize_t>m)
            else:
                starts[i] = pos
                lens[i] = <Py_ssize_t>m
            pos += <Py_ssize_t>m
        if keep_all:
            return out
        for item in rows:
            r = item
            if r < 0 or r >= count:
                raise IndexError("list index out of range")
            out.append(PyBytes_FromStringAndSize(<const char*>(p + starts[r]), lens[r]))
        return out
    finally:
        free(starts)
        free(lens)


def encode_fixed(values, Py_ssize_t width) -> bytes:
    """Values of exactly ``width`` bytes, concatenated; ``ValueError`` for another size."""
    cdef bytes b
    for item in values:
        b = item
        if len(b) != width:
            raise ValueError(f"value of {len(b)} bytes in a fixed-width column of {width}")
    return b"".join(values)


def decode_fixed(bytes data, Py_ssize_t count, Py_ssize_t width, Py_ssize_t offset=0, rows=None) -> list:
    """Split ``count`` values of ``width`` bytes; keep only ``rows`` when given."""
    cdef const char* p = PyBytes_AS_STRING(data)
    cdef Py_ssize_t i, r
    cdef list out
    if offset + count * width > len(data):
        raise ValueError(f"fixed-width column needs {count * width} bytes, has {len(data) - offset}")
    if rows is None:
        out = [None] * count
        for i in range(count):
            out[i] = PyBytes_FromStringAndSize(p + offset + i * width, width)
        return out
    out = []
    for item in rows:
        r = item
        if r < 0 or r >= count:
            raise IndexError("list index out of range")
        out.append(PyBytes_FromStringAndSize(p + offset + r * width, width))
    return out


def dict_encode(values) -> tuple:
    """Distinct values in first-seen order, and each row's index into them."""
    cdef dict index = {}
    cdef list codes = [None] * len(values)
    cdef Py_ssize_t i = 0
    for v in values:
        code = index.get(v)
        if code is None:
            code = len(index)
            index[v] = code
        codes[i] = code
        i += 1
    return list(index), codes


def encode_dict(distinct, codes) -> bytes:
    """``uvarint(n) + n blobs + one uvarint code per row``."""
    cdef _Buf buf = _Buf(len(codes) * 2 + 64)
    cdef bytes b
    cdef Py_ssize_t m
    cdef int64_t c
    buf.put(<uint64_t>len(distinct))
    for item in distinct:
        b = item
        m = len(b)
        buf.reserve(10)
        buf.put(<uint64_t>m)
        buf.write(<const unsigned char*>PyBytes_AS_STRING(b), m)
    buf.reserve(len(codes) * 10)
    for item in codes:
        c = item
        if c < 0:
            raise OverflowError("negative dictionary code")
        buf.put(<uint64_t>c)
    return buf.tobytes()


cdef Py_ssize_t _dict_header(const unsigned char* p, Py_ssize_t end, Py_ssize_t* n_out,
                             Py_ssize_t** starts, Py_ssize_t** lens) except -1:
    """Parse the dictionary part; return the position of the first code."""
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t nxt, i
    cdef uint64_t n, m
    nxt = get_uvarint(p, pos, end, &n)
    if nxt < 0:
        raise _varint_error(nxt, pos)
    pos = nxt
    if n > <uint64_t>(end - pos):
        raise ValueError(f"dictionary claims {n} values in {end - pos} bytes")
    starts[0] = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (n + 1))
    lens[0] = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (n + 1))
    if starts[0] == NULL or lens[0] == NULL:
        raise MemoryError()
    for i in range(<Py_ssize_t>n):
        nxt = get_uvarint(p, pos, end, &m)
        if nxt < 0:
            raise _varint_error(nxt, pos)
        pos = nxt
        if m > <uint64_t>(end - pos):
            raise ValueError(f"dictionary value runs past the end of the column at byte {pos}")
        starts[0][i] = pos
        lens[0][i] = <Py_ssize_t>m
        pos += <Py_ssize_t>m
    n_out[0] = <Py_ssize_t>n
    return pos


cdef int _dict_codes(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t count,
                     Py_ssize_t n, Py_ssize_t* codes) except -1:
    cdef Py_ssize_t nxt, i
    cdef uint64_t c
    for i in range(count):
        nxt = get_uvarint(p, pos, end, &c)
        if nxt < 0:
            raise _varint_error(nxt, pos)
        pos = nxt
        if c >= <uint64_t>n:
            raise ValueError(f"dictionary code {c} out of range ({n} values)")
        codes[i] = <Py_ssize_t>c
    return 0


def decode_dict(bytes data, Py_ssize_t count, rows=None) -> tuple:
    """Inverse of :func:`encode_dict`: ``(distinct, codes)``.

    With ``rows``, only those rows' codes are returned, and ``distinct`` holds only the
    values they use (codes renumbered to match), so a few rows of a large dictionary
    cost a few values."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t end = len(data)
    cdef Py_ssize_t n = 0
    cdef Py_ssize_t pos, i, r, c
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* lens = NULL
    cdef Py_ssize_t* codes = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (count + 1))
    cdef list distinct, out
    cdef dict remap
    if codes == NULL:
        raise MemoryError()
    try:
        pos = _dict_header(p, end, &n, &starts, &lens)
        _dict_codes(p, pos, end, count, n, codes)
        if rows is None:
            distinct = [None] * n
            for i in range(n):
                distinct[i] = PyBytes_FromStringAndSize(<const char*>(p + starts[i]), lens[i])
            out = [None] * count
            for i in range(count):
                out[i] = codes[i]
            return distinct, out
        remap = {}
        distinct = []
        out = []
        for item in rows:
            r = item
            if r < 0 or r >= count:
                raise IndexError("list index out of range")
            c = codes[r]
            k = remap.get(c)
            if k is None:
                k = len(distinct)
                remap[c] = k
                distinct.append(PyBytes_FromStringAndSize(<const char*>(p + starts[c]), lens[c]))
            out.append(k)
        return distinct, out
    finally:
        free(starts)
        free(lens)
        free(codes)


def dict_find(bytes data, Py_ssize_t count, value) -> list:
    """Rows of a ``dict`` column whose value is ``value`` (no value is materialised)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t end = len(data)
    cdef Py_ssize_t n = 0
    cdef Py_ssize_t pos, i
    cdef Py_ssize_t code = -1
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* lens = NULL
    cdef Py_ssize_t* codes = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (count + 1))
    cdef bytes v = bytes(value)
    cdef const char* vp = PyBytes_AS_STRING(v)
    cdef Py_ssize_t vlen = len(v)
    cdef list out = []
    if codes == NULL:
        raise MemoryError()
    try:
        pos = _dict_header(p, end, &n, &starts, &lens)
        _dict_codes(p, pos, end, count, n, codes)
        for i in range(n):
            if lens[i] == vlen and memcmp(p + starts[i], vp, vlen) == 0:
                code = i
                break
        if code < 0:
            return out
        for i in range(count):
            if codes[i] == code:
                out.append(i)
        return out
    finally:
        free(starts)
        free(lens)
        free(codes)


def encode_bitmap(values) -> bytes:
    """One bit per row, least significant bit first."""
    cdef Py_ssize_t n = len(values)
    cdef bytearray out = bytearray((n + 7) // 8)
    cdef unsigned char* p = out
    cdef Py_ssize_t i = 0
    for v in values:
        if v:
            p[i >> 3] |= <unsigned char>(1 << (i & 7))
        i += 1
    return bytes(out)


def decode_bitmap(bytes data, Py_ssize_t count, Py_ssize_t offset=0, rows=None) -> list:
    """Inverse of :func:`encode_bitmap`; keep only ``rows`` when given."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef list out
    cdef Py_ssize_t i, r
    if offset + (count + 7) // 8 > len(data):
        raise ValueError(f"bitmap of {count} rows needs {(count + 7) // 8} bytes, has {len(data) - offset}")
    if rows is None:
        out = [None] * count
        for i in range(count):
            out[i] = True if p[offset + (i >> 3)] & (1 << (i & 7)) else False
        return out
    out = []
    for item in rows:
        r = item
        if r < 0 or r >= count:
            raise IndexError("list index out of range")
        out.append(True if p[offset + (r >> 3)] & (1 << (r & 7)) else False)
    return out


# --- row objects to columns (the segment writer's split) ----------------------------


cdef Py_ssize_t _slot_offset(type cls, str name):
    """Byte offset of ``name``'s object slot in instances of ``cls``, or -1 when the
    attribute is not a plain slot (then it is read with getattr)."""
    for klass in cls.__mro__:
        d = klass.__dict__.get(name)
        if d is not None:
            if type(d) is <type>&PyMemberDescr_Type and (<PyMemberDescrObject*>d).d_member.type == T_OBJECT_EX:
                return (<PyMemberDescrObject*>d).d_member.offset
            return -1
    return -1


def transpose(objs, tuple names, default=None) -> list:
    """One list per name of ``getattr(obj, name)`` over ``objs`` (``default`` for a
    ``None`` object). The row objects of the writer are msgspec Structs, whose fields
    are slots: those are read straight from the object (one pass over the rows)."""
    cdef list rows = objs if type(objs) is list else list(objs)
    cdef Py_ssize_t n = len(rows)
    cdef Py_ssize_t k = len(names)
    cdef Py_ssize_t i, j, off
    cdef list out = [PyList_New(n) for _ in range(k)]
    cdef PyObject** cols = <PyObject**>malloc(sizeof(PyObject*) * (k + 1))
    cdef Py_ssize_t* offs = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (k + 1))
    cdef type cls = None
    cdef object obj, value
    cdef PyObject* slot
    cdef bint fast = False
    if cols == NULL or offs == NULL:
        free(cols)
        free(offs)
        raise MemoryError()
    try:
        for j in range(k):
            cols[j] = <PyObject*>out[j]
        for i in range(n):
            obj = rows[i]
            if obj is None:
                for j in range(k):
                    Py_INCREF(default)
                    PyList_SET_ITEM(<list>cols[j], i, default)
                continue
            if type(obj) is not cls:
                cls = type(obj)
                fast = True
                for j in range(k):
                    offs[j] = _slot_offset(cls, names[j])
            for j in range(k):
                off = offs[j]
                slot = (<PyObject**>((<char*><PyObject*>obj) + off))[0] if off >= 0 else NULL
                if slot != NULL:
                    value = <object>slot
                else:
                    value = getattr(obj, names[j])
                Py_INCREF(value)
                PyList_SET_ITEM(<list>cols[j], i, value)
        return out
    finally:
        free(cols)
        free(offs)


# --- rollup of columns ---------------------------------------------------------------


cdef inline int64_t _int_or_zero(object v) except? -1:
    return 0 if v is None else <int64_t>v


cdef enum:
    _COUNT = 0
    _ERRORS = 1
    _TOK = 2  # five token sums from here
    _DUR = 7
    _ZERO = 8
    _MIN = 9
    _MAX = 10
    _NSUM = 11
    _BUCKET_BITS = 12  # sketch buckets of durations in [1, 2**63) ns lie in [0, 2206]


def rollup_groups(int64_t bucket_ns, double inv_log_gamma, list start_ns, list end_ns, list service, list kind,
                  list model, list status, list tokens, list cost_usd, dict rows_before) -> dict:
    """Sums of each rollup group over column lists (see ``columns_py.rollup_groups``).

    Sums are 64-bit; a value or sum beyond that raises ``OverflowError`` and the caller
    uses the twin, which has unbounded ints (so results never differ)."""
    cdef Py_ssize_t n = len(start_ns)
    cdef Py_ssize_t i, g, t, ngroups = 0
    cdef int64_t s, e, d, b, r, st, v
    cdef double c, idx
    cdef dict index = {}
    cdef list keys = []
    cdef object key, gi, cur, row_before, tok_col
    cdef int64_t* acc
    cdef int64_t* pairs
    cdef Py_ssize_t npairs = 0, j
    cdef int64_t p, bucket, prev, run
    cdef list deltas, counts
    cdef double* cost
    cdef list tok_cols = list(tokens)
    if bucket_ns <= 0:
        raise ValueError("bucket_ns must be positive")
    if len(tok_cols) != 5:
        raise ValueError("tokens must hold five columns")
    for col in (end_ns, service, kind, model, status, cost_usd, *tok_cols):
        if len(col) != n:
            raise ValueError("columns of different lengths")
    acc = <int64_t*>malloc(sizeof(int64_t) * _NSUM * (n + 1))
    cost = <double*>malloc(sizeof(double) * (n + 1))
    pairs = <int64_t*>malloc(sizeof(int64_t) * (n + 1))  # (group << 12) | bucket, one per duration > 0
    if acc == NULL or cost == NULL or pairs == NULL:
        free(acc)
        free(cost)
        free(pairs)
        raise MemoryError()
    try:
        for i in range(n):
            s = start_ns[i]
            e = end_ns[i]
            r = s % bucket_ns
            if r < 0:
                r += bucket_ns  # floor, as Python's % (a start before 1970)
            b = s - r
            st = status[i]
            key = (b, service[i], kind[i], model[i], st)
            gi = index.get(key)
            if gi is None:
                g = ngroups
                ngroups += 1
                index[key] = g
                keys.append(key)
                for t in range(_NSUM):
                    acc[g * _NSUM + t] = 0
                row_before = rows_before.get(key)
                cost[g] = 0.0 if row_before is None else <double>row_before.cost_usd
            else:
                g = gi
            acc[g * _NSUM + _COUNT] += 1
            if st == 2:
                acc[g * _NSUM + _ERRORS] += 1
            for t in range(5):
                v = _int_or_zero((<list>tok_cols[t])[i])
                if at_add_overflow(acc[g * _NSUM + _TOK + t], v, &acc[g * _NSUM + _TOK + t]):
                    raise OverflowError("token sum beyond 64 bits")
            cur = cost_usd[i]
            if cur is not None and cur:
                cost[g] += <double>cur
            if at_sub_overflow(e, s, &d) or at_add_overflow(acc[g * _NSUM + _DUR], d, &acc[g * _NSUM + _DUR]):
                raise OverflowError("duration sum beyond 64 bits")
            if d < 0:
                d = 0
            if acc[g * _NSUM + _COUNT] == 1:
                acc[g * _NSUM + _MIN] = d
                acc[g * _NSUM + _MAX] = d
            elif d < acc[g * _NSUM + _MIN]:
                acc[g * _NSUM + _MIN] = d
            elif d > acc[g * _NSUM + _MAX]:
                acc[g * _NSUM + _MAX] = d
            if d == 0:
                acc[g * _NSUM + _ZERO] += 1
                continue
            # The sketch's bucket: ceil(log(d) / log(GAMMA)), as LatencySketch.add computes it.
            idx = ceil(log(<double>d) * inv_log_gamma)
            if not 0 <= idx < (1 << _BUCKET_BITS):
                raise OverflowError("sketch bucket out of range")
            pairs[npairs] = ((<int64_t>g) << _BUCKET_BITS) | <int64_t>idx
            npairs += 1
        # Sorted (group, bucket) pairs: each group's buckets come out ascending, which is
        # the sketch's wire form (key deltas and counts) with no dict in between.
        qsort(pairs, npairs, sizeof(int64_t), at_cmp_i64)
        out = {}
        j = 0
        for g in range(ngroups):
            deltas = []
            counts = []
            prev = 0
            while j < npairs and (pairs[j] >> _BUCKET_BITS) == g:
                p = pairs[j]
                run = 0
                while j < npairs and pairs[j] == p:
                    run += 1
                    j += 1
                bucket = p & ((1 << _BUCKET_BITS) - 1)
                deltas.append(bucket - prev)
                counts.append(run)
                prev = bucket
            sums = [acc[g * _NSUM + t] for t in range(_NSUM)]
            out[keys[g]] = [
                sums[_COUNT], sums[_ERRORS], *sums[_TOK:_TOK + 5], cost[g], sums[_DUR],
                sums[_ZERO], sums[_MIN], sums[_MAX], deltas, counts,
            ]
        return out
    finally:
        free(acc)
        free(cost)
        free(pairs)


def bloom_set(bytearray bits, hashes, Py_ssize_t k) -> None:
    """Set the ``k`` probe bits of each 64-bit hash in ``bits`` (see ``columns_py.bloom_set``)."""
    cdef uint64_t m = <uint64_t>len(bits) * 8
    cdef unsigned char* p = bits
    cdef uint64_t h, h1, h2, bit
    cdef Py_ssize_t i
    if m == 0:
        return
    for item in hashes:
        h = item
        h1 = h & 0xFFFFFFFF
        h2 = (h >> 32) | 1
        for i in range(k):
            bit = (h1 + <uint64_t>i * h2) % m
            p[bit >> 3] |= <unsigned char>(1 << (bit & 7))


def dict_codes(values) -> tuple:
    """``dict_encode`` with the codes written as the uvarints of ``encode_dict``: the
    dictionary column is ``encode_dict(distinct, []) + codes`` (no list of codes made)."""
    cdef dict index = {}
    cdef list distinct = []
    cdef Py_ssize_t n = len(values)
    cdef _Buf buf = _Buf(n * 2 + 16)
    cdef Py_ssize_t code
    cdef object hit
    for v in values:
        hit = index.get(v)
        if hit is None:
            code = len(distinct)
            index[v] = code
            distinct.append(v)
        else:
            code = hit
        buf.reserve(10)
        buf.put(<uint64_t>code)
    return distinct, buf.tobytes()
