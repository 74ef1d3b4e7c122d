"""The column codecs, compiled and pure-Python, agree with each other and round-trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from segment_strategies import COMPILED, INT64, TWIN, columns_mod

__all__ = ["columns_mod"]  # the fixture, re-exported for pytest

ints = st.lists(INT64, max_size=50)
blobs = st.lists(st.binary(max_size=40), max_size=30)


@given(values=ints, data=st.data())
@settings(max_examples=60, deadline=None)
def test_varints_and_deltas_round_trip(columns_mod, values, data):
    n = len(values)
    assert columns_mod.decode_varints(columns_mod.encode_varints(values), n) == values
    assert columns_mod.decode_deltas(columns_mod.encode_deltas(values), n) == values
    rows = data.draw(st.lists(st.integers(0, n - 1), max_size=5)) if n else []
    want = [values[r] for r in rows]
    assert columns_mod.decode_varints(columns_mod.encode_varints(values), n, 0, rows) == want
    assert columns_mod.decode_deltas(columns_mod.encode_deltas(values), n, 0, rows) == want
    flags = [v % 3 == 0 for v in values]
    assert columns_mod.decode_bitmap(columns_mod.encode_bitmap(flags), n, 0, rows) == [flags[r] for r in rows]
    with pytest.raises(IndexError):
        columns_mod.decode_varints(columns_mod.encode_varints(values), n, 0, [n])


@given(values=blobs, data=st.data())
@settings(max_examples=60, deadline=None)
def test_blobs_dict_fixed_bitmap_round_trip(columns_mod, values, data):
    n = len(values)
    assert columns_mod.decode_blobs(columns_mod.encode_blobs(values), n) == values
    rows = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=5)) if n else []
    assert columns_mod.decode_blobs(columns_mod.encode_blobs(values), n, 0, rows) == [values[r] for r in rows]
    distinct, codes = columns_mod.dict_encode(values)
    assert [distinct[c] for c in codes] == values
    packed = columns_mod.encode_dict(distinct, codes)
    assert columns_mod.decode_dict(packed, n) == (distinct, codes)
    subset, picked = columns_mod.decode_dict(packed, n, rows)
    assert [subset[c] for c in picked] == [values[r] for r in rows]
    assert len(subset) == len({values[r] for r in rows})  # only the values those rows use
    probe = data.draw(st.one_of(st.sampled_from(values), st.binary(max_size=3))) if n else b"x"
    assert columns_mod.dict_find(packed, n, probe) == [i for i, v in enumerate(values) if v == probe]
    fixed = [v.ljust(8, b"\0")[:8] for v in values]
    assert columns_mod.decode_fixed(columns_mod.encode_fixed(fixed, 8), n, 8) == fixed
    flags = [bool(len(v) % 2) for v in values]
    assert columns_mod.decode_bitmap(columns_mod.encode_bitmap(flags), n) == flags


@pytest.mark.skipif(COMPILED is None, reason="agenttrace._native.columns is not built")
@given(values=ints, items=blobs)
@settings(max_examples=60, deadline=None)
def test_compiled_and_twin_write_identical_bytes(values, items):
    for name in ("encode_varints", "encode_deltas"):
        assert getattr(COMPILED, name)(values) == getattr(TWIN, name)(values)
    assert COMPILED.encode_blobs(items) == TWIN.encode_blobs(items)
    assert COMPILED.encode_dict(*COMPILED.dict_encode(items)) == TWIN.encode_dict(*TWIN.dict_encode(items))


def test_out_of_range_ints_raise_overflow(columns_mod):
    for bad in (2**63, -(2**63) - 1):
        with pytest.raises(OverflowError):
            columns_mod.encode_varints([bad])
        with pytest.raises(OverflowError):
            columns_mod.encode_deltas([0, bad])


def test_extreme_deltas_wrap_and_come_back(columns_mod):
    values = [2**63 - 1, -(2**63), 2**63 - 1, 0]
    assert columns_mod.decode_deltas(columns_mod.encode_deltas(values), 4) == values


@pytest.mark.parametrize(
    ("call", "data"),
    [
        ("decode_varints", b"\x80\x80"),  # a varint that never ends
        ("decode_varints", b"\xff" * 11 + b"\x01"),  # longer than 10 bytes
        ("decode_blobs", b"\x05ab"),  # a blob longer than what is left
        ("decode_dict", b"\x01\x01a\x05"),  # code 5 of a one-value dictionary
        ("decode_dict", b"\x09\x01a"),  # claims more values than bytes
        ("decode_bitmap", b""),
        ("decode_fixed", b"1234567"),
    ],
)
def test_truncated_or_bad_input_raises_value_error(columns_mod, call, data):
    args = {"decode_fixed": (data, 1, 8)}.get(call, (data, 1))
    with pytest.raises(ValueError):
        getattr(columns_mod, call)(*args)


def test_stub_twin_and_compiled_module_name_the_same_functions():
    import ast
    from pathlib import Path

    stub = Path(TWIN.__file__).with_name("columns.pyi").read_text()
    names = {n.name for n in ast.parse(stub).body if isinstance(n, ast.FunctionDef)}
    assert names == set(TWIN.__all__)
    assert all(callable(getattr(TWIN, n)) for n in names)
    if COMPILED is not None:
        assert set(COMPILED.__all__) == names


@pytest.mark.parametrize("row", [-1, 3])
def test_rows_out_of_range_raise_index_error_in_both_builds(columns_mod, row):
    m = columns_mod
    calls = [
        lambda: m.decode_varints(m.encode_varints([1, 2, 3]), 3, 0, [row]),
        lambda: m.decode_deltas(m.encode_deltas([1, 2, 3]), 3, 0, [row]),
        lambda: m.decode_blobs(m.encode_blobs([b"a", b"b", b"c"]), 3, 0, [row]),
        lambda: m.decode_fixed(b"aabbcc", 3, 2, 0, [row]),
        lambda: m.decode_bitmap(m.encode_bitmap([True, False, True]), 3, 0, [row]),
        lambda: m.decode_dict(m.encode_dict([b"a"], [0, 0, 0]), 3, [row]),
    ]
    for call in calls:
        with pytest.raises(IndexError):
            call()
