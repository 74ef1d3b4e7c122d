"""Pure-Python twin of ``decode.pyx``: decode a batch of raw datagrams.

``decode_batch(datagrams) -> (good, errors)``: ``good`` is a list of ``(raw, spans)``
for each datagram that decoded, in order; ``errors`` maps a
:class:`~agenttrace.errors.WireError` reason (``bad_payload``, ``truncated``,
``bad_magic``, ``unknown_version``) to the number of datagrams dropped for it.
Every datagram lands in exactly one of the two. The result for any input equals
calling :func:`agenttrace.wire.decode` on each datagram.

    >>> from agenttrace.wire import encode
    >>> from agenttrace.model import Span
    >>> s = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=1, end_ns=2)
    >>> good, errors = decode_batch([encode([s], sender_id=1, seq=0), b"junk"])
    >>> len(good), errors
    (1, {'bad_magic': 1})
"""

from __future__ import annotations

import msgspec

from agenttrace import wire
from agenttrace.errors import WireError
from agenttrace.model import Span

__all__ = ["decode_batch"]

_HEADER = wire.HEADER
_HSIZE = wire.HEADER_SIZE
_decoder = msgspec.msgpack.Decoder(list[Span])


def decode_batch(datagrams: list[bytes]) -> tuple[list[tuple[bytes, list[Span]]], dict[str, int]]:
    good: list[tuple[bytes, list[Span]]] = []
    errors: dict[str, int] = {}
    decode = _decoder.decode
    for raw in datagrams:
        # Fast path: a well-formed uncompressed datagram. Anything unusual goes through
        # wire.decode, which names the reason.
        if len(raw) >= _HSIZE and raw[0:3] == b"AT\x01" and not raw[3] & wire.FLAG_LZ4:
            try:
                spans = decode(memoryview(raw)[_HSIZE:])
            except Exception:
                spans = None
            if spans is not None and len(spans) == _HEADER.unpack_from(raw, 0)[3]:
                good.append((raw, spans))
                continue
        try:
            good.append((raw, wire.decode(raw).spans))
        except WireError as exc:
            errors[exc.reason] = errors.get(exc.reason, 0) + 1
    return good, errors
