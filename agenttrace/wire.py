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
from agenttrace.model import Event, Span

__all__ = [
    "FLAG_LZ4",
    "HEADER",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_RAW_PAYLOAD",
    "VERSION",
    "Datagram",
    "Header",
    "batch",
    "decode",
    "decode_header",
    "encode",
    "encode_payload",
    "fit_span",
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


# --- batching (used by the SDK's emitter) --------------------------------------------------

_PAYLOAD_SLACK = 3  # a msgpack array header of up to 65535 elements takes at most 3 bytes
_TRUNCATED_ATTR = "agenttrace.truncated"


def _fallback(obj: object) -> object:
    # An attribute value msgpack cannot carry (a custom object) travels as its repr.
    try:
        text = repr(obj)
    except Exception:
        text = f"<{type(obj).__name__}>"
    return text[:256]


_safe_encoder = msgspec.msgpack.Encoder(enc_hook=_fallback)


def _array_header(n: int) -> bytes:
    return bytes((0x90 | n,)) if n < 16 else b"\xdc" + n.to_bytes(2, "big")


def _plain(value: object) -> object:
    try:
        _safe_encoder.encode(value)
        return value
    except Exception:  # e.g. an int beyond 64 bits, a dict with unhashable content
        return _fallback(value)


def _clean_str(text: str) -> str:
    # Lone surrogates (from surrogateescape-decoded bytes) cannot be UTF-8 encoded.
    return text.encode("utf-8", "replace").decode("utf-8")


def _clean(value: object) -> object:
    if isinstance(value, str):
        return _clean_str(value)
    if isinstance(value, dict):
        return {_clean_str(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return _plain(value)


def _encode_span(span: Span) -> bytes | None:
    try:
        return _safe_encoder.encode(span)
    except Exception:
        pass
    # Slow path, for the rare span that carries something msgpack cannot: non-str
    # attribute keys, ints beyond 64 bits, lone surrogates. Clean every field and retry.
    try:
        fields = {name: getattr(span, name) for name in span.__struct_fields__}
        for name, value in fields.items():
            if isinstance(value, str):
                fields[name] = _clean_str(value)
        fields["tags"] = [_clean_str(str(t)) for t in span.tags]
        fields["attributes"] = _clean(span.attributes)
        fields["events"] = [
            Event(_clean_str(str(e.name)), e.time_ns, _clean(e.attributes))  # type: ignore[arg-type]
            for e in span.events
        ]
        return _safe_encoder.encode(Span(**fields))
    except Exception:
        return None


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _cut(text: str, max_bytes: int) -> str:
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= max_bytes:
        return text
    return raw[: max(0, max_bytes)].decode("utf-8", "ignore")


def fit_span(span: Span, budget: int) -> bytes | None:
    """Encode ``span`` in at most ``budget`` bytes, cutting its previews, then its
    attribute and event values, then its events, status message and name until it
    fits. A cut span carries the attribute ``agenttrace.truncated`` (its original
    encoded size). Returns ``None`` only when even the bare span does not fit."""
    encoded = _encode_span(span)
    if encoded is None:
        return None
    if len(encoded) <= budget:
        return encoded
    original = len(encoded)
    replace = msgspec.structs.replace

    def shrink_value(v: object) -> object:
        if isinstance(v, str):
            return _cut(v, 64)
        if isinstance(v, (bytes, list, tuple, dict, set)):
            return _cut(_fallback(v), 64) if not isinstance(v, bytes) else v[:64]
        return v

    steps = [
        # 1. previews, keeping as much as fits
        lambda s, over: replace(
            s,
            input_preview=_cut(s.input_preview, max(0, _utf8_len(s.input_preview) - over // 2 - 8)),
            output_preview=_cut(s.output_preview, max(0, _utf8_len(s.output_preview) - over // 2 - 8)),
        ),
        lambda s, over: replace(s, input_preview="", output_preview=""),
        # 2. attribute and event values
        lambda s, over: replace(
            s,
            attributes={k: shrink_value(v) for k, v in s.attributes.items()},
            events=[replace(e, attributes={k: shrink_value(v) for k, v in e.attributes.items()}) for e in s.events],
        ),
        # 3. events, then attributes, then what is left
        lambda s, over: replace(s, events=[replace(e, attributes={}) for e in s.events[:8]]),
        lambda s, over: replace(s, events=[], attributes={}),
        lambda s, over: replace(s, status_message=_cut(s.status_message, 256), name=_cut(s.name, 256), tags=[]),
    ]
    current = span
    for step in steps:
        over = len(encoded) - budget + 32  # room for the truncation marker
        current = step(current, over)
        marked = replace(current, attributes={**current.attributes, _TRUNCATED_ATTR: original})
        encoded = _encode_span(marked)
        if encoded is None:
            return None
        if len(encoded) <= budget:
            return encoded
    return None


def _lz4_available() -> bool:
    try:
        import lz4.block  # noqa: F401
    except ImportError:
        return False
    return True


def batch(
    spans: Sequence[Span],
    max_bytes: int = 8192,
    *,
    sender_id: int,
    seq: int,
    compress: bool | None = False,
    stats: dict[str, int] | None = None,
) -> list[bytes]:
    """Pack spans, in order, into datagrams of at most ``max_bytes`` each, numbered
    ``seq``, ``seq + 1``, ...

    A group of spans is encoded in one go and split in proportion to its size until
    each part fits (two msgpack encodes per span in the usual case, instead of one per
    span plus a Python-level join); a lone span too big is handled by
    :func:`fit_span`, and a group holding content msgpack refuses is packed span by span.

    A span too large for one datagram is cut to fit (see :func:`fit_span`). Spans that
    cannot be sent at all are counted in ``stats`` (``oversize``, ``unencodable``), as
    are cut spans (``truncated``); nothing is left out silently. ``compress=None``
    LZ4-compresses a datagram when that saves at least 10% (and lz4 is installed);
    compression never makes a datagram larger than ``max_bytes``.

    >>> from agenttrace.model import Span
    >>> spans = [Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x" * 100, start_ns=0, end_ns=1)] * 200
    >>> grams = batch(spans, 4096, sender_id=1, seq=0)
    >>> all(len(g) <= 4096 for g in grams), sum(len(decode(g).spans) for g in grams)
    (True, 200)
    """
    if max_bytes < HEADER_SIZE + _PAYLOAD_SLACK + 32:
        raise ValueError(f"max_bytes={max_bytes} is too small for any span")
    if compress is not False and not _lz4_available():
        compress = False
    limit = max_bytes - HEADER_SIZE  # payload bytes, its array header included
    counts: dict[str, int] = stats if stats is not None else {}
    payloads: list[tuple[bytes, int]] = []
    encode = _safe_encoder.encode
    stack: list[Sequence[Span]] = [spans]
    while stack:
        group = stack.pop()
        n = len(group)
        if n == 0:
            continue
        payload: bytes | None = None
        if n <= 0xFFFF:
            try:
                payload = encode(group)
            except Exception:
                payload = None
        if payload is not None and len(payload) <= limit:
            payloads.append((payload, n))
            continue
        if payload is None or n == 1:
            payloads.extend(_pack_greedy(group, limit - _PAYLOAD_SLACK, counts))
            continue
        # Aim each part at ~90% of the limit so most parts fit at the first try.
        parts = min(n, max(2, -(-len(payload) * 10 // (limit * 9))))
        size, extra = divmod(n, parts)
        chunks = []
        start = 0
        for k in range(parts):
            end = start + size + (1 if k < extra else 0)
            chunks.append(group[start:end])
            start = end
        stack.extend(reversed(chunks))
    return [
        frame(payload, n, sender_id=sender_id, seq=seq + i, compress=None if compress is not False else False)
        for i, (payload, n) in enumerate(payloads)
    ]


def _pack_greedy(spans: Sequence[Span], budget: int, counts: dict[str, int]) -> list[tuple[bytes, int]]:
    """Span-by-span packing: cleans what msgpack refuses, cuts what is too big."""
    payloads: list[tuple[bytes, int]] = []
    parts: list[bytes] = []
    size = 0
    for span in spans:
        encoded = _encode_span(span)
        if encoded is None:
            counts["unencodable"] = counts.get("unencodable", 0) + 1
            continue
        if len(encoded) > budget:
            try:
                encoded = fit_span(span, budget)
            except Exception:  # a cut that trips over odd content must not sink the batch
                encoded = None
            if encoded is None:
                counts["oversize"] = counts.get("oversize", 0) + 1
                continue
            counts["truncated"] = counts.get("truncated", 0) + 1
        if parts and (size + len(encoded) > budget or len(parts) == 0xFFFF):
            payloads.append((_array_header(len(parts)) + b"".join(parts), len(parts)))
            parts, size = [], 0
        parts.append(encoded)
        size += len(encoded)
    if parts:
        payloads.append((_array_header(len(parts)) + b"".join(parts), len(parts)))
    return payloads
