"""Column encodings of the segment format, pure Python (twin of ``columns.pyx``).

Byte layouts are drawn in ``docs/format/segment.md``. Every function here has the
same name, arguments and results in the compiled module; tests run both.

* varints are LEB128 of the zigzag mapping of a signed 64-bit value; a value outside
  ``[-2**63, 2**63)`` raises ``OverflowError`` (the segment writer then falls back to
  a plain msgpack column, so no value is ever refused).
* ``rows``, where accepted, is a sorted or unsorted list of row numbers to keep; the
  result then holds only those rows, in that order (the reader uses it to fetch a few
  rows of a trace without materialising every preview of the segment).

>>> decode_varints(encode_varints([0, -1, 300]), 3)
[0, -1, 300]
>>> decode_deltas(encode_deltas([10, 12, 11]), 3)
[10, 12, 11]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

__all__ = [
    "bloom_set",
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
    "encode_varints",
    "rollup_groups",
    "transpose",
]

_MIN = -(1 << 63)
_MAX = (1 << 63) - 1
_MASK64 = (1 << 64) - 1


class _Truncated(ValueError):
    pass


def _zigzag(v: int) -> int:
    if v < _MIN or v > _MAX:
        raise OverflowError(f"value {v} does not fit a signed 64-bit varint")
    return ((v << 1) ^ (v >> 63)) & _MASK64


def _put_uvarint(out: bytearray, u: int) -> None:
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)


def _get_uvarint(data: bytes | memoryview, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ValueError(f"varint runs past the end of the column at byte {pos}")
        b = data[pos]
        pos += 1
        if shift >= 64:
            raise ValueError(f"varint longer than 10 bytes at byte {pos - 1}")
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & _MASK64, pos
        shift += 7


def _pick(values: list, rows: list[int] | None) -> list:
    if rows is None:
        return values
    n = len(values)
    for r in rows:
        if not 0 <= r < n:  # no negative indexing: the compiled build refuses it too
            raise IndexError("list index out of range")
    return [values[r] for r in rows]


def _unzigzag(u: int) -> int:
    return (u >> 1) ^ -(u & 1)


def encode_varints(values: Sequence[int]) -> bytes:
    """Zigzag LEB128 varints of signed 64-bit ints, one after another."""
    out = bytearray()
    for v in values:
        _put_uvarint(out, _zigzag(v))
    return bytes(out)


def decode_varints(data: bytes, count: int, offset: int = 0, rows: list[int] | None = None) -> list[int]:
    """Read ``count`` zigzag varints starting at ``offset``; ``ValueError`` if they overrun.
    Keep only ``rows`` when given."""
    out = []
    pos = offset
    end = len(data)
    for _ in range(count):
        u, pos = _get_uvarint(data, pos, end)
        out.append(_unzigzag(u))
    return _pick(out, rows)


def encode_deltas(values: Sequence[int]) -> bytes:
    """Each value minus the one before (the first minus 0), as zigzag varints.

    Values must fit a signed 64-bit int; deltas wrap modulo 2**64 (as C's do), and
    :func:`decode_deltas` wraps them back, so any in-range sequence round-trips."""
    out = bytearray()
    prev = 0
    for v in values:
        _zigzag(v)  # range check
        d = ((v - prev + (1 << 63)) & _MASK64) - (1 << 63)
        _put_uvarint(out, _zigzag(d))
        prev = v
    return bytes(out)


def decode_deltas(data: bytes, count: int, offset: int = 0, rows: list[int] | None = None) -> list[int]:
    """Inverse of :func:`encode_deltas`; keep only ``rows`` when given."""
    out = []
    pos = offset
    end = len(data)
    prev = 0
    for _ in range(count):
        u, pos = _get_uvarint(data, pos, end)
        v = (prev + _unzigzag(u)) & _MASK64
        if v >= 1 << 63:
            v -= 1 << 64
        out.append(v)
        prev = v
    return _pick(out, rows)


def encode_blobs(values: Sequence[bytes]) -> bytes:
    """Each value as ``uvarint(len) + bytes``."""
    out = bytearray()
    for v in values:
        _put_uvarint(out, len(v))
        out += v
    return bytes(out)


def decode_blobs(data: bytes, count: int, offset: int = 0, rows: list[int] | None = None) -> list[bytes]:
    """Read ``count`` length-prefixed blobs; keep only ``rows`` when given."""
    starts = []
    pos = offset
    end = len(data)
    keep_all = rows is None
    out = []
    for _ in range(count):
        n, pos = _get_uvarint(data, pos, end)
        if pos + n > end:
            raise ValueError(f"blob of {n} bytes runs past the end of the column at byte {pos}")
        if keep_all:
            out.append(bytes(data[pos : pos + n]))
        else:
            starts.append((pos, n))
        pos += n
    if keep_all:
        return out
    return [bytes(data[p : p + n]) for p, n in _pick(starts, rows)]


def encode_fixed(values: Sequence[bytes], width: int) -> bytes:
    """Values of exactly ``width`` bytes, concatenated; ``ValueError`` for another size."""
    for v in values:
        if len(v) != width:
            raise ValueError(f"value of {len(v)} bytes in a fixed-width column of {width}")
    return b"".join(values)


def decode_fixed(data: bytes, count: int, width: int, offset: int = 0, rows: list[int] | None = None) -> list[bytes]:
    """Split ``count`` values of ``width`` bytes; keep only ``rows`` when given."""
    if offset + count * width > len(data):
        raise ValueError(f"fixed-width column needs {count * width} bytes, has {len(data) - offset}")
    if rows is None:
        return [bytes(data[offset + i * width : offset + (i + 1) * width]) for i in range(count)]
    return [bytes(data[offset + r * width : offset + (r + 1) * width]) for r in _pick(list(range(count)), rows)]


def dict_encode(values: Sequence[object]) -> tuple[list[object], list[int]]:
    """Distinct values in first-seen order, and each row's index into them."""
    index: dict[object, int] = {}
    codes = []
    for v in values:
        code = index.get(v)
        if code is None:
            code = len(index)
            index[v] = code
        codes.append(code)
    return list(index), codes


def dict_codes(values: Sequence[object]) -> tuple[list[object], bytes]:
    """:func:`dict_encode` with the codes written as the uvarints of :func:`encode_dict`:
    the dictionary column is ``encode_dict(distinct, []) + codes``."""
    distinct, codes = dict_encode(values)
    out = bytearray()
    for c in codes:
        _put_uvarint(out, c)
    return distinct, bytes(out)


def encode_dict(distinct: Sequence[bytes], codes: Sequence[int]) -> bytes:
    """``uvarint(n) + n blobs + one uvarint code per row``."""
    out = bytearray()
    _put_uvarint(out, len(distinct))
    for v in distinct:
        _put_uvarint(out, len(v))
        out += v
    for c in codes:
        _put_uvarint(out, c)
    return bytes(out)


def _dict_header(data: bytes) -> tuple[list[tuple[int, int]], int]:
    end = len(data)
    n, pos = _get_uvarint(data, 0, end)
    if n > end - pos:
        raise ValueError(f"dictionary claims {n} values in {end - pos} bytes")
    spans = []
    for _ in range(n):
        m, pos = _get_uvarint(data, pos, end)
        if pos + m > end:
            raise ValueError(f"dictionary value runs past the end of the column at byte {pos}")
        spans.append((pos, m))
        pos += m
    return spans, pos


def _dict_codes(data: bytes, pos: int, count: int, n: int) -> list[int]:
    end = len(data)
    run = data[pos : pos + count]
    if len(run) == count == end - pos and (not run or max(run) < min(n, 0x80)):
        return list(run)  # every code is one byte (the common case): no per-row loop
    codes = []
    for _ in range(count):
        c, pos = _get_uvarint(data, pos, end)
        if c >= n:
            raise ValueError(f"dictionary code {c} out of range ({n} values)")
        codes.append(c)
    return codes


def decode_dict(data: bytes, count: int, rows: list[int] | None = None) -> tuple[list[bytes], list[int]]:
    """Inverse of :func:`encode_dict`: ``(distinct, codes)``.

    With ``rows``, only those rows' codes are returned, and ``distinct`` holds only the
    values they use (codes renumbered to match), so a few rows of a large dictionary
    cost a few values."""
    spans, pos = _dict_header(data)
    codes = _dict_codes(data, pos, count, len(spans))
    if rows is None:
        return [bytes(data[p : p + m]) for p, m in spans], codes
    remap: dict[int, int] = {}
    subset = []
    out = []
    for r in rows:
        if not 0 <= r < count:
            raise IndexError("list index out of range")
        c = codes[r]
        k = remap.get(c)
        if k is None:
            k = remap[c] = len(subset)
            p, m = spans[c]
            subset.append(bytes(data[p : p + m]))
        out.append(k)
    return subset, out


def dict_find(data: bytes, count: int, value: bytes) -> list[int]:
    """Rows of a ``dict`` column whose value is ``value`` (no value is materialised)."""
    spans, pos = _dict_header(data)
    codes = _dict_codes(data, pos, count, len(spans))
    value = bytes(value)
    for code, (p, m) in enumerate(spans):
        if m == len(value) and data[p : p + m] == value:
            return [i for i, c in enumerate(codes) if c == code]
    return []


def encode_bitmap(values: Sequence[bool]) -> bytes:
    """One bit per row, least significant bit first."""
    out = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)


