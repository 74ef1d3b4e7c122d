"""Datagram format v1: encode and decode (layout in ``docs/format/wire.md``).

Tools and tests outside the SDK build and read datagrams with :func:`encode` and
:func:`decode` alone::

    >>> from agenttrace.model import Span
    >>> span = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="step", start_ns=1, end_ns=2)
    >>> d = decode(encode([span], sender_id=7, seq=0))
    >>> (d.sender_id, d.seq, d.spans[0].name)
    (7, 0, 'step')

``decode`` raises only :class:`~agenttrace.errors.WireError` subclasses, whatever
the bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import msgspec

from agenttrace.errors import (
    BadMagicError,
    BadPayloadError,
    TruncatedError,
    UnknownVersionError,
    WireError,
)
from agenttrace.model import Span

__all__ = [
    "FLAG_LZ4",
    "HEADER",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_RAW_PAYLOAD",
    "VERSION",
    "Datagram",
    "Header",
    "decode",
    "decode_header",
    "encode",
    "encode_payload",
    "frame",
]

MAGIC = b"AT"
VERSION = 1
FLAG_LZ4 = 0x01
HEADER = struct.Struct("<2sBBHHQI")  # magic, version, flags, span_count, reserved, sender_id, seq
HEADER_SIZE = HEADER.size  # 20
MAX_RAW_PAYLOAD = 1 << 20  # an LZ4 payload may not claim more than this once decompressed
_LZ4_LEN = struct.Struct("<I")

_encoder = msgspec.msgpack.Encoder()
_spans_decoder = msgspec.msgpack.Decoder(list[Span])


class Header(msgspec.Struct, frozen=True):
    version: int
    flags: int
    span_count: int
    sender_id: int
    seq: int


class Datagram(msgspec.Struct):
    """A decoded datagram: who sent it, its sequence number, and its spans."""

    sender_id: int
    seq: int
    spans: list[Span]
    flags: int = 0


def decode_header(data: bytes | bytearray | memoryview) -> Header:
    """Read and check the 20-byte header only (no payload work)."""
    if len(data) < HEADER_SIZE:
        if len(data) >= 2 and bytes(data[:2]) != MAGIC:
            raise BadMagicError("not an AgentTrace datagram (bad magic)", offset=0)
        raise TruncatedError(f"datagram of {len(data)} bytes is shorter than the header", offset=len(data))
    magic, version, flags, count, _reserved, sender_id, seq = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise BadMagicError("not an AgentTrace datagram (bad magic)", offset=0)
    if version != VERSION:
        raise UnknownVersionError(
            f"wire version {version} is not supported (this reader knows {VERSION})", version=version
        )
    return Header(version, flags, count, sender_id, seq)


def decode(data: bytes | bytearray | memoryview) -> Datagram:
    """Decode one datagram. Raises a :class:`WireError` subclass for any bad input."""
    try:
        header = decode_header(data)
        payload = memoryview(data)[HEADER_SIZE:]
        if header.flags & FLAG_LZ4:
            payload = _decompress(payload)
        try:
            spans = _spans_decoder.decode(payload)
        except msgspec.DecodeError as exc:
            if "truncated" in str(exc).lower():
                raise TruncatedError(f"payload ends mid-value: {exc}", offset=HEADER_SIZE) from None
            raise BadPayloadError(f"payload is not valid msgpack spans: {exc}", offset=HEADER_SIZE) from None
        if len(spans) != header.span_count:
            raise BadPayloadError(f"header says {header.span_count} spans, payload holds {len(spans)}", offset=4)
        return Datagram(header.sender_id, header.seq, spans, header.flags)
    except WireError:
        raise
    except RecursionError:
        raise BadPayloadError("payload nests too deeply", offset=HEADER_SIZE) from None
    except Exception as exc:  # the contract: nothing but WireError escapes
        raise BadPayloadError(f"undecodable payload ({type(exc).__name__}: {exc})", offset=HEADER_SIZE) from None


def _decompress(payload: memoryview) -> bytes:
    import lz4.block  # only the compressed path needs lz4

    if len(payload) < _LZ4_LEN.size:
        raise TruncatedError("LZ4 payload shorter than its length prefix", offset=HEADER_SIZE)
    (raw_len,) = _LZ4_LEN.unpack_from(payload, 0)
    if raw_len > MAX_RAW_PAYLOAD:
        raise BadPayloadError(f"LZ4 payload claims {raw_len} bytes (limit {MAX_RAW_PAYLOAD})", offset=HEADER_SIZE)
    try:
        return lz4.block.decompress(payload[_LZ4_LEN.size :], uncompressed_size=raw_len)
    except Exception as exc:
        raise BadPayloadError(f"LZ4 payload does not decompress: {exc}", offset=HEADER_SIZE + 4) from None


def encode_payload(spans: Sequence[Span]) -> bytes:
    """The msgpack array of spans, uncompressed (what :func:`frame` wraps)."""
    return _encoder.encode(spans)


def frame(payload: bytes, span_count: int, *, sender_id: int, seq: int, compress: bool | None = None) -> bytes:
    """Prefix an encoded payload with the v1 header, LZ4-compressing it when asked
    (``True``), never (``False``), or when it saves at least 10% (``None``)."""
    flags = 0
    if compress is not False and len(payload) >= 256:
        import lz4.block

        packed = lz4.block.compress(payload, store_size=False)
        if compress or len(packed) + 4 <= len(payload) * 0.9:
            payload = _LZ4_LEN.pack(len(payload)) + packed
            flags |= FLAG_LZ4
    header = HEADER.pack(MAGIC, VERSION, flags, span_count, 0, sender_id & 0xFFFFFFFFFFFFFFFF, seq & 0xFFFFFFFF)
    return header + payload


def encode(spans: Sequence[Span], *, sender_id: int, seq: int, compress: bool | None = None) -> bytes:
    """Encode spans as one datagram. No size limit is applied here; the SDK's emitter
    batches spans so each datagram stays under its ``max_datagram_bytes``."""
    if len(spans) > 0xFFFF:
        raise ValueError("a datagram holds at most 65535 spans")
    return frame(encode_payload(spans), len(spans), sender_id=sender_id, seq=seq, compress=compress)
