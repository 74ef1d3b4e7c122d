"""Segment file format v1: constants, encoder and decoder (layout: ``docs/format/segment.md``).

A segment holds the spans one writer sealed at once, column by column::

    "ATSG" u16 version u16 flags | column chunks ... | rollup section | footer | trailer

The 24-byte trailer at the very end says where the footer is; the footer (msgpack)
holds the row count, the time range, Bloom filters of trace and session ids, the
distinct services/kinds/models, the WAL records the segment covers, and the column
directory (name, encoding, codec, offset, length, raw length, CRC-32 of the stored
bytes). A column chunk is LZ4-compressed unless that would not make it smaller.

Columns are the :class:`~agenttrace.model.Span` fields with ``usage`` flattened into
``has_usage`` and the six token counts (``COLUMN_NAMES`` lists them in order).

>>> from agenttrace.model import Span
>>> s = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="step", start_ns=1, end_ns=5)
>>> blob = encode_segment([s], worker=0, seq=1)
>>> seg = SegmentData(blob, path="<memory>")
>>> seg.footer.rows, seg.read_spans() == [s]
(1, True)
"""

from __future__ import annotations

import array
import contextlib
import functools
import gc
import hashlib
import itertools
import math
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

import msgspec

from agenttrace import _native
from agenttrace.errors import SegmentCorruptError
from agenttrace.extras import require
from agenttrace.model import Event, Span, Usage

lz4_block = require("collector", "lz4.block", "the segment store")

__all__ = [
    "COLUMN_NAMES",
    "COLUMN_TYPES",
    "HEADER",
    "MAGIC",
    "TRAILER",
    "USAGE_COLUMNS",
    "VERSION",
    "Bloom",
    "ColumnEntry",
    "Footer",
    "SectionRef",
    "SegmentData",
    "UnknownSegmentVersionError",
    "encode_segment",
    "parse_trailer",
]

MAGIC = b"ATSG"
VERSION = 1
HEADER = struct.Struct("<4sHH")  # magic, version, flags
TRAILER = struct.Struct("<QIIHH4s")  # footer_offset, footer_len, footer_crc32, version, flags, magic
MIN_SIZE = HEADER.size + TRAILER.size

_cols = _native.load("columns")
P = ParamSpec("P")
R = TypeVar("R")

# Logical types: how a column's values look in Python.
STR, BYTES, INT, BOOL, FLOAT_OPT, TAGS, ATTRS, EVENTS = "str", "bytes", "int", "bool", "f64?", "tags", "attrs", "events"
_MSGPACK_TYPES = (TAGS, ATTRS, EVENTS)

USAGE_COLUMNS: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cache_write_1h_tokens",
)

COLUMN_TYPES: dict[str, str] = {
    "trace_id": BYTES,
    "span_id": BYTES,
    "name": STR,
    "start_ns": INT,
    "end_ns": INT,
    "parent_id": BYTES,
    "kind": STR,
    "status": INT,
    "status_message": STR,
    "session_id": STR,
    "service": STR,
    "user_id": STR,
    "environment": STR,
    "tags": TAGS,
    "model": STR,
    "provider": STR,
    "has_usage": BOOL,
    **dict.fromkeys(USAGE_COLUMNS, INT),
    "cost_usd": FLOAT_OPT,
    "input_preview": STR,
    "output_preview": STR,
    "attributes": ATTRS,
    "events": EVENTS,
    "service_tier": STR,
    "cost_source": STR,
}
COLUMN_NAMES: tuple[str, ...] = tuple(COLUMN_TYPES)
_FIXED_WIDTH = {"trace_id": 16, "span_id": 8}

_enc = msgspec.msgpack.Encoder()
_decoders = {
    TAGS: msgspec.msgpack.Decoder(list[str]),
    ATTRS: msgspec.msgpack.Decoder(dict[str, Any]),
    EVENTS: msgspec.msgpack.Decoder(list[Event]),
}
_any_list = msgspec.msgpack.Decoder(list[Any])


