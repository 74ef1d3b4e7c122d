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

from collections.abc import Sequence

__all__ = [
    "decode_bitmap",
    "decode_blobs",
    "decode_deltas",
    "decode_dict",
    "decode_fixed",
    "decode_varints",
    "dict_encode",
    "dict_find",
    "encode_bitmap",
    "encode_blobs",
    "encode_deltas",
    "encode_dict",
    "encode_fixed",
    "encode_varints",
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
