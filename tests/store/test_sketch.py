"""The latency sketch against exact percentiles computed by sorting (same rank convention)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenttrace.store.sketch import RELATIVE_ERROR, LatencySketch, exact_quantile

QS = (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0)
durations = st.lists(st.integers(min_value=-1_000, max_value=10**13), min_size=1, max_size=400)


def _within(est: float, exact: int) -> bool:
    if exact <= 0:
        return est == 0 or est == exact
    return abs(est - exact) <= RELATIVE_ERROR * exact * (1 + 1e-9)


def test_stated_error_is_one_percent() -> None:
    assert RELATIVE_ERROR < 0.01


@settings(max_examples=200, deadline=None)
@given(durations)
def test_quantiles_within_stated_relative_error(values: list[int]) -> None:
    s = LatencySketch()
    for v in values:
        s.add(v)
    ordered = sorted(max(v, 0) for v in values)  # negative durations count as 0
    for q, est in zip(QS, s.quantiles(QS), strict=True):
        exact = exact_quantile(ordered, q)
        assert est is not None and exact is not None
        assert _within(est, exact), (q, est, exact)


@settings(max_examples=100, deadline=None)
@given(durations, durations)
def test_merge_equals_sketch_of_union(a: list[int], b: list[int]) -> None:
    sa, sb, su = LatencySketch(), LatencySketch(), LatencySketch()
    sa.add_many(a)
    for v in b:
        sb.add(v)
    su.add_many(a + b)
    assert sa.copy().merge(sb) == su
    assert sa.merge(sb).quantiles(QS) == su.quantiles(QS)


@settings(max_examples=100, deadline=None)
@given(durations)
def test_bytes_round_trip(values: list[int]) -> None:
    s = LatencySketch()
    s.add_many(values)
    t = LatencySketch.from_bytes(s.to_bytes())
    assert t == s
    assert t.quantiles(QS) == s.quantiles(QS)


def test_empty_sketch_answers_none() -> None:
    s = LatencySketch()
    assert s.quantile(0.5) is None
    assert LatencySketch.from_bytes(s.to_bytes()).count == 0


def test_rejects_quantile_outside_unit_interval() -> None:
    s = LatencySketch()
    s.add(5)
    with pytest.raises(ValueError):
        s.quantile(1.5)


def test_serialised_size_is_small_for_realistic_latencies() -> None:
    # 10,000 LLM-like latencies from 200 ms to 30 s: buckets, not values, are stored.
    s = LatencySketch()
    s.add_many(200_000_000 + (i * 7919 % 10_000) * 3_000_000 for i in range(10_000))
    assert len(s.to_bytes()) < 2_000


@settings(max_examples=50, deadline=None)
@given(durations, durations, durations)
def test_adding_after_merging_equals_one_sketch_of_everything(a: list[int], b: list[int], c: list[int]) -> None:
    # A merged sketch switches to its packed form; adding to it afterwards must still count.
    sa, sb, su = LatencySketch(), LatencySketch(), LatencySketch()
    sa.add_many(a)
    sb.add_many(b)
    merged = sa.merge(sb)
    for v in c:
        merged.add(v)
    merged.merge(LatencySketch())
    su.add_many(a + b + c)
    assert merged == su
    assert merged.quantiles(QS) == su.quantiles(QS)
    assert LatencySketch.from_bytes(merged.to_bytes()) == su