class UnknownSegmentVersionError(SegmentCorruptError):
    """The segment was written by a newer format version than this reader knows."""

    def __init__(self, path: str, offset: int, version: int) -> None:
        super().__init__(path, offset, f"segment format version {version} is not supported (this reader knows 1)")
        self.version = version


class Bloom(msgspec.Struct, array_like=True):
    """A Bloom filter over byte strings: ``k`` probes into ``len(bits) * 8`` bits.

    Probe ``i`` of value ``v`` is bit ``(h1 + i * h2) mod m`` where ``h`` is the
    little-endian u64 of ``blake2b(v, digest_size=8)``, ``h1 = h & 0xffffffff`` and
    ``h2 = (h >> 32) | 1``. Sized for about 1 % false positives."""

    k: int
    bits: bytes

    @classmethod
    def build(cls, values: set[bytes], bits_per_value: float = 9.6, k: int = 7) -> Bloom:
        m = max(64, math.ceil(len(values) * bits_per_value / 8) * 8)
        buf = bytearray(m // 8)
        blake2b, from_bytes = hashlib.blake2b, int.from_bytes
        _cols.bloom_set(buf, [from_bytes(blake2b(v, digest_size=8).digest(), "little") for v in values], k)
        return cls(k, bytes(buf))

    def may_contain(self, value: bytes) -> bool:
        m = len(self.bits) * 8
        if m == 0:
            return False
        bits = self.bits
        return all(bits[bit >> 3] & (1 << (bit & 7)) for bit in _probes(value, self.k, m))


def _probes(value: bytes, k: int, m: int) -> list[int]:
    h = int.from_bytes(hashlib.blake2b(value, digest_size=8).digest(), "little")
    h1 = h & 0xFFFFFFFF
    h2 = (h >> 32) | 1
    return [(h1 + i * h2) % m for i in range(k)]


class ColumnEntry(msgspec.Struct, omit_defaults=True):
    """One row of the column directory. ``value`` holds the single value of a
    ``const`` column; ``width`` the size of a ``fixed`` one."""

    name: str
    encoding: str
    codec: str = "none"
    offset: int = 0
    length: int = 0
    raw_length: int = 0
    crc32: int = 0
    value: Any = None
    width: int = 0


class SectionRef(msgspec.Struct, omit_defaults=True):
    """Where an opaque section (the rollup) lies, and its CRC-32."""

    offset: int
    length: int
    crc32: int
    format: str = "rollup"


class Footer(msgspec.Struct, omit_defaults=True):
    """Everything a reader needs before touching a column (see segment.md)."""

    rows: int
    min_start_ns: int
    max_start_ns: int
    max_end_ns: int
    worker: int = 0
    seq: int = 0
    wal_first_seq: int = -1  # WAL records [wal_first_seq, wal_last_seq] are in here; -1: none
    wal_last_seq: int = -1
    created_unix_ns: int = 0
    error_rows: int = 0
    services: list[str] = []
    kinds: list[str] = []
    models: list[str] = []
    trace_bloom: Bloom | None = None
    session_bloom: Bloom | None = None
    columns: list[ColumnEntry] = []
    rollup: SectionRef | None = None
    version: int = VERSION


_footer_decoder = msgspec.msgpack.Decoder(Footer)


# --- encoding -------------------------------------------------------------------


_SPAN_FIELDS: tuple[str, ...] = Span.__struct_fields__
_USAGE_FIELDS: tuple[str, ...] = Usage.__struct_fields__
_USAGE_INDEX = _SPAN_FIELDS.index("usage")


def split_spans(spans: Sequence[Span]) -> dict[str, list]:
    """The spans as one Python list per column (usage flattened)."""
    # One pass over the spans for all fields (compiled: read straight from the slots).
    values = _cols.transpose(spans, _SPAN_FIELDS)
    cols = dict(zip(_SPAN_FIELDS, values, strict=True))
    usage = cols.pop("usage")
    cols["has_usage"] = [u is not None for u in usage]
    if any(usage):
        cols.update(zip(USAGE_COLUMNS, _cols.transpose(usage, USAGE_COLUMNS, 0), strict=True))
    else:
        for name in USAGE_COLUMNS:
            cols[name] = [0] * len(spans)
    return cols


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic GC while bulk-building containers: a 50,000-span segment makes
    hundreds of thousands of objects, and each generation-0 pass would walk them all
    (it tripled decode time in measurements). Nothing here makes reference cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _without_gc(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with no_gc():
            return fn(*args, **kwargs)

    return wrapper


def _to_bytes_values(kind: str, values: list) -> list[bytes]:
    if kind == STR:
        return [v.encode("utf-8", "surrogatepass") for v in values]
    if kind in _MSGPACK_TYPES:
        return [_enc.encode(v) if v else b"" for v in values]
    return values


def _all_equal(values: list) -> bool:
    # list.count runs in C and compares like a set would (==, identity first); it
    # makes no set of 50,000 big ints for a column that is not constant.
    return values.count(values[0]) == len(values)


def _encode_column(
    name: str, values: list, start_ns: list[int], distinct_out: dict[str, list] | None = None
) -> tuple[str, bytes, dict]:
    """(encoding, raw chunk bytes, extra directory fields) for one column; a STR
    column's distinct values go to ``distinct_out[name]`` when given."""
    kind = COLUMN_TYPES[name]
    n = len(values)
    try:
        if kind == INT:
            if name == "end_ns":
                durations = [e - s for e, s in zip(values, start_ns, strict=True)]
                if _all_equal(durations):
                    return "const_duration", b"", {"value": durations[0]}
                return "duration", _cols.encode_varints(durations), {}
            if _all_equal(values):
                return "const", b"", {"value": values[0]}
            if name == "start_ns":
                return "delta", _cols.encode_deltas(values), {}
            return "varint", _cols.encode_varints(values), {}
        if kind == BOOL:
            if _all_equal(values):
                return "const", b"", {"value": values[0]}
            return "bitmap", _cols.encode_bitmap(values), {}
        if kind == FLOAT_OPT:
            if all(v is None for v in values):
                return "const", b"", {"value": None}
            present = [v is not None for v in values]
            floats = array.array("d", [v for v in values if v is not None])
            if sys.byteorder != "little":  # pragma: no cover - the format is little-endian
                floats.byteswap()
            return "f64n", _cols.encode_bitmap(present) + floats.tobytes(), {}
        if kind == STR:
            # Dictionary first: only distinct strings need encoding to UTF-8.
            distinct, codes = _cols.dict_codes(values)
            if distinct_out is not None:
                distinct_out[name] = distinct
            if len(distinct) == 1 or len(distinct) * 2 <= n:
                distinct = [v.encode("utf-8", "surrogatepass") for v in distinct]
                if len(distinct) == 1:
                    return "const", b"", {"value": distinct[0]}
                return "dict", _cols.encode_dict(distinct, ()) + codes, {}
            return "blob", _cols.encode_blobs([v.encode("utf-8", "surrogatepass") for v in values]), {}
        width = _FIXED_WIDTH.get(name)
        if name == "span_id":
            try:
                return "fixed", _cols.encode_fixed(values, width), {"width": width}  # unique by construction
            except ValueError:
                pass  # a span id of another size
        # bytes and msgpack-typed columns: byte strings first.
        raw = _to_bytes_values(kind, values)
        distinct, codes = _cols.dict_codes(raw)
        if distinct_out is not None and kind == BYTES:
            distinct_out[name] = distinct
        if len(distinct) == 1:
            return "const", b"", {"value": distinct[0]}
        if len(distinct) * 2 <= n:
            return "dict", _cols.encode_dict(distinct, ()) + codes, {}
        if width and all(len(v) == width for v in raw):
            return "fixed", _cols.encode_fixed(raw, width), {"width": width}
        return "blob", _cols.encode_blobs(raw), {}
    except (OverflowError, UnicodeError):
        # A value the compact encodings cannot hold (an int beyond 64 bits): keep it anyway.
        return "msgpack", _enc.encode(values), {}


@_without_gc
def encode_segment(
    spans: Sequence[Span],
    *,
    worker: int,
    seq: int,
    wal_first_seq: int = -1,
    wal_last_seq: int = -1,
    rollup: bytes | None = None,
    compress: bool = True,
) -> bytes:
    """The bytes of a whole segment file holding ``spans`` in the order given.

    ``rollup`` is the opaque rollup section (``Rollup.to_bytes()``), stored as is."""
    if not spans:
        raise ValueError("a segment holds at least one span")
    cols = split_spans(spans)
    n = len(spans)
    out = bytearray(HEADER.pack(MAGIC, VERSION, 0))
    entries = []
    distinct: dict[str, list] = {}
    for name in COLUMN_NAMES:
        encoding, raw, extra = _encode_column(name, cols[name], cols["start_ns"], distinct)
        entry = ColumnEntry(name=name, encoding=encoding, offset=len(out), raw_length=len(raw), **extra)
        if raw:
            stored = raw
            if compress:
                packed = lz4_block.compress(raw, store_size=False)
                if len(packed) < len(raw):
                    stored, entry.codec = packed, "lz4"
            entry.length = len(stored)
            entry.crc32 = zlib.crc32(stored)
            out += stored
        entries.append(entry)
    section = None
    if rollup is not None:
        section = SectionRef(offset=len(out), length=len(rollup), crc32=zlib.crc32(rollup))
        out += rollup
    starts = cols["start_ns"]
    ends = cols["end_ns"]
    footer = Footer(
        rows=n,
        min_start_ns=min(starts),
        max_start_ns=max(starts),
        max_end_ns=max(ends),
        worker=worker,
        seq=seq,
        wal_first_seq=wal_first_seq,
        wal_last_seq=wal_last_seq,
        created_unix_ns=time.time_ns(),
        error_rows=cols["status"].count(2),
        services=sorted(distinct.get("service") or set(cols["service"])),
        kinds=sorted(distinct.get("kind") or set(cols["kind"])),
        models=sorted(distinct.get("model") or set(cols["model"])),
        trace_bloom=Bloom.build(set(distinct.get("trace_id") or cols["trace_id"])),
        session_bloom=Bloom.build(
            {s.encode("utf-8", "surrogatepass") for s in distinct.get("session_id") or cols["session_id"] if s}
        ),
        columns=entries,
        rollup=section,
    )
    footer_bytes = _enc.encode(footer)
    footer_offset = len(out)
    out += footer_bytes
    out += TRAILER.pack(footer_offset, len(footer_bytes), zlib.crc32(footer_bytes), VERSION, 0, MAGIC)
    return bytes(out)


# --- decoding -------------------------------------------------------------------


def parse_trailer(path: str, size: int, trailer: bytes) -> tuple[int, int, int]:
    """Check the trailer of a ``size``-byte file: ``(footer_offset, footer_len, footer_crc)``."""
    if size < MIN_SIZE:
        raise SegmentCorruptError(path, 0, f"file of {size} bytes is shorter than a segment ({MIN_SIZE})")
    f_off, f_len, f_crc, version, flags, magic = TRAILER.unpack(trailer)
    if magic != MAGIC:
        raise SegmentCorruptError(path, size - 4, "no segment trailer magic (truncated or not a segment)")
    if version != VERSION:
        raise UnknownSegmentVersionError(path, size - 8, version)
    if flags != 0:
        raise SegmentCorruptError(path, size - 6, f"unknown trailer flags {flags:#x}")
    if f_off < HEADER.size or f_off + f_len != size - TRAILER.size:
        raise SegmentCorruptError(path, size - TRAILER.size, f"footer position {f_off}+{f_len} does not fit the file")
    return f_off, f_len, f_crc


def check_header(path: str, header: bytes) -> None:
    """Check the 8-byte file header (magic, version, flags)."""
    magic, version, flags = HEADER.unpack(header)
    if magic != MAGIC:
        raise SegmentCorruptError(path, 0, "bad segment header magic (not a segment)")
    if version != VERSION:
        raise UnknownSegmentVersionError(path, 4, version)
    if flags != 0:
        raise SegmentCorruptError(path, 6, f"unknown header flags {flags:#x}")


def parse_footer(path: str, data: bytes, offset: int, crc: int) -> Footer:
    """Check and decode the footer bytes found at ``offset``."""
    if zlib.crc32(data) != crc:
        raise SegmentCorruptError(path, offset, "footer checksum mismatch")
    try:
        footer = _footer_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise SegmentCorruptError(path, offset, f"footer does not decode: {exc}") from None
    for e in footer.columns:
        if e.length and (e.offset < HEADER.size or e.offset + e.length > offset):
            raise SegmentCorruptError(path, offset, f"column {e.name!r} lies outside the data area")
    return footer


def decode_chunk(path: str, entry: ColumnEntry, stored: bytes) -> bytes:
    """Check a column chunk's CRC and decompress it."""
    if len(stored) != entry.length:
        raise SegmentCorruptError(path, entry.offset, f"column {entry.name!r} is truncated")
    if zlib.crc32(stored) != entry.crc32:
        raise SegmentCorruptError(path, entry.offset, f"column {entry.name!r} checksum mismatch")
    if entry.codec == "none":
        raw = stored
    elif entry.codec == "lz4":
        try:
            raw = lz4_block.decompress(stored, uncompressed_size=entry.raw_length)
        except Exception as exc:
            raise SegmentCorruptError(path, entry.offset, f"column {entry.name!r} does not decompress: {exc}") from None
    else:
        raise SegmentCorruptError(path, entry.offset, f"column {entry.name!r} has unknown codec {entry.codec!r}")
    if len(raw) != entry.raw_length:
        raise SegmentCorruptError(path, entry.offset, f"column {entry.name!r} has {len(raw)} bytes, expected more")
    return raw


def decode_column(
    path: str,
    entry: ColumnEntry,
    raw: bytes,
    rows_total: int,
    rows: list[int] | None,
    start_ns: list[int] | None = None,
) -> list:
    """The Python values of one column (of ``rows`` only, when given).

    ``start_ns`` (of the same rows) is needed to rebuild ``end_ns``."""
    kind = COLUMN_TYPES.get(entry.name)
    if kind is None:
        raise SegmentCorruptError(path, entry.offset, f"unknown column {entry.name!r}")
    n = rows_total if rows is None else len(rows)
    enc = entry.encoding
    try:
        if enc == "const":
            value = entry.value
            if kind == STR:
                value = value.decode("utf-8", "surrogatepass")
            elif kind in _MSGPACK_TYPES:
                return _from_msgpack(kind, [value] * n)
            return [value] * n
        if enc == "const_duration":
            return [s + entry.value for s in start_ns]
        if enc == "duration":
            durations = _cols.decode_varints(raw, rows_total, 0, rows)
            return [s + d for s, d in zip(start_ns, durations, strict=True)]
        if enc == "delta":
            return _cols.decode_deltas(raw, rows_total, 0, rows)
        if enc == "varint":
            return _cols.decode_varints(raw, rows_total, 0, rows)
        if enc == "bitmap":
            return _cols.decode_bitmap(raw, rows_total, 0, rows)
        if enc == "f64n":
            return _decode_f64n(raw, rows_total, rows)
        if enc == "msgpack":
            values = _any_list.decode(raw)
            if len(values) != rows_total:
                raise ValueError("msgpack column has the wrong row count")
            if kind in _MSGPACK_TYPES:
                values = [msgspec.convert(v, _TYPES[kind]) for v in values]
            return _select(values, rows)
        if enc == "dict":
            distinct, codes = _cols.decode_dict(raw, rows_total, rows)
            if kind == STR:
                distinct = [v.decode("utf-8", "surrogatepass") for v in distinct]
            elif kind in _MSGPACK_TYPES:
                # Decoded per row: rows must not share one mutable dict or list.
                return _from_msgpack(kind, [distinct[c] for c in codes])
            return [distinct[c] for c in codes]
        if enc == "blob":
            values = _cols.decode_blobs(raw, rows_total, 0, rows)
        elif enc == "fixed":
            values = _cols.decode_fixed(raw, rows_total, entry.width, 0, rows)
        else:
            raise SegmentCorruptError(path, entry.offset, f"column {entry.name!r} has unknown encoding {enc!r}")
        if kind == STR:
            return [v.decode("utf-8", "surrogatepass") for v in values]
        if kind in _MSGPACK_TYPES:
            return _from_msgpack(kind, values)
        return values
    except SegmentCorruptError:
        raise
    except (ValueError, IndexError, TypeError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SegmentCorruptError(path, entry.offset, f"column {entry.name!r} does not decode: {exc}") from None


_TYPES = {TAGS: list[str], ATTRS: dict[str, Any], EVENTS: list[Event]}


def _decode_f64n(raw: bytes, rows_total: int, rows: list[int] | None) -> list:
    present = _cols.decode_bitmap(raw, rows_total)
    base = (rows_total + 7) // 8
    floats = array.array("d")
    floats.frombytes(raw[base:])
    if sys.byteorder != "little":  # pragma: no cover - the format is little-endian
        floats.byteswap()
    if len(floats) != sum(present) or base + 8 * len(floats) != len(raw):
        raise ValueError("float column length does not match its presence bitmap")
    if rows is None:
        it = iter(floats.tolist())
        return [next(it) if p else None for p in present]
    rank = list(itertools.accumulate(present))  # rank[r] - 1: index of row r's float
    return [floats[rank[r] - 1] if present[r] else None for r in rows]


def _from_msgpack(kind: str, values: list[bytes]) -> list:
    dec = _decoders[kind].decode
    if kind == ATTRS:
        return [dec(v) if v else {} for v in values]
    return [dec(v) if v else [] for v in values]


def _select(values: list, rows: list[int] | None) -> list:
    return values if rows is None else [values[r] for r in rows]


@_without_gc
def join_spans(cols: dict[str, list], n: int) -> list[Span]:
    """Spans from per-column lists of ``n`` rows (the inverse of :func:`split_spans`)."""
    usage = [
        Usage(*vals[1:]) if vals[0] else None
        for vals in zip(cols["has_usage"], *(cols[u] for u in _USAGE_FIELDS), strict=True)
    ]
    # Columns are matched to fields by name (Span's own field list), so a field added to
    # Span cannot shift a column; only the call is positional, because keywords make this
    # join 2.2x slower (about half of read_spans). Usage the same way.
    ordered = [usage if name == "usage" else cols[name] for name in _SPAN_FIELDS]
    spans = [Span(*row) for row in zip(*ordered, strict=True)]
    if len(spans) != n:
        raise ValueError(f"columns hold {len(spans)} rows, expected {n}")
    return spans


class SegmentData:
    """A whole segment already in memory (a reader over bytes; used by tests and tools)."""

    def __init__(self, data: bytes, *, path: str = "<memory>") -> None:
        self.path = path
        self._data = data
        size = len(data)
        if size < MIN_SIZE:
            parse_trailer(path, size, b"\0" * TRAILER.size)
        f_off, f_len, f_crc = parse_trailer(path, size, data[-TRAILER.size :])
        self._check_header(data[: HEADER.size])
        self.footer = parse_footer(path, data[f_off : f_off + f_len], f_off, f_crc)

    def _check_header(self, header: bytes) -> None:
        check_header(self.path, header)

    def read_spans(self, rows: list[int] | None = None) -> list[Span]:
        cols = read_columns_from(self.path, self.footer, COLUMN_NAMES, rows, self._chunk)
        return join_spans(cols, self.footer.rows if rows is None else len(rows))

    def _chunk(self, entry: ColumnEntry) -> bytes:
        return self._data[entry.offset : entry.offset + entry.length]


@_without_gc
def read_columns_from(path: str, footer: Footer, names: Sequence[str], rows: list[int] | None, fetch) -> dict:
    """Decode the named columns of a segment through ``fetch(entry) -> stored bytes``."""
    directory = {e.name: e for e in footer.columns}
    if rows is not None:
        for r in rows:
            if not 0 <= r < footer.rows:
                raise IndexError(f"row {r} out of range (segment has {footer.rows} rows)")
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        if name not in COLUMN_TYPES:
            raise KeyError(f"no column {name!r}; columns are {', '.join(COLUMN_NAMES)}")
        if name not in directory and name in _REQUIRED:
            raise SegmentCorruptError(path, 0, f"column {name!r} is missing from the directory")
    out: dict[str, list] = {}
    start_ns = None
    if "end_ns" in wanted:
        # end_ns is stored as a duration from start_ns.
        entry = directory["start_ns"]
        start_ns = decode_column(path, entry, _raw(path, entry, fetch), footer.rows, rows)
    for name in wanted:
        if name == "start_ns" and start_ns is not None:
            out[name] = start_ns
            continue
        entry = directory.get(name)
        if entry is None:
            # A column added after this segment was written: every row holds the default.
            out[name] = _defaults(name, footer.rows if rows is None else len(rows))
            continue
        out[name] = decode_column(path, entry, _raw(path, entry, fetch), footer.rows, rows, start_ns)
    return out


# Columns every v1 segment has; any other may be absent from older segments.
_REQUIRED = frozenset(("trace_id", "span_id", "name", "start_ns", "end_ns"))


def _defaults(name: str, n: int) -> list:
    kind = COLUMN_TYPES[name]
    if kind in _MSGPACK_TYPES:
        return [{} for _ in range(n)] if kind == ATTRS else [[] for _ in range(n)]
    value = {STR: "", BYTES: b"", INT: 0, BOOL: False, FLOAT_OPT: None}[kind]
    return [value] * n


def find_rows(path: str, footer: Footer, name: str, value: Any, fetch) -> list[int]:
    """Row numbers whose column ``name`` equals ``value``; a dictionary column is
    searched without materialising its values (the trace-by-id path)."""
    entry = next((e for e in footer.columns if e.name == name), None)
    kind = COLUMN_TYPES.get(name)
    if entry is not None and entry.encoding == "dict" and kind in (STR, BYTES):
        if not isinstance(value, str if kind == STR else (bytes, bytearray)):
            return []  # a value of another type equals no row
        key = value.encode("utf-8", "surrogatepass") if kind == STR else bytes(value)
        raw = _raw(path, entry, fetch)
        try:
            return _cols.dict_find(raw, footer.rows, key)
        except (ValueError, IndexError) as exc:
            raise SegmentCorruptError(path, entry.offset, f"column {name!r} does not decode: {exc}") from None
    col = read_columns_from(path, footer, [name], None, fetch)[name]
    return [i for i, v in enumerate(col) if v == value]


def _raw(path: str, entry: ColumnEntry, fetch) -> bytes:
    if not entry.length and (entry.encoding in ("const", "const_duration") or entry.raw_length == 0):
        return b""
    return decode_chunk(path, entry, fetch(entry))
