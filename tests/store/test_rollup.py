"""Rollups against a naive aggregation of the same spans (STYLE.md point 8)."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenttrace.model import Span, Usage
from agenttrace.store.rollup import BUCKET_NS, Rollup, RollupVersionError
from agenttrace.store.sketch import RELATIVE_ERROR, exact_quantile

T0 = 1_763_700_000_000_000_000  # 2025-11-21, a Unix time in ns


@st.composite
def spans(draw: st.DrawFn) -> Span:
    start = T0 + draw(st.integers(0, 3 * 3_600_000_000_000))
    usage = draw(
        st.none()
        | st.builds(
            Usage,
            input_tokens=st.integers(0, 100_000),
            output_tokens=st.integers(0, 10_000),
            cache_read_tokens=st.integers(0, 50_000),
            cache_write_tokens=st.integers(0, 5_000),
            reasoning_tokens=st.integers(0, 5_000),
        )
    )
    return Span(
        trace_id=b"t" * 16,
        span_id=b"s" * 8,
        name="n",
        start_ns=start,
        end_ns=start + draw(st.integers(0, 120_000_000_000)),
        kind=draw(st.sampled_from(["llm", "tool", "agent"])),
        status=draw(st.sampled_from([0, 1, 2])),
        service=draw(st.sampled_from(["", "svc-a", "svc-b"])),
        model=draw(st.sampled_from(["", "gpt-4o", "claude-sonnet-4-5"])),
        usage=usage,
        cost_usd=draw(st.none() | st.floats(0, 5, allow_nan=False)),
    )


def naive(spans: list[Span], granularity: str) -> dict[tuple, dict]:
    size = BUCKET_NS[granularity]
    groups: dict[tuple, list[Span]] = defaultdict(list)
    for s in spans:
        groups[(s.start_ns // size * size, s.service, s.kind, s.model, s.status)].append(s)
    out = {}
    for k, ss in groups.items():
        u = [s.usage or Usage() for s in ss]
        out[k] = {
            "count": len(ss),
            "errors": sum(s.status == 2 for s in ss),
            "input_tokens": sum(x.input_tokens for x in u),
            "output_tokens": sum(x.output_tokens for x in u),
            "cache_read_tokens": sum(x.cache_read_tokens for x in u),
            "cache_write_tokens": sum(x.cache_write_tokens for x in u),
            "reasoning_tokens": sum(x.reasoning_tokens for x in u),
            "cost_usd": math.fsum(s.cost_usd or 0.0 for s in ss),
            "duration_sum_ns": sum(s.end_ns - s.start_ns for s in ss),
            "durations": sorted(s.end_ns - s.start_ns for s in ss),
        }
    return out


def assert_matches(r: Rollup, model: dict[tuple, dict]) -> None:
    assert set(r.rows) == set(model)
    for k, want in model.items():
        got = r.rows[k].as_dict()
        assert got.pop("cost_usd") == pytest.approx(want["cost_usd"], rel=1e-9, abs=1e-12)
        durations = want["durations"]
        assert got == {f: v for f, v in want.items() if f not in ("cost_usd", "durations")}
        sk = r.rows[k].sketch
        for q in (0.5, 0.95, 0.99):
            exact = exact_quantile(durations, q)
            est = sk.quantile(q)
            assert est is not None and exact is not None
            assert abs(est - exact) <= RELATIVE_ERROR * exact * (1 + 1e-9) + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(spans(), max_size=80))
def test_minute_rollup_equals_naive_aggregation(ss: list[Span]) -> None:
    r = Rollup()
    r.add_spans(ss)
    assert_matches(r, naive(ss, "minute"))
    assert r.span_count == len(ss)


@settings(max_examples=40, deadline=None)
@given(st.lists(spans(), max_size=80), st.integers(0, 80))
def test_merged_parts_and_folds_equal_naive(ss: list[Span], cut: int) -> None:
    a, b = Rollup(), Rollup()
    a.add_spans(ss[:cut])
    b.add_spans(ss[cut:])
    merged = Rollup.from_bytes(a.to_bytes()).merge(Rollup.from_bytes(b.to_bytes()))
    assert_matches(merged, naive(ss, "minute"))
    assert_matches(merged.fold("hour"), naive(ss, "hour"))
    assert_matches(merged.fold("day"), naive(ss, "day"))
    # A reader after hours or days gets them from the stored hour fold.
    assert_matches(Rollup.from_bytes(merged.to_bytes(), "hour"), naive(ss, "hour"))
    assert_matches(Rollup.from_bytes(merged.to_bytes(), "day"), naive(ss, "day"))
    hourly = Rollup("hour")
    hourly.add_spans(ss)
    assert_matches(hourly, naive(ss, "hour"))


@settings(max_examples=30, deadline=None)
@given(st.lists(spans(), max_size=60))
def test_add_columns_equals_add_span(ss: list[Span]) -> None:
    cols: dict[str, list] = defaultdict(list)
    for s in ss:
        for f in ("start_ns", "end_ns", "service", "kind", "model", "status", "cost_usd"):
            cols[f].append(getattr(s, f))
        for f in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"):
            cols[f].append(getattr(s.usage, f) if s.usage else None)
    a, b = Rollup(), Rollup()
    a.add_spans(ss)
    if ss:
        b.add_columns(cols)
    assert a == b


def test_cannot_merge_coarser_into_finer() -> None:
    with pytest.raises(ValueError):
        Rollup("minute").merge(Rollup("hour"))


def test_unknown_version_is_refused() -> None:
    import msgspec

    data = msgspec.msgpack.encode([99, "minute", [], [], [], []])
    with pytest.raises(RollupVersionError):
        Rollup.from_bytes(data)
    data = msgspec.msgpack.encode([99, "minute", [], [], [], [[1, "new-layout"]]])
    with pytest.raises(RollupVersionError):
        Rollup.from_bytes(data)


def test_version_1_without_hour_fold_still_reads() -> None:
    import msgspec

    r = Rollup()
    r.add_span(Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="n", start_ns=T0, end_ns=T0 + 5, model="m"))
    _version, gran, services, kinds, models, rows, _hours = msgspec.msgpack.decode(r.to_bytes())
    v1 = msgspec.msgpack.encode([1, gran, services, kinds, models, rows])
    assert Rollup.from_bytes(v1) == r
    assert Rollup.from_bytes(v1, "hour") == r.fold("hour")


@settings(max_examples=20, deadline=None)
@given(st.lists(spans(), min_size=1, max_size=40))
def test_lean_decode_has_the_sums_and_no_sketches(ss: list[Span]) -> None:
    r = Rollup()
    r.add_spans(ss)
    for gran in (None, "hour", "day"):
        lean = Rollup.from_bytes(r.to_bytes(), gran, latency=False)
        full = r if gran is None else r.fold(gran)
        assert lean.lean and not full.lean
        assert set(lean.rows) == set(full.rows)
        for k, row in lean.rows.items():
            assert row.as_dict() == {**full.rows[k].as_dict(), "cost_usd": pytest.approx(full.rows[k].cost_usd)}
            assert row.sketch.count == 0
