"""The worker hot path's compiled helpers agree with their twins and with the slow path.

``transpose`` (spans to columns), ``rollup_groups`` (a rollup's sums in one loop) and the
compiled ``decode_batch``'s GC untracking: compiled and pure-Python builds must give the
same columns, the same rollups (floats bit for bit) and the same spans.
"""

from __future__ import annotations

import gc
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from segment_strategies import COMPILED, TWIN, columns_mod, segment_build, spans

from agenttrace import wire
from agenttrace._native import decode_py
from agenttrace.model import Event, Span, Usage
from agenttrace.store import rollup as rollup_mod
from agenttrace.store import segment
from agenttrace.store.rollup import TOKEN_FIELDS, Rollup
from agenttrace.store.sketch import _INV_LOG_GAMMA

__all__ = ["columns_mod", "segment_build"]  # the fixtures, re-exported for pytest

FIELDS = Span.__struct_fields__


def _compiled_decode():
    try:
        import agenttrace._native.decode as mod
    except ImportError:
        return None
    return mod


@pytest.fixture(params=["compiled", "python"], scope="module")
def rollup_build(request):
    """Rollup on the compiled column module, then on the twin."""
    if request.param == "compiled":
        if COMPILED is None:
            pytest.skip("agenttrace._native.columns is not built (cythonize it to test the compiled build)")
        mod = COMPILED
    else:
        mod = TWIN
    saved = rollup_mod._cols, rollup_mod._COMPILED
    rollup_mod._cols, rollup_mod._COMPILED = mod, mod is COMPILED
    try:
        yield mod
    finally:
        rollup_mod._cols, rollup_mod._COMPILED = saved


def _one_by_one(ss: list[Span], granularity: str = "minute") -> Rollup:
    r = Rollup(granularity)
    for s in ss:
        r.add_span(s)
    return r


def _rows_exactly(r: Rollup) -> dict:
    """Every sum of every row, cost as its exact bits, plus the sketch's buckets."""
    out = {}
    for k, row in r.rows.items():
        d = row.as_dict()
        d["cost_usd"] = float(d["cost_usd"]).hex()
        sk = row.sketch
        out[k] = (d, sk.count, sk.zero, sk.min, sk.max, dict(sk.bins))
    return out


# --- transpose -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(ss=st.lists(spans(), max_size=25))
def test_transpose_gives_each_field_of_each_span(columns_mod, ss):
    cols = columns_mod.transpose(ss, FIELDS)
    assert len(cols) == len(FIELDS)
    for name, col in zip(FIELDS, cols, strict=True):
        assert col == [getattr(s, name) for s in ss]
        assert all(a is getattr(s, name) for a, s in zip(col, ss, strict=True))  # the objects, not copies
    usage = [s.usage for s in ss]
    tokens = columns_mod.transpose(usage, TOKEN_FIELDS, 0)
    for name, col in zip(TOKEN_FIELDS, tokens, strict=True):
        assert col == [0 if u is None else getattr(u, name) for u in usage]


class _Plain:
    """Not a Struct: a property and an instance attribute, read through getattr."""

    def __init__(self, a: int) -> None:
        self.a = a

    @property
    def b(self) -> int:
        return self.a * 2


def test_transpose_reads_objects_without_slots_and_mixed_types(columns_mod):
    objs = [_Plain(1), Usage(input_tokens=5), None, _Plain(3)]
    with pytest.raises(AttributeError):
        columns_mod.transpose(objs, ("a",))
    assert columns_mod.transpose([_Plain(1), None, _Plain(3)], ("a", "b"), -1) == [[1, -1, 3], [2, -1, 6]]
    assert columns_mod.transpose((u for u in [Usage(1, 2), None]), ("output_tokens",)) == [[2, None]]
    assert columns_mod.transpose([], ("a",)) == [[]]


def test_compiled_and_twin_split_spans_agree(segment_build):
    ss = [
        Span(trace_id=b"t" * 16, span_id=bytes([i]) * 8, name="x", start_ns=i, end_ns=i + 5, usage=u)
        for i, u in enumerate([None, Usage(1, 2, 3, 4, 5, 6), None])
    ]
    cols = segment.split_spans(ss)
    assert cols["has_usage"] == [False, True, False]
    assert cols["cache_write_1h_tokens"] == [0, 6, 0]
    assert cols["name"] == ["x"] * 3 and "usage" not in cols


# --- rollup_groups ----------------------------------------------------------------------


def _columns(ss: list[Span]) -> dict[str, list]:
    cols = {f: [getattr(s, f) for s in ss] for f in ("start_ns", "end_ns", "service", "kind", "model", "status")}
    cols["cost_usd"] = [s.cost_usd for s in ss]
    for f in TOKEN_FIELDS:
        cols[f] = [getattr(s.usage, f) if s.usage else None for s in ss]
    return cols


