"""``agenttrace demo``: pacing, and the traffic it sends through the real SDK."""

from __future__ import annotations

import asyncio
import collections
import subprocess
import sys

import pytest

from agenttrace import wire
from agenttrace.demo import SERVICES, RateLimiter, capture
from agenttrace.pricing import default_catalogue


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_grants_the_burst_then_the_rate() -> None:
    clock = FakeClock()
    lim = RateLimiter(8.0, burst=5.0, clock=clock)  # binary-exact times: 1/8 s per token
    assert [lim.try_take(1) for _ in range(5)] == [0.0] * 5  # the burst
    assert lim.try_take(1) == 0.125  # then one token per 1/rate seconds
    clock.now += 0.125
    assert lim.try_take(1) == 0.0
    lim.adjust(-3)  # a trace used 3 fewer spans than booked: they come back
    assert [lim.try_take(1) for _ in range(3)] == [0.0] * 3
    assert lim.try_take(1) > 0
    clock.now += 60  # idle time never banks more than the burst
    assert [lim.try_take(1) for _ in range(5)] == [0.0] * 5
    assert lim.try_take(1) > 0


def test_rate_limiter_acquire_waits_for_tokens() -> None:
    async def run() -> float:
        lim = RateLimiter(200.0, burst=1.0)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for _ in range(21):
            await lim.acquire()
        return loop.time() - start

    assert asyncio.run(run()) >= 0.09  # 20 tokens beyond the burst at 200/s take 0.1 s


@pytest.fixture(scope="module")
def traffic() -> list:
    # Model calls take seconds in real time; at 20x a 3 s run holds whole conversations.
    datagrams = capture(3.0, seed=3, rate=150, speed=20)
    return [s for d in datagrams for s in wire.decode(d).spans]


def test_demo_sends_all_services_and_many_kinds(traffic: list) -> None:
    assert {s.service for s in traffic} == set(SERVICES)
    kinds = collections.Counter(s.kind for s in traffic)
    for kind in ("agent", "llm", "file", "terminal", "retrieval", "embedding", "guardrail"):
        assert kinds[kind] > 0, kinds
    assert len({s.session_id for s in traffic}) >= 6
    assert all(s.session_id and s.user_id for s in traffic)


def test_demo_models_are_priced_and_tokens_follow_the_convention(traffic: list) -> None:
    catalogue = default_catalogue()
    llm = [s for s in traffic if s.kind == "llm"]
    assert llm
    assert all(catalogue.get(s.model) is not None for s in traffic if s.model), {s.model for s in traffic}
    priced = [s for s in llm if s.usage is not None]
    assert priced
    for s in priced:
        u = s.usage
        assert u.cache_read_tokens + u.cache_write_tokens <= u.input_tokens
        assert u.reasoning_tokens <= u.output_tokens
    assert any(s.usage.cache_read_tokens for s in priced), "no prompt-cache hits"


def test_demo_traces_are_trees_with_occasional_errors(traffic: list) -> None:
    ids = {(s.trace_id, s.span_id) for s in traffic}
    roots = [s for s in traffic if not s.parent_id]
    assert roots and all(s.kind == "agent" for s in roots)
    # Every child's parent arrived too: the demo winds down by finishing its traces.
    assert all((s.trace_id, s.parent_id) in ids for s in traffic if s.parent_id)
    errors = [s for s in traffic if s.status == 2]
    assert 0 < len(errors) < len(traffic) / 3
    assert all(s.end_ns >= s.start_ns for s in traffic)


def test_demo_command_rejects_an_unknown_service() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agenttrace.cli", "demo", "--services", "nope", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown service 'nope'" in proc.stderr


def test_demo_bills_no_model_call_cut_short_at_shutdown(traffic: list) -> None:
    # Seen: at the end of a run every trace in flight raced through its remaining model calls
    # in microseconds, each billed in full (22% of a short demo's bill came from them).
    billed = [s for s in traffic if s.kind == "llm" and s.usage is not None and s.usage.input_tokens]
    assert billed
    too_fast = [s for s in billed if s.end_ns - s.start_ns < 1_000_000]
    assert not too_fast, f"{len(too_fast)} of {len(billed)} billed model calls took under 1 ms"


def test_demo_runs_differ_unless_a_seed_is_given() -> None:
    def sessions(seed: int | None) -> set[str]:
        return {s.session_id for d in capture(1.0, seed=seed, rate=60) for s in wire.decode(d).spans}

    first, second = sessions(None), sessions(None)
    assert first and second and not first & second, "two runs without --seed share sessions"
    # The same seed opens the same sessions (which of them send spans within 1 s is timing).
    assert sessions(5) & sessions(5)


def test_demo_says_what_rate_it_reached_and_why() -> None:
    from agenttrace.demo import rate_shortfall

    assert rate_shortfall(200, 3_900, 20.0, 5.0, 3) is None  # 195/s: close enough
    cpu_bound = rate_shortfall(100_000, 400_000, 20.0, 39.0, 3)
    assert cpu_bound and "reached 20,000 of the asked 100,000 spans/s" in cpu_bound and "CPU-bound" in cpu_bound
    ramp = rate_shortfall(200, 1_000, 20.0, 2.0, 3)
    assert ramp and "reached 50 of the asked 200" in ramp and "--speed" in ramp
