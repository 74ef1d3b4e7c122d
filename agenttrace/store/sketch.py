"""A mergeable latency sketch: fixed log-spaced buckets over durations in nanoseconds.

A positive duration ``x`` falls in bucket ``i = ceil(log(x) / log(GAMMA))``, which
covers ``(GAMMA**(i-1), GAMMA**i]``. A bucket answers with the value
``2 * GAMMA**i / (GAMMA + 1)``, whose distance to any value of the bucket is at most
``RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)`` of that value. With ``GAMMA = 1.02``
that is 0.990 %: **every quantile this sketch reports is within 1 % of the exact
quantile** (DDSketch's guarantee, with fixed buckets so that two sketches merge by
adding their counts). A negative duration (clock skew) counts as 0; zeros go to a zero
bucket that answers 0.

Rank convention (the same for the sketch and for the exact answer it is tested
against): over ``n`` values sorted ascending ``x[0] <= ... <= x[n-1]``, the
``q``-quantile is ``x[floor(q * (n - 1))]`` (the lower value, never interpolated).

Buckets are stored sparsely (index → count), so a sketch of a few hundred distinct
latencies serialises to a few hundred bytes, and 1 ns .. 1 day spans about 1,600
possible buckets.

>>> s = LatencySketch()
>>> for ms in (10, 20, 30, 40, 1000):
...     s.add(ms * 1_000_000)
>>> round(s.quantile(0.5) / 1e6, 1)
30.0
>>> t = LatencySketch.from_bytes(s.to_bytes())
>>> t == s
True
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable
from itertools import accumulate

import msgspec

__all__ = ["GAMMA", "RELATIVE_ERROR", "LatencySketch", "exact_quantile"]

GAMMA = 1.02
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
_INV_LOG_GAMMA = 1.0 / math.log(GAMMA)
_VALUE_FACTOR = 2.0 / (GAMMA + 1)


def exact_quantile(sorted_values: list[int] | list[float], q: float) -> float | None:
    """The ``q``-quantile of already sorted values under this module's rank convention."""
    if not sorted_values:
        return None
    return sorted_values[math.floor(q * (len(sorted_values) - 1))]


class _Wire(msgspec.Struct, array_like=True):
    # keys are delta-encoded (ascending) so they stay one byte each in msgpack
    zero: int
    min: int
    max: int
    keys: list[int]
    counts: list[int]


_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(_Wire)


def _pack(bins: dict[int, int]) -> tuple[int, int]:
    if not bins:
        return 0, 0
    base = min(bins)
    lanes = array("Q", bytes(8 * (max(bins) - base + 1)))
    for i, c in bins.items():
        lanes[i - base] = c
    if sys.byteorder != "little":
        lanes.byteswap()
    return base, int.from_bytes(lanes.tobytes(), "little")


def _pack_sorted(keys: list[int], counts: list[int]) -> tuple[int, int]:
    if not keys:
        return 0, 0
    base = keys[0]
    lanes = array("Q", bytes(8 * (keys[-1] - base + 1)))
    for k, c in zip(keys, counts, strict=True):
        lanes[k - base] = c
    if sys.byteorder != "little":
        lanes.byteswap()
    return base, int.from_bytes(lanes.tobytes(), "little")


