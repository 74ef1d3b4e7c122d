"""Per-minute (or hour, or day) rollups of spans, keyed by (bucket, service, kind, model, status).

A :class:`Rollup` maps a :data:`RollupKey` ``(bucket_start_ns, service, kind, model,
status)`` to a :class:`RollupRow` of span count, error count (status 2), token sums by
type, cost sum, duration sum and a :class:`~agenttrace.store.sketch.LatencySketch`.
A span belongs to the bucket that holds its ``start_ns``. Rollups merge by addition, so
the rollup of a union of span sets is the merge of their rollups, and a minute rollup
folds exactly into an hour or a day rollup.

Cost is summed as a float: after millions of additions the sum may differ from an
exact decimal sum in the last few significant digits (relative 1e-12 or so), far below
what a user reads. A span without ``cost_usd`` adds 0 to the cost and nothing else.

Serialised form (``to_bytes``, msgpack, ``version`` 2; version 1 lacks ``hour_rows``)::

    [version, granularity, services[], kinds[], models[], rows[], hour_rows[]]
    row = [bucket_start_ns, service_ix, kind_ix, model_ix, status,
           count, errors, input, output, cache_read, cache_write, reasoning,
           cost_usd, duration_sum_ns, sketch]          # sketch: see sketch.py

``hour_rows`` (minute rollups only) are the same spans folded into hours, with the same
string tables, so a reader that wants hours decodes a tenth of the rows. A reader
meeting a version it does not know raises :class:`RollupVersionError`.

>>> from agenttrace.model import Span
>>> r = Rollup()
>>> r.add_span(Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=61_000_000_000,
...                 end_ns=61_500_000_000, kind="llm", model="gpt-4o", status=2))
>>> [(k, v.count, v.errors) for k, v in r.rows.items()]
[((60000000000, '', 'llm', 'gpt-4o', 2), 1, 1)]
>>> Rollup.from_bytes(r.to_bytes()) == r
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from operator import sub
from typing import Any

import msgspec

from agenttrace import _native
from agenttrace._native import columns_py as _cols_py
from agenttrace.errors import StoreError
from agenttrace.model import Span
from agenttrace.store.sketch import _INV_LOG_GAMMA, LatencySketch, _Wire

__all__ = [
    "BUCKET_NS",
    "ROLLUP_COLUMNS",
    "ROLLUP_VERSION",
    "TOKEN_FIELDS",
    "Rollup",
    "RollupKey",
    "RollupRow",
    "RollupVersionError",
    "bucket_start",
]

ROLLUP_VERSION = 2
_READABLE = {1, 2}  # 1: without the hour fold
BUCKET_NS: dict[str, int] = {"minute": 60_000_000_000, "hour": 3_600_000_000_000, "day": 86_400_000_000_000}
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
# The columns (names as SegmentReader.read_columns gives them) that add_columns needs.
ROLLUP_COLUMNS = ("start_ns", "end_ns", "service", "kind", "model", "status", *TOKEN_FIELDS, "cost_usd")

RollupKey = tuple[int, str, str, str, int]  # bucket_start_ns, service, kind, model, status

_cols = _native.load("columns")
_COMPILED = _native.is_compiled(_cols)
_SPAN_COLUMNS = ("start_ns", "end_ns", "service", "kind", "model", "status", "cost_usd")


def _as_list(values: Sequence[Any]) -> list:
    return values if type(values) is list else list(values)


class RollupVersionError(StoreError, ValueError):
    """A serialised rollup has a version this code does not read."""


def bucket_start(t_ns: int, granularity: str) -> int:
    """Start (Unix ns) of the ``granularity`` bucket holding ``t_ns`` (UTC, floor)."""
    size = BUCKET_NS[granularity]
    return t_ns - t_ns % size


class RollupRow:
    """Sums over the spans of one rollup key."""

    __slots__ = (
        "cache_read_tokens",
        "cache_write_tokens",
        "cost_usd",
        "count",
        "duration_sum_ns",
        "errors",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "sketch",
    )

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        self.reasoning_tokens = 0
        self.cost_usd = 0.0
        self.duration_sum_ns = 0
        self.sketch = LatencySketch()

    def merge(self, other: RollupRow, *, sketch: bool = True) -> RollupRow:
        """Add ``other`` into this row (in place) and return it; ``sketch=False`` leaves
        the latency sketch alone (for answers that need no percentiles)."""
        self.count += other.count
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cost_usd += other.cost_usd
        self.duration_sum_ns += other.duration_sum_ns
        if sketch:
            self.sketch.merge(other.sketch)
        return self

    def copy(self) -> RollupRow:
        return RollupRow().merge(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost_usd": self.cost_usd,
            "duration_sum_ns": self.duration_sum_ns,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RollupRow):
            return NotImplemented
        return self.as_dict() == other.as_dict() and self.sketch == other.sketch

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RollupRow({self.as_dict()}, {self.sketch!r})"


_Row = tuple[int, int, int, int, int, int, int, int, int, int, int, int, float, int, _Wire]
_rows_dec = msgspec.msgpack.Decoder(list[_Row])
# Without latency: the sketch stays undecoded bytes.
_rows_dec_lean = msgspec.msgpack.Decoder(
    list[tuple[int, int, int, int, int, int, int, int, int, int, int, int, float, int, msgspec.Raw]]
)


class _RollupWire(msgspec.Struct, array_like=True):
    version: int
    granularity: str
    services: list[str]
    kinds: list[str]
    models: list[str]
    rows: msgspec.Raw  # decoded only when asked for (see from_bytes)
    hour_rows: msgspec.Raw = msgspec.Raw(b"")  # version 2: the same spans folded into hours


class _VersionOnly(msgspec.Struct, array_like=True):
    version: int


_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(_RollupWire)


def _wire_rows(r: Rollup, tables: tuple[dict[str, int], dict[str, int], dict[str, int]]) -> list:
    out = []
    for (b, service, kind, model, status), row in sorted(r.rows.items()):
        ixs = [t.setdefault(v, len(t)) for t, v in zip(tables, (service, kind, model), strict=True)]
        out.append(
            (
                b,
                *ixs,
                status,
                row.count,
                row.errors,
                row.input_tokens,
                row.output_tokens,
                row.cache_read_tokens,
                row.cache_write_tokens,
                row.reasoning_tokens,
                row.cost_usd,
                row.duration_sum_ns,
                row.sketch.to_wire(),
            )
        )
    return out


def _hour_wire_rows(r: Rollup, tables: tuple[dict[str, int], dict[str, int], dict[str, int]]) -> list | None:
    """``_wire_rows(r.fold("hour"), tables)`` computed straight from the minute rows while
    their sketches are bucket dicts or undecoded wire form (as a fresh rollup's are), without
    building hour rows and packed sketches first; None when a sketch is in another form.
    Same order of additions as :meth:`Rollup.merge`, so the same floats."""
    size = BUCKET_NS["hour"]
    acc: dict[tuple, list] = {}
    for (b, service, kind, model, status), row in r.rows.items():
        sk = row.sketch
        w = sk._w
        if w is not None:
            items: Iterable[tuple[int, int]] = zip(accumulate(w.keys), w.counts, strict=True)
        elif sk._bins is not None:
            items = sk._bins.items()
        else:
            return None  # packed (merged) sketches: fold them
        key = (b - b % size, service, kind, model, status)
        a = acc.get(key)
        if a is None:
            # count, errors, 5 token sums, cost, duration; sketch count, zero, min, max, bins
            a = acc[key] = [0, 0, 0, 0, 0, 0, 0, 0.0, 0, 0, 0, 0, 0, {}]
        a[0] += row.count
        a[1] += row.errors
        a[2] += row.input_tokens
        a[3] += row.output_tokens
        a[4] += row.cache_read_tokens
        a[5] += row.cache_write_tokens
        a[6] += row.reasoning_tokens
        a[7] += row.cost_usd
        a[8] += row.duration_sum_ns
        if sk.count:
            if a[9] == 0:
                a[11], a[12] = sk.min, sk.max
            else:
                a[11] = min(a[11], sk.min)
                a[12] = max(a[12], sk.max)
            a[9] += sk.count
            a[10] += sk.zero
            hour_bins = a[13]
            get = hour_bins.get
            for i, c in items:
                hour_bins[i] = get(i, 0) + c
    out = []
    for (b, service, kind, model, status), a in sorted(acc.items()):
        ixs = [t.setdefault(v, len(t)) for t, v in zip(tables, (service, kind, model), strict=True)]
        out.append((b, *ixs, status, *a[:9], _wire_of(a[10], a[11], a[12], a[13])))
    return out


def _wire_of(zero: int, lo: int, hi: int, bins: dict[int, int]) -> _Wire:
    """What ``LatencySketch.to_wire`` gives for these parts (non-empty counts only)."""
    keys = sorted(k for k, c in bins.items() if c)
    return _Wire(zero, lo, hi, list(map(sub, keys, [0, *keys])), list(map(bins.__getitem__, keys)))


class Rollup:
    """Rollup rows by key; ``granularity`` is ``"minute"``, ``"hour"`` or ``"day"``."""

    __slots__ = ("granularity", "lean", "rows")

    def __init__(self, granularity: str = "minute") -> None:
        self.lean = False  # True: sketches were left out (see from_bytes)
        if granularity not in BUCKET_NS:
            raise ValueError(f"granularity must be one of {sorted(BUCKET_NS)}, got {granularity!r}")
        self.granularity = granularity
        self.rows: dict[RollupKey, RollupRow] = {}

    # --- building --------------------------------------------------------------

    def add_span(self, span: Span) -> None:
        """Count one span."""
        u = span.usage
        self._add(
            span.start_ns,
            span.end_ns,
            span.service,
            span.kind,
            span.model,
            span.status,
            u.input_tokens if u else 0,
            u.output_tokens if u else 0,
            u.cache_read_tokens if u else 0,
            u.cache_write_tokens if u else 0,
            u.reasoning_tokens if u else 0,
            span.cost_usd,
        )

    def add_spans(self, spans: Iterable[Span]) -> None:
        """Count every span of ``spans``."""
        if not _COMPILED:
            # Pure Python: one call per span beats building the columns first.
            for s in spans:
                self.add_span(s)
            return
        spans = spans if isinstance(spans, list) else list(spans)
        cols = dict(zip(_SPAN_COLUMNS, _cols.transpose(spans, _SPAN_COLUMNS), strict=True))
        usage = [s.usage for s in spans]
        if any(usage):
            cols.update(zip(TOKEN_FIELDS, _cols.transpose(usage, TOKEN_FIELDS, 0), strict=True))
        self.add_columns(cols)

    def add_columns(self, columns: Mapping[str, Sequence[Any]]) -> None:
        """Count the rows of column lists (the names of :data:`ROLLUP_COLUMNS`).

        Missing token or cost columns count as zero; ``None`` in them too.
        """
        n = len(columns["start_ns"])
        if not n:
            return
        zeros = [0] * n
        start, end, service, kind, model, status, *tokens, cost = (
            _as_list(columns.get(name, zeros)) for name in ROLLUP_COLUMNS
        )
        args = (BUCKET_NS[self.granularity], _INV_LOG_GAMMA, start, end, service, kind, model, status, tokens, cost)
        try:
            groups = _cols.rollup_groups(*args, self.rows)
        except (OverflowError, TypeError):
            # Beyond 64 bits (or not an int where one belongs): the twin's unbounded
            # Python ints give the same answer span by span would.
            groups = _cols_py.rollup_groups(*args, self.rows)
        rows = self.rows
        for key, (count, errors, i, o, cr, cw, rsn, cost_sum, dur, zero, lo, hi, deltas, counts) in groups.items():
            # Already in wire form: to_bytes stores it as it is.
            sketch = LatencySketch.from_wire(_Wire(zero, lo, hi, deltas, counts))
            row = rows.get(key)
            if row is None:
                row = rows[key] = RollupRow.__new__(RollupRow)
                row.count = row.errors = row.input_tokens = row.output_tokens = 0
                row.cache_read_tokens = row.cache_write_tokens = row.reasoning_tokens = row.duration_sum_ns = 0
                row.sketch = sketch
            else:
                row.sketch.merge(sketch)
            row.count += count
            row.errors += errors
            row.input_tokens += i
            row.output_tokens += o
            row.cache_read_tokens += cr
            row.cache_write_tokens += cw
            row.reasoning_tokens += rsn
            row.cost_usd = cost_sum  # summed from the row's cost before, in span order
            row.duration_sum_ns += dur

    def _add(
        self,
        start_ns: int,
        end_ns: int,
        service: str,
        kind: str,
        model: str,
        status: int,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read_tokens: int | None,
        cache_write_tokens: int | None,
        reasoning_tokens: int | None,
        cost_usd: float | None,
    ) -> None:
        key = (start_ns - start_ns % BUCKET_NS[self.granularity], service, kind, model, status)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = RollupRow()
        row.count += 1
        if status == 2:
            row.errors += 1
        row.input_tokens += input_tokens or 0
        row.output_tokens += output_tokens or 0
        row.cache_read_tokens += cache_read_tokens or 0
        row.cache_write_tokens += cache_write_tokens or 0
        row.reasoning_tokens += reasoning_tokens or 0
        if cost_usd:
            row.cost_usd += cost_usd
        d = end_ns - start_ns
        row.duration_sum_ns += d
        row.sketch.add(d)

    # --- combining -------------------------------------------------------------

    def merge(self, other: Rollup, *, sketch: bool = True) -> Rollup:
        """Add ``other`` into this rollup (in place) and return it.

        ``other`` may be finer than this rollup (a minute rollup into an hour one);
        it may not be coarser. ``sketch=False`` sums everything but latency.
        """
        size = BUCKET_NS[self.granularity]
        if BUCKET_NS[other.granularity] > size:
            raise ValueError(f"cannot merge a {other.granularity} rollup into a {self.granularity} one")
        rows = self.rows
        for (b, *rest), r in other.rows.items():
            key = (b - b % size, *rest)
            mine = rows.get(key)  # type: ignore[arg-type]
            if mine is None:
                rows[key] = RollupRow().merge(r, sketch=sketch)  # type: ignore[index]
            else:
                mine.merge(r, sketch=sketch)
        return self

    def merge_row(self, key: RollupKey, row: RollupRow) -> None:
        """Add one row of a rollup as fine as this one or finer (the row is copied, not kept)."""
        b = key[0]
        key = (b - b % BUCKET_NS[self.granularity], *key[1:])  # type: ignore[assignment]
        mine = self.rows.get(key)
        if mine is None:
            self.rows[key] = row.copy()
        else:
            mine.merge(row)

    def fold(self, granularity: str = "hour", *, sketch: bool = True) -> Rollup:
        """A new rollup of the same spans with coarser buckets (``sketch=False``: no latency)."""
        return Rollup(granularity).merge(self, sketch=sketch)

    def select(self, since_ns: int | None = None, until_ns: int | None = None) -> Rollup:
        """A new rollup of the rows whose bucket starts within ``[since_ns, until_ns)``."""
        out = Rollup(self.granularity)
        for k, r in self.rows.items():
            if (since_ns is None or k[0] >= since_ns) and (until_ns is None or k[0] < until_ns):
                out.rows[k] = r.copy()
        return out

    def total(self) -> RollupRow:
        """All rows summed into one."""
        t = RollupRow()
        for r in self.rows.values():
            t.merge(r)
        return t

    @property
    def span_count(self) -> int:
        return sum(r.count for r in self.rows.values())

    def bucket_range(self) -> tuple[int, int] | None:
        """(first bucket start, last bucket start), or None when empty."""
        if not self.rows:
            return None
        bs = [k[0] for k in self.rows]
        return min(bs), max(bs)

    # --- serialisation ---------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Serialise (see the module docstring for the layout). A minute rollup also
        carries its hour fold, so readers after hours need not decode every minute."""
        tables: tuple[dict[str, int], dict[str, int], dict[str, int]] = ({}, {}, {})
        rows = _wire_rows(self, tables)
        hour_rows = None
        if self.granularity == "minute":
            hour_rows = _hour_wire_rows(self, tables)
            if hour_rows is None:
                hour_rows = _wire_rows(self.fold("hour"), tables)
        return _enc.encode(
            [
                ROLLUP_VERSION,
                self.granularity,
                *(list(t) for t in tables),
                rows,
                *([hour_rows] if hour_rows is not None else []),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes, granularity: str | None = None, *, latency: bool = True) -> Rollup:
        """Parse ``to_bytes`` output; with ``granularity`` (coarser than stored), the
        rollup folded to it, from the stored hour fold when there is one.

        ``latency=False`` leaves every row's sketch empty (faster, for sums only): such a
        rollup must not feed percentiles (``lean`` is True on it).

        Raises RollupVersionError or msgspec.DecodeError (ValidationError included)."""
        try:
            w = _dec.decode(data)
        except msgspec.ValidationError:
            v = msgspec.msgpack.decode(data, type=_VersionOnly).version
            if v not in _READABLE:
                raise RollupVersionError(
                    f"rollup version {v} is not supported (this code reads {sorted(_READABLE)})"
                ) from None
            raise
        if w.version not in _READABLE:
            raise RollupVersionError(
                f"rollup version {w.version} is not supported (this code reads {sorted(_READABLE)})"
            )
        stored, raw = w.granularity, w.rows
        if granularity == "hour" and stored == "minute" and len(w.hour_rows):
            stored, raw = "hour", w.hour_rows
        out = cls(stored)
        rows = out.rows
        services, kinds, models = w.services, w.kinds, w.models
        from_wire = LatencySketch.from_wire
        out.lean = not latency
        empty = LatencySketch()
        for b, si, ki, mi, status, *sums, sk in (_rows_dec if latency else _rows_dec_lean).decode(raw):
            r = RollupRow.__new__(RollupRow)
            (
                r.count,
                r.errors,
                r.input_tokens,
                r.output_tokens,
                r.cache_read_tokens,
                r.cache_write_tokens,
                r.reasoning_tokens,
                r.cost_usd,
                r.duration_sum_ns,
            ) = sums
            r.sketch = from_wire(sk) if latency else empty
            rows[(b, services[si], kinds[ki], models[mi], status)] = r
        if granularity is not None and granularity != stored:
            folded = out.fold(granularity, sketch=latency)
            folded.lean = out.lean
            return folded
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rollup):
            return NotImplemented
        return self.granularity == other.granularity and self.rows == other.rows

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rollup({self.granularity}, {len(self.rows)} rows, {self.span_count} spans)"
