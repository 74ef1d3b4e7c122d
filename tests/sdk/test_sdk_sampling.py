"""Head sampling by trace id ratio, keeping every trace that contains an error."""

from __future__ import annotations

import random

import pytest

import agenttrace as at

_MASK64 = (1 << 64) - 1


def _trace(name: str, *, fail_child: bool = False) -> None:
    with at.agent(name):
        with at.tool(f"{name}-ok"):
            pass
        if fail_child:
            with pytest.raises(RuntimeError), at.tool(f"{name}-bad"):
                raise RuntimeError("tool failed")
        with at.span(f"{name}-after"):
            pass


def test_sampled_out_traces_are_dropped_unless_they_error(rec) -> None:
    rec.configure(sample_rate=0.0, rng=random.Random(1))
    _trace("quiet-1")
    _trace("noisy", fail_child=True)
    _trace("quiet-2")
    spans = rec.by_name()
    # The erroring trace arrives whole: spans that ended before the error (held back),
    # the error itself, and those that ended after it.
    assert set(spans) == {"noisy", "noisy-ok", "noisy-bad", "noisy-after"}
    root = spans["noisy"]
    assert all(s.trace_id == root.trace_id for s in spans.values())
    assert spans["noisy-bad"].status == 2
    stats = at.stats()
    assert stats["sampled_out"] == 6
    assert stats["dropped_total"] == 0
    assert stats["sent"] == 4


def test_ratio_sampling_follows_the_trace_id(rec) -> None:
    rec.configure(sample_rate=0.25, rng=random.Random(7))
    for i in range(400):
        with at.span(f"root-{i}"), at.span(f"child-{i}"):
            pass
    spans = rec.spans()
    roots = [s for s in spans if s.parent_id == b""]
    kept_traces = {s.trace_id for s in roots}
    # Whole traces: every kept trace has both its spans.
    assert len(spans) == 2 * len(roots)
    assert {s.trace_id for s in spans} == kept_traces
    # The decision is the trace id's low 64 bits against rate * 2**64 (as OpenTelemetry's
    # TraceIdRatioBased), so any process that sees the id decides alike.
    assert all(int.from_bytes(t, "big") & _MASK64 < (1 << 62) for t in kept_traces)
    assert 60 <= len(roots) <= 140
    assert at.stats()["sampled_out"] == 2 * (400 - len(roots))


def test_seeded_rng_makes_sampling_repeatable(rec) -> None:
    kept = []
    for _ in range(2):
        rec.configure(sample_rate=0.5, rng=random.Random(42))
        for i in range(50):
            with at.span(f"s{i}"):
                pass
        kept.append(sorted(s.name for s in rec.spans()))
    assert kept[0] == kept[1] and 0 < len(kept[0]) < 50


def test_remote_sampled_flag_wins_and_propagates(rec) -> None:
    rec.configure(sample_rate=0.0, rng=random.Random(3))
    sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    not_sampled = "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
    with at.span("upstream-sampled", traceparent=sampled):
        assert at.inject_traceparent().endswith("-01")
    with at.span("upstream-not-sampled", traceparent=not_sampled):
        assert at.inject_traceparent().endswith("-00")
    assert [s.name for s in rec.spans()] == ["upstream-sampled"]
    assert at.stats()["sampled_out"] == 1


def test_sampled_out_buffer_is_bounded_and_counted(rec) -> None:
    from agenttrace.sdk.tracer import MAX_PENDING_PER_TRACE

    rec.configure(sample_rate=0.0, rng=random.Random(5))
    extra = 10
    with at.agent("big"):
        for i in range(MAX_PENDING_PER_TRACE + extra):
            with at.span(f"c{i}"):
                pass
    assert rec.spans() == []
    stats = at.stats()
    assert stats["dropped"] == {"sample_buffer_full": extra}
    assert stats["sampled_out"] == MAX_PENDING_PER_TRACE + 1