def _lanes(big: int) -> array:
    lanes = array("Q")
    lanes.frombytes(big.to_bytes((big.bit_length() + 63) // 64 * 8, "little"))
    if sys.byteorder != "little":
        lanes.byteswap()
    return lanes


def _unpack(base: int, big: int) -> dict[int, int]:
    return {i: c for i, c in enumerate(_lanes(big), base) if c}


class LatencySketch:
    """Counts of durations (ns) in log-spaced buckets; see the module docstring.

    Two inner forms, invisible to callers: a sparse dict (bucket → count) while values
    are added, and a packed big integer (one 64-bit lane per bucket from ``base`` up)
    once sketches are merged, so that merging is one C-level integer addition instead
    of a loop over buckets. Lanes cannot carry into each other: no count reaches 2**64.
    """

    __slots__ = ("_base", "_big", "_bins", "_packed", "_w", "count", "max", "min", "zero")

    def __init__(self) -> None:
        self._bins: dict[int, int] | None = {}
        self._big = 0  # packed form, valid while _bins is None
        self._base = 0
        self._packed: tuple[int, int] | None = None  # cache of the packed form of _bins
        self._w: _Wire | None = None  # not yet decoded buckets (from_wire is lazy)
        self.zero = 0
        self.count = 0
        self.min = 0  # exact min and max: answers are clamped to them (never further from the truth)
        self.max = 0

    # --- the two forms -----------------------------------------------------------

    @property
    def bins(self) -> dict[int, int]:
        """Bucket index → count (read-only view; use add/merge to change a sketch)."""
        if self._w is not None:
            self._load()
        if self._bins is None:
            return _unpack(self._base, self._big)
        return self._bins

    def _load(self) -> None:
        w = self._w
        if w is not None:
            self._packed = None
            if len(w.keys) != len(w.counts):
                raise ValueError("sketch has more bucket keys than counts or the reverse")
            self._bins = dict(zip(accumulate(w.keys), w.counts, strict=True))
            self._w = None

    def _sparse(self) -> dict[int, int]:
        if self._w is not None:
            self._load()
        if self._bins is None:
            self._bins = _unpack(self._base, self._big)
            self._big = self._base = 0
        self._packed = None
        return self._bins

    def _pack(self) -> tuple[int, int]:
        w = self._w
        if w is not None:
            # straight from the wire to lanes, without building the dict
            if self._packed is None:
                keys = list(accumulate(w.keys))
                if len(keys) != len(w.counts):
                    raise ValueError("sketch has more bucket keys than counts or the reverse")
                self._packed = _pack_sorted(keys, w.counts)
            return self._packed
        if self._bins is None:
            return self._base, self._big
        if self._packed is None:
            self._packed = _pack(self._bins)
        return self._packed

    # --- adding ------------------------------------------------------------------

    def add(self, value_ns: int, n: int = 1) -> None:
        """Count ``value_ns`` (a duration in ns) ``n`` times; a negative one counts as 0."""
        if value_ns < 0:
            value_ns = 0
        if self._w is not None:
            self._load()
        if self.count == 0:
            self.min = self.max = value_ns
        elif value_ns < self.min:
            self.min = value_ns
        elif value_ns > self.max:
            self.max = value_ns
        self.count += n
        if value_ns <= 0:
            self.zero += n
            return
        i = math.ceil(math.log(value_ns) * _INV_LOG_GAMMA)
        bins = self._bins if self._bins is not None and self._packed is None else self._sparse()
        bins[i] = bins.get(i, 0) + n

    def add_many(self, values_ns: Iterable[int]) -> None:
        """Count every value of ``values_ns``."""
        bins = self._sparse()
        log = math.log
        ceil = math.ceil
        inv = _INV_LOG_GAMMA
        lo, hi = (self.min, self.max) if self.count else (None, None)
        n = 0
        for v in values_ns:
            n += 1
            if v < 0:
                v = 0
            if lo is None or v < lo:
                lo = v
            if hi is None or v > hi:
                hi = v
            if v <= 0:
                self.zero += 1
                continue
            i = ceil(log(v) * inv)
            bins[i] = bins.get(i, 0) + 1
        if n:
            self.count += n
            self.min, self.max = lo, hi  # type: ignore[assignment]

    def merge(self, other: LatencySketch) -> LatencySketch:
        """Add ``other``'s counts into this sketch (in place) and return it."""
        if other.count == 0:
            return self
        if self.count == 0:
            self.min, self.max = other.min, other.max
        else:
            self.min = min(self.min, other.min)
            self.max = max(self.max, other.max)
        self.count += other.count
        self.zero += other.zero
        ob, ov = other._pack()
        if not ov:
            return self
        if self._w is not None:
            self._load()
        if self._bins is not None:
            self._base, self._big = self._pack()
            self._bins = self._packed = None
        if not self._big:
            self._base, self._big = ob, ov
        elif ob >= self._base:
            self._big += ov << (64 * (ob - self._base))
        else:
            self._big = (self._big << (64 * (self._base - ob))) + ov
            self._base = ob
        return self

    def copy(self) -> LatencySketch:
        """An independent copy."""
        return LatencySketch().merge(self)

    # --- answering -----------------------------------------------------------------

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile (0 ≤ q ≤ 1) in ns, within RELATIVE_ERROR; None when empty."""
        return self.quantiles((q,))[0]

    def quantiles(self, qs: Iterable[float]) -> list[float | None]:
        """Several quantiles in one pass over the sorted buckets."""
        qs = list(qs)
        if self.count == 0:
            return [None] * len(qs)
        for q in qs:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"quantile must be within [0, 1], got {q!r}")
        ranks = sorted((math.floor(q * (self.count - 1)), k) for k, q in enumerate(qs))
        out: list[float | None] = [None] * len(qs)
        j = 0
        cum = self.zero
        while j < len(ranks) and ranks[j][0] < cum:
            out[ranks[j][1]] = self._clamp(0.0)
            j += 1
        if j < len(ranks):
            if self._w is not None:
                self._load()
            if self._bins is None:
                items: Iterable[tuple[int, int]] = enumerate(_lanes(self._big), self._base)
            else:
                items = sorted(self._bins.items())
            for i, c in items:
                if not c:
                    continue
                cum += c
                while j < len(ranks) and ranks[j][0] < cum:
                    out[ranks[j][1]] = self._clamp(_VALUE_FACTOR * GAMMA**i)
                    j += 1
                if j == len(ranks):
                    break
        return out

    def _clamp(self, v: float) -> float:
        return float(min(max(v, self.min), self.max))

    # --- serialisation ---------------------------------------------------------

    def to_wire(self) -> _Wire:
        if self._w is not None:
            return self._w
        bins = self.bins
        keys = sorted(bins)
        deltas = [k - p for k, p in zip(keys, [0, *keys], strict=False)]
        return _Wire(self.zero, self.min, self.max, deltas, [bins[k] for k in keys])

    @classmethod
    def from_wire(cls, w: _Wire) -> LatencySketch:
        if len(w.keys) != len(w.counts):
            raise ValueError("sketch has more bucket keys than counts or the reverse")
        s = cls()
        s._w = w  # buckets are decoded when first needed: many answers never need them
        s.zero = w.zero
        s.count = w.zero + sum(w.counts)
        s.min, s.max = w.min, w.max
        return s

    def to_bytes(self) -> bytes:
        """msgpack ``[zero, min, max, key deltas, counts]``."""
        return _enc.encode(self.to_wire())

    @classmethod
    def from_bytes(cls, data: bytes) -> LatencySketch:
        return cls.from_wire(_dec.decode(data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencySketch):
            return NotImplemented
        return (
            self.count == other.count
            and self.zero == other.zero
            and self.bins == other.bins
            and (self.count == 0 or (self.min, self.max) == (other.min, other.max))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LatencySketch(count={self.count}, buckets={len(self.bins)}, min={self.min}, max={self.max})"
