"""Reading the counters: label caps over workers, Prometheus text, live rates."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest

from agenttrace.collector.counters import CounterBlock, DomainCounters
from agenttrace.collector.live import LiveHistory
from agenttrace.collector.metrics import CollectorState, PipelineCollector, Totals, read_totals
from agenttrace.model import Span, Usage


class _Ring:
    def fill(self) -> float:
        return 0.25


class _Receiver:
    def __init__(self, **stats: int) -> None:
        self._stats = stats

    def stats(self) -> dict[str, int]:
        return self._stats


def _span(model: str, status: int = 1) -> Span:
    return Span(
        trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=0, end_ns=10**6, kind="llm", status=status,
        service="svc", model=model, usage=Usage(input_tokens=10, output_tokens=1), cost_usd=0.01,
    )  # fmt: skip


def _state(blocks: list[CounterBlock], cap: int) -> CollectorState:
    slots = [SimpleNamespace(block=b, ring=_Ring(), restarts=0, alive=True) for b in blocks]
    receivers = [
        ("udp", _Receiver(received=10, bytes=1000, lost=3, reordered=1, dropped_bad_magic=2)),
        ("unix", _Receiver(received=5, bytes=500)),
    ]
    return CollectorState(supervisor=SimpleNamespace(slots=slots), receivers=receivers, max_label_values=cap)


def test_label_values_are_capped_over_all_workers_and_text_is_prometheus():
    blocks = [CounterBlock.create(), CounterBlock.create()]
    try:
        # Each worker admits its own first two models; the union has four.
        for block, models in zip(blocks, (["a", "b"], ["c", "d"]), strict=True):
            d = DomainCounters(max_label_values=2)
            d.observe([_span(m) for m in models])
            block.publish(d.snapshot())
            block.add("spans_stored", 2)
        state = _state(blocks, cap=2)
        t = read_totals(state)
        assert t.spans_stored == 4
        assert t.received == 15 and t.lost == 2  # the reordered datagram arrived after all
        models = sorted({m for (_, _, m, _) in t.spans})
        assert models == ["a", "b", "other"]
        assert t.spans[("svc", "llm", "other", "ok")] == 2
        # The admitted set is stable: the next scrape keeps the same series.
        assert sorted({m for (_, _, m, _) in read_totals(state).spans}) == models

        registry = CollectorRegistry(auto_describe=False)
        registry.register(PipelineCollector(state))
        text = generate_latest(registry).decode()
        assert 'agenttrace_datagrams_received_total{transport="unix"} 5.0' in text
        assert 'agenttrace_datagrams_dropped_total{reason="bad_magic"} 2.0' in text
        assert 'agenttrace_datagrams_dropped_total{reason="worker_crash"} 0.0' in text
        assert 'agenttrace_ring_fill_ratio{worker="1"} 0.25' in text
        assert 'agenttrace_cost_usd_total{model="other",service="svc"} 0.02' in text
        assert "# TYPE agenttrace_span_duration_seconds histogram" in text
    finally:
        for b in blocks:
            b.close()
            b.unlink()


def _totals(t: float, stored: int, errors: int, input_tokens: int, cost: float) -> Totals:
    return Totals(
        time=t,
        spans_stored=stored,
        received_by_transport={"udp": stored // 10},
        spans={("s", "llm", "m", "ok"): stored - errors, ("s", "llm", "m", "error"): errors},
        tokens={("s", "m", "input"): input_tokens},
        cost={("s", "m"): cost},
    )


def test_live_rates_come_from_the_last_two_samples():
    h = LiveHistory(started_at=100.0)
    assert h.snapshot().spans_per_s == 0.0  # nothing sampled yet
    h.sample(_totals(101.0, 1000, 10, 5000, 1.0))
    snap = h.sample(_totals(103.0, 5000, 30, 9000, 2.0))
    assert snap.window_s == 2.0 and snap.uptime_s == 3.0
    assert snap.spans_per_s == 2000.0
    assert snap.datagrams_per_s == 200.0
    assert snap.spans_per_s_by_kind == {"llm": 2000.0}
    assert snap.errors_per_s_by_kind == {"llm": 10.0}
    assert snap.tokens_per_s.input == 2000.0
    assert snap.cost_per_min_by_model == {"m": 30.0}
    assert snap.cost_total_usd == 2.0 and snap.stored_total == 5000
    assert snap.history_spans_per_s == [2000.0]
    for i in range(200):
        h.sample(_totals(104.0 + i, 5000 + i, 30, 9000, 2.0))
    assert len(h.snapshot().history_spans_per_s) == 120
