# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled twin of ``decode_py.py``: decode a batch of raw datagrams.

Same contract as the twin (see its docstring). The loop checks the v1 header from
a ``const unsigned char*`` in C and hands the payload to msgspec's msgpack decoder
without creating a header object; anything unusual goes through
:func:`agenttrace.wire.decode`, which names the drop reason.
"""

import msgspec

from agenttrace import wire
from agenttrace.errors import WireError
from agenttrace.model import Span

__all__ = ["decode_batch"]

cdef enum:
    HSIZE = 20

_decoder = msgspec.msgpack.Decoder(list[Span])
_wire_decode = wire.decode


cpdef tuple decode_batch(list datagrams):
    cdef list good = []
    cdef dict errors = {}
    cdef const unsigned char* p
    cdef Py_ssize_t n
    cdef unsigned int count
    cdef object raw, spans
    decode = _decoder.decode
    for raw in datagrams:
        if type(raw) is bytes:
            p = <const unsigned char*><bytes>raw
            n = len(<bytes>raw)
            if n >= HSIZE and p[0] == 0x41 and p[1] == 0x54 and p[2] == 1 and not (p[3] & 0x01):
                count = p[4] | (<unsigned int>p[5] << 8)
                try:
                    spans = decode(memoryview(raw)[HSIZE:])
                except Exception:
                    spans = None
                if spans is not None and len(<list>spans) == count:
                    good.append((raw, spans))
                    continue
        try:
            good.append((raw, _wire_decode(raw).spans))
        except WireError as exc:
            reason = exc.reason
            errors[reason] = errors.get(reason, 0) + 1
    return good, errors