def _groups(mod, ss: list[Span], rows_before: dict | None = None) -> dict:
    c = _columns(ss)
    tokens = [c[f] for f in TOKEN_FIELDS]
    args = [c[f] for f in ("start_ns", "end_ns", "service", "kind", "model", "status")]
    return mod.rollup_groups(60_000_000_000, _INV_LOG_GAMMA, *args, tokens, c["cost_usd"], rows_before or {})


def _in_64_bits(s: Span) -> Span:
    """The span with a duration and token counts the compiled 64-bit sums hold."""
    s.end_ns = s.start_ns + s.end_ns % 10**13
    if s.usage is not None:
        s.usage = Usage(*(getattr(s.usage, f) % 10**12 for f in Usage.__struct_fields__))
    return s


small_spans = spans(start=st.integers(-(10**15), 2**62)).map(_in_64_bits)


@settings(max_examples=60, deadline=None)
@given(ss=st.lists(small_spans, max_size=30))
def test_compiled_rollup_groups_equal_the_twin(ss):
    if COMPILED is None:
        pytest.skip("agenttrace._native.columns is not built")
    compiled = _groups(COMPILED, ss)
    twin = _groups(TWIN, ss)
    assert compiled.keys() == twin.keys()
    for k in twin:
        assert compiled[k][:7] == twin[k][:7]
        assert math.isnan(twin[k][7]) or compiled[k][7].hex() == twin[k][7].hex()
        assert compiled[k][8:] == twin[k][8:]


@settings(max_examples=60, deadline=None)
@given(ss=st.lists(spans(), max_size=40), cut=st.integers(0, 40))
def test_rollup_from_columns_equals_span_by_span(rollup_build, ss, cut):
    """add_spans and add_columns (in two parts: rows that exist already) give exactly
    what add_span one span at a time gives, floats included; beyond 64 bits too."""
    want = _rows_exactly(_one_by_one(ss))
    a = Rollup()
    a.add_spans(ss)
    assert _rows_exactly(a) == want
    b = Rollup()
    b.add_columns(_columns(ss[:cut]))
    if ss[cut:]:
        b.add_columns(_columns(ss[cut:]))
    assert _rows_exactly(b) == want
    try:
        blob = b.to_bytes()
    except OverflowError:
        return  # sums beyond 64 bits do not serialise (the writer then seals without a rollup)
    assert Rollup.from_bytes(blob) == Rollup.from_bytes(_one_by_one(ss).to_bytes())


def test_rollup_sums_beyond_64_bits_are_exact(rollup_build):
    big = 2**62
    ss = [
        Span(
            trace_id=b"t" * 16,
            span_id=bytes([i]) * 8,
            name="x",
            start_ns=0,
            end_ns=big,
            kind="llm",
            usage=Usage(input_tokens=big),
            cost_usd=0.1,
        )
        for i in range(4)
    ]
    r = Rollup()
    r.add_spans(ss)
    [row] = r.rows.values()
    assert row.input_tokens == 4 * big and row.duration_sum_ns == 4 * big
    assert _rows_exactly(r) == _rows_exactly(_one_by_one(ss))


def test_rollup_of_known_spans(rollup_build):
    minute = 60_000_000_000
    ss = [
        Span(trace_id=b"t" * 16, span_id=b"a" * 8, name="x", start_ns=minute + 5, end_ns=minute + 5, status=2),
        Span(trace_id=b"t" * 16, span_id=b"b" * 8, name="x", start_ns=minute + 9, end_ns=minute + 1_000_009),
        Span(trace_id=b"t" * 16, span_id=b"c" * 8, name="x", start_ns=-1, end_ns=-3, cost_usd=0.25),
    ]
    r = Rollup()
    r.add_spans(ss)
    assert sorted((k, v.count, v.errors, v.duration_sum_ns, v.cost_usd) for k, v in r.rows.items()) == [
        ((-minute, "", "custom", "", 0), 1, 0, -2, 0.25),  # floor, as Python's %; a negative duration
        ((minute, "", "custom", "", 0), 1, 0, 1_000_000, 0.0),
        ((minute, "", "custom", "", 2), 1, 1, 0, 0.0),
    ]
    assert r.rows[(-minute, "", "custom", "", 0)].sketch.zero == 1


# --- decode_batch ------------------------------------------------------------------------


