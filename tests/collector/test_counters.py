"""Counter blocks in shared memory: one writer, other readers, across processes."""

from __future__ import annotations

import multiprocessing

from agenttrace.collector.counters import WAL_HIST, CounterBlock, DomainCounters, DomainSnapshot
from agenttrace.model import Span, Usage


def _writer(name: str, n: int) -> None:
    block = CounterBlock.attach(name)
    d = DomainCounters(max_label_values=2)
    for i in range(n):
        block.add("spans_stored")
        d.observe([Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=0, end_ns=1, model=f"m{i % 3}")])
    block.publish(d.snapshot())
    block.close()


def test_a_worker_process_writes_and_the_owner_reads():
    block = CounterBlock.create()
    try:
        proc = multiprocessing.get_context("spawn").Process(target=_writer, args=(block.name, 30))
        proc.start()
        proc.join(30)
        assert proc.exitcode == 0
        assert block.get("spans_stored") == 30
        snap = block.read_snapshot()
        # Label cap 2: the third model is folded into "other".
        assert sorted((m, n) for _, _, m, _, n in snap.spans) == [("m0", 10), ("m1", 10), ("other", 10)]
    finally:
        block.close()
        block.unlink()


def test_snapshot_survives_a_restart_and_counts_continue():
    block = CounterBlock.create()
    try:
        first = DomainCounters()
        s = Span(
            trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=0, end_ns=2 * 10**9, kind="llm", status=2,
            service="a", model="m", usage=Usage(input_tokens=5, output_tokens=1), cost_usd=0.5,
        )  # fmt: skip
        first.observe([s])
        block.publish(first.snapshot())
        second = DomainCounters()  # a restarted worker
        second.load(block.read_snapshot())
        second.observe([s])
        snap = second.snapshot()
        assert snap.spans == [("a", "llm", "m", "error", 2)]
        assert dict(((sv, m, t), n) for sv, m, t, n in snap.tokens) == {
            ("a", "m", "input"): 10,
            ("a", "m", "output"): 2,
        }
        assert snap.cost == [("a", "m", 1.0)]
        (kind, buckets, total) = snap.durations[0]
        assert kind == "llm" and sum(buckets) == 2 and total == 4.0
    finally:
        block.close()
        block.unlink()


def test_unknown_kinds_and_oversized_snapshots_are_bounded():
    d = DomainCounters(max_label_values=1000, max_series=5)
    spans = [
        Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=0, end_ns=1, kind="weird", model=str(i))
        for i in range(50)
    ]
    d.observe(spans)
    assert len(d.spans) <= 6  # 5 series, then everything new goes to ("other", kind, "other", status)
    assert d.spans[("other", "other", "other", "unset")] == 45


def test_latency_histogram_and_empty_snapshot():
    block = CounterBlock.create()
    try:
        assert block.read_snapshot() == DomainSnapshot()
        block.observe_latency(WAL_HIST, 0.0002)
        block.observe_latency(WAL_HIST, 100.0)
        h = block.histogram(WAL_HIST)
        assert sum(h) == 2 and h[-1] == 1  # the second one only fits +Inf
        assert block.get("wal_count") == 2
    finally:
        block.close()
        block.unlink()