def decode_bitmap(data: bytes, count: int, offset: int = 0, rows: list[int] | None = None) -> list[bool]:
    """Inverse of :func:`encode_bitmap`; keep only ``rows`` when given."""
    if offset + (count + 7) // 8 > len(data):
        raise ValueError(f"bitmap of {count} rows needs {(count + 7) // 8} bytes, has {len(data) - offset}")
    if rows is None:
        rows = range(count)
    else:
        for r in rows:
            if not 0 <= r < count:
                raise IndexError("list index out of range")
    return [bool(data[offset + (i >> 3)] & (1 << (i & 7))) for i in rows]


# --- row objects to columns (the segment writer's split) ----------------------------


def transpose(objs: Iterable[Any], names: tuple[str, ...], default: Any = None) -> list[list[Any]]:
    """One list per name of ``getattr(obj, name)`` over ``objs`` (``default`` for a
    ``None`` object)."""
    rows = objs if isinstance(objs, list) else list(objs)
    if all(o is not None for o in rows):
        return [list(map(attrgetter(name), rows)) for name in names]
    return [[default if o is None else getattr(o, name) for o in rows] for name in names]


# --- rollup of columns ---------------------------------------------------------------


def rollup_groups(
    bucket_ns: int,
    inv_log_gamma: float,
    start_ns: list[int],
    end_ns: list[int],
    service: list[str],
    kind: list[str],
    model: list[str],
    status: list[int],
    tokens: Sequence[list[int | None]],
    cost_usd: list[float | None],
    rows_before: Mapping[Any, Any],
) -> dict[tuple, list]:
    """Sums per rollup key ``(bucket start, service, kind, model, status)`` over column lists.

    Each value is ``[count, errors, input, output, cache_read, cache_write, reasoning,
    cost, duration_sum, zero, min, max, key_deltas, counts]``: the five token columns of ``tokens``
    summed (``None`` counts 0); ``cost`` summed as a float in row order, starting from
    ``rows_before[key].cost_usd`` when that key is there (so adding to an existing
    rollup row gives the same float as adding span by span); ``zero``, ``min``, ``max``,
    ``key_deltas`` and ``counts`` are the latency sketch of the durations ``end - start``
    (a negative one counts as 0) in its wire form: bucket ``ceil(log(d) * inv_log_gamma)``,
    buckets ascending, each as its distance from the one before (the first from 0).
    """
    if bucket_ns <= 0:
        raise ValueError("bucket_ns must be positive")
    tokens = list(tokens)
    if len(tokens) != 5:
        raise ValueError("tokens must hold five columns")
    n = len(start_ns)
    if any(len(col) != n for col in (end_ns, service, kind, model, status, cost_usd, *tokens)):
        raise ValueError("columns of different lengths")
    out: dict[tuple, list] = {}
    log = math.log
    ceil = math.ceil
    rows = zip(start_ns, end_ns, service, kind, model, status, *tokens, cost_usd, strict=True)
    for s, e, sv, k, m, st, t_in, t_out, t_cr, t_cw, t_rsn, c in rows:
        key = (s - s % bucket_ns, sv, k, m, st)
        acc = out.get(key)
        if acc is None:
            before = rows_before.get(key)
            acc = out[key] = [0, 0, 0, 0, 0, 0, 0, 0.0 if before is None else before.cost_usd, 0, 0, 0, 0, {}]
        acc[0] += 1
        if st == 2:
            acc[1] += 1
        if t_in:
            acc[2] += t_in
        if t_out:
            acc[3] += t_out
        if t_cr:
            acc[4] += t_cr
        if t_cw:
            acc[5] += t_cw
        if t_rsn:
            acc[6] += t_rsn
        if c:
            acc[7] += c
        d = e - s
        acc[8] += d
        if d < 0:
            d = 0
        if acc[0] == 1:
            acc[10] = acc[11] = d
        elif d < acc[10]:
            acc[10] = d
        elif d > acc[11]:
            acc[11] = d
        if d == 0:
            acc[9] += 1
            continue
        bins = acc[12]
        b = ceil(log(d) * inv_log_gamma)
        bins[b] = bins.get(b, 0) + 1
    for acc in out.values():
        bins = acc.pop()
        keys = sorted(bins)
        acc.append([k - p for k, p in zip(keys, [0, *keys], strict=False)])
        acc.append([bins[k] for k in keys])
    return out


def bloom_set(bits: bytearray, hashes: Iterable[int], k: int) -> None:
    """Set the ``k`` probe bits of each 64-bit hash ``h`` in ``bits``: probe ``i`` is bit
    ``(h1 + i * h2) mod m`` with ``h1 = h & 0xffffffff``, ``h2 = (h >> 32) | 1`` and
    ``m = len(bits) * 8`` (the segment's Bloom filter, docs/format/segment.md)."""
    m = len(bits) * 8
    if m == 0:
        return
    for h in hashes:
        h1 = h & 0xFFFFFFFF
        h2 = (h >> 32) | 1
        for i in range(k):
            bit = (h1 + i * h2) % m
            bits[bit >> 3] |= 1 << (bit & 7)