def test_compiled_decode_untracks_plain_spans_and_equals_the_twin():
    mod = _compiled_decode()
    if mod is None:
        pytest.skip("agenttrace._native.decode is not built")
    plain = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=1, end_ns=2, tags=["a"], attributes={"k": 1})
    nested = Span(trace_id=b"t" * 16, span_id=b"u" * 8, name="y", start_ns=1, end_ns=2, attributes={"k": [1]})
    with_event = Span(
        trace_id=b"t" * 16, span_id=b"v" * 8, name="z", start_ns=1, end_ns=2, events=[Event(name="e", time_ns=1)]
    )
    grams = [wire.encode([plain, nested, with_event], sender_id=1, seq=0), b"junk"]
    good, errors = mod.decode_batch(grams)
    assert (good, errors) == decode_py.decode_batch(grams)
    p, n, e = good[0][1]
    assert not gc.is_tracked(p) and not gc.is_tracked(p.tags)
    # Anything holding a tracked container stays tracked, so the GC still sees through it.
    assert gc.is_tracked(n) and gc.is_tracked(e) and gc.is_tracked(e.events)
    # Untracked spans are still freed by reference counting, and still work as values.
    p.tags.append("b")
    assert p.tags == ["a", "b"]


def test_adding_columns_to_existing_rows_keeps_the_float_sum_in_span_order(rollup_build):
    """0.1 + 0.2 + 0.3 span by span is not 0.1 + (0.2 + 0.3): the second add_columns
    must continue the row's running sum, not add a sum of its own."""
    ss = [
        Span(trace_id=b"t" * 16, span_id=bytes([i]) * 8, name="x", start_ns=i, end_ns=i + 1, cost_usd=c)
        for i, c in enumerate([0.1, 0.2, 0.3])
    ]
    r = Rollup()
    r.add_columns(_columns(ss[:1]))
    r.add_columns(_columns(ss[1:]))
    [row] = r.rows.values()
    assert row.cost_usd == (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)
    assert row.count == 3 and row.sketch.count == 3 and row.sketch.min == row.sketch.max == 1


# --- Bloom filters ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(values=st.sets(st.binary(max_size=20), max_size=60), k=st.integers(1, 9))
def test_bloom_bits_follow_the_documented_probes(segment_build, values, k):
    """Bit for bit what segment.md specifies (blake2b-64, probes h1 + i*h2 mod m)."""
    bloom = segment.Bloom.build(values, k=k)
    m = len(bloom.bits) * 8
    want = bytearray(m // 8)
    for v in values:
        for bit in segment._probes(v, k, m):
            want[bit >> 3] |= 1 << (bit & 7)
    assert bloom.bits == bytes(want)
    assert all(bloom.may_contain(v) for v in values)


def test_bloom_set_agrees_between_builds(columns_mod):
    hashes = [0, 1, 2**32 - 1, 2**32, 2**64 - 1, 0x0123456789ABCDEF]
    bits = bytearray(13)
    columns_mod.bloom_set(bits, hashes, 7)
    want = bytearray(13)
    TWIN.bloom_set(want, hashes, 7)
    assert bits == want and any(bits)
    columns_mod.bloom_set(bytearray(), hashes, 7)  # no bits: nothing to set, no error


@settings(max_examples=40, deadline=None)
@given(ss=st.lists(spans(start=st.integers(0, 4 * 3_600_000_000_000)), max_size=40))
def test_stored_hour_fold_equals_folding_the_minutes(rollup_build, ss):
    """to_bytes builds the hour rows straight from the minute rows' sketches (bucket
    dicts after add_span, wire form after add_columns); they must be the rows folding
    the minutes gives (floats included)."""
    for how in ("add_span", "add_columns"):
        r = Rollup()
        if how == "add_span":
            for s in ss:
                r.add_span(s)
        elif ss:
            r.add_columns(_columns(ss))
        _check_hour_fold(r)


def _check_hour_fold(r: Rollup) -> None:
    tables_a: tuple = ({}, {}, {})
    tables_b: tuple = ({}, {}, {})
    rollup_mod._wire_rows(r, tables_a)
    rollup_mod._wire_rows(r, tables_b)
    fast = rollup_mod._hour_wire_rows(r, tables_a)
    assert fast is not None
    slow = rollup_mod._wire_rows(r.fold("hour"), tables_b)
    assert [repr(row[:-1]) for row in fast] == [repr(row[:-1]) for row in slow]  # nan == nan too
    assert [row[-1] for row in fast] == [row[-1] for row in slow] and tables_a == tables_b
    try:
        blob = r.to_bytes()
    except OverflowError:
        return  # sums beyond 64 bits do not serialise (the writer then seals without a rollup)
    assert _rows_exactly(Rollup.from_bytes(blob, "hour")) == _rows_exactly(r.fold("hour"))


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.sampled_from([b"", b"a", b"bc", b"\x00" * 20]) | st.binary(max_size=6), max_size=400))
def test_dict_codes_is_dict_encode_written_as_the_dict_column(columns_mod, values):
    distinct, codes = columns_mod.dict_codes(values)
    want_distinct, want_codes = TWIN.dict_encode(values)
    assert distinct == want_distinct
    assert columns_mod.encode_dict(distinct, ()) + codes == TWIN.encode_dict(want_distinct, want_codes)
    assert TWIN.decode_dict(TWIN.encode_dict(distinct, ()) + codes, len(values)) == (distinct, want_codes)
