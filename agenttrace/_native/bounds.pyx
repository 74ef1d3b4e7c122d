# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled twin of :func:`agenttrace.bounds.sanitize_batch` (twin: ``bounds_py.py``).

Same contract: every span of a decoded batch brought into its documented range, in
place; rejected spans removed; returns a :class:`~agenttrace.bounds.Fixes` or None.
Only the per-span range test is compiled; a span that fails it goes through the same
Python slow path as the twin, so both builds clamp and count alike.

Why it reads fields by offset: msgspec stores a Struct's fields as object slots, each
published as a ``member_descriptor`` that knows its byte offset in the instance. Going
through ``getattr`` costs ~20 ns a field, which was most of the guard's cost; reading
the slot at the offset the descriptor names (taken once, at import, from the classes
themselves) is a load. The value is only looked at (borrowed, never stored), and a
field whose value is not exactly an ``int`` (or ``float`` for the cost) fails the fast
test, so anything unexpected takes the slow path.
"""

from cpython.object cimport PyObject
from cpython.long cimport PyLong_AsLongLongAndOverflow

from agenttrace import bounds as _bounds
from agenttrace.model import Event, Span, Usage

__all__ = ["sanitize_batch"]


cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    bint PyLong_CheckExact(PyObject* o)
    bint PyFloat_CheckExact(PyObject* o)
    double PyFloat_AS_DOUBLE(PyObject* o)
    Py_ssize_t PyList_GET_SIZE(PyObject* o)
    PyObject* PyList_GET_ITEM(PyObject* o, Py_ssize_t i)
    PyObject* Py_None


cdef Py_ssize_t _offset(object cls, str name) except -1:
    descr = cls.__dict__[name]
    if type(descr).__name__ != "member_descriptor":
        raise TypeError(f"{cls.__name__}.{name} is not a slot")
    return (<PyMemberDescrObject*><PyObject*>descr).d_member.offset


cdef Py_ssize_t O_START = _offset(Span, "start_ns")
cdef Py_ssize_t O_END = _offset(Span, "end_ns")
cdef Py_ssize_t O_STATUS = _offset(Span, "status")
cdef Py_ssize_t O_USAGE = _offset(Span, "usage")
cdef Py_ssize_t O_COST = _offset(Span, "cost_usd")
cdef Py_ssize_t O_EVENTS = _offset(Span, "events")
cdef Py_ssize_t O_EV_TIME = _offset(Event, "time_ns")
cdef Py_ssize_t[6] O_TOK
for _i, _name in enumerate(_bounds.TOKEN_FIELDS):
    O_TOK[_i] = _offset(Usage, _name)

cdef long long MAX_TOKENS = _bounds.MAX_TOKENS
cdef double MAX_COST = _bounds.MAX_COST_USD
cdef long long MAX_SKEW = _bounds.MAX_SKEW_NS
_fix_span = _bounds._fix_span
_Fixes = _bounds.Fixes
_Span = Span
_Usage = Usage
_Event = Event


cdef inline PyObject* _slot(PyObject* obj, Py_ssize_t offset) noexcept:
    return (<PyObject**>((<char*>obj) + offset))[0]


cdef inline bint _int_in(PyObject* v, long long lo, long long hi) noexcept:
    """v is an int with lo <= v <= hi (False for anything else, huge ints included)."""
    cdef int overflow = 0
    cdef long long n
    if v == NULL or not PyLong_CheckExact(v):
        return False
    n = PyLong_AsLongLongAndOverflow(<object>v, &overflow)
    return overflow == 0 and lo <= n <= hi


cdef bint _in_range(PyObject* s, long long max_t) noexcept:
    cdef PyObject* start = _slot(s, O_START)
    cdef PyObject* u
    cdef PyObject* c
    cdef PyObject* evs
    cdef PyObject* ev
    cdef int overflow = 0
    cdef long long st, en
    cdef Py_ssize_t i
    if start == NULL or not PyLong_CheckExact(start):
        return False
    st = PyLong_AsLongLongAndOverflow(<object>start, &overflow)
    if overflow or st < 0 or st > max_t:
        return False
    if not _int_in(_slot(s, O_END), st, max_t) or not _int_in(_slot(s, O_STATUS), 0, 2):
        return False
    u = _slot(s, O_USAGE)
    if u != Py_None:
        if u == NULL or type(<object>u) is not _Usage:
            return False
        for i in range(6):
            if not _int_in(_slot(u, O_TOK[i]), 0, MAX_TOKENS):
                return False
    c = _slot(s, O_COST)
    if c != Py_None:
        if c == NULL or not PyFloat_CheckExact(c):
            return False
        if not (0.0 <= PyFloat_AS_DOUBLE(c) <= MAX_COST):  # False for NaN
            return False
    evs = _slot(s, O_EVENTS)
    if evs == NULL or type(<object>evs) is not list:
        return False
    for i in range(PyList_GET_SIZE(evs)):
        ev = PyList_GET_ITEM(evs, i)
        if type(<object>ev) is not _Event or not _int_in(_slot(ev, O_EV_TIME), 0, max_t):
            return False
    return True


def sanitize_batch(good, long long now_ns):
    cdef long long max_t = now_ns + MAX_SKEW
    cdef bint reject_any
    fixes = None
    for _, spans in good:
        reject_any = False
        for s in spans:
            if type(s) is _Span and _in_range(<PyObject*>s, max_t):
                continue
            if fixes is None:
                fixes = _Fixes()
            if not _fix_span(s, max_t, fixes):
                reject_any = True
        if reject_any:
            spans[:] = [s for s in spans if 0 <= s.start_ns <= max_t]
    return fixes
