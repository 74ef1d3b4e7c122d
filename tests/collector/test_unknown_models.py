"""``agenttrace_cost_unknown_model_total{model}``: spans whose model matched no price, from a
real collector; monotonic across SIGHUP (which rebuilds the cost stage); label values capped."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from collector_helpers import datagrams, make_spans

from agenttrace.collector.counters import DomainCounters, DomainSnapshot
from agenttrace.pricing import CostStage
from agenttrace.wire import encode

UNKNOWN = "agenttrace_cost_unknown_model_total"

CONFIG = """
[collector]
log_file = "{log}"
[metrics]
max_label_values = 2
[receive]
max_datagram_bytes = 2048
"""


def _series(m: dict[str, float]) -> dict[str, float]:
    prefix = UNKNOWN + '{model="'
    return {k[len(prefix) : -2]: v for k, v in m.items() if k.startswith(prefix)}


def test_unknown_models_are_counted_capped_and_survive_a_reload(start_collector, tmp_path: Path):
    log_file = tmp_path / "collector.log"
    c = start_collector("--workers", "1", config=CONFIG.format(log=log_file))
    # One model at a time, so the order in which label values are admitted is fixed.
    c.send_udp(datagrams(3, 3, sender_id=71, model="mystery-a"))
    c.wait_for(lambda m: _series(m) == {"mystery-a": 3})
    c.send_udp(datagrams(2, 2, sender_id=73, model="mystery-b"))
    c.wait_for(lambda m: _series(m) == {"mystery-a": 3, "mystery-b": 2})
    c.send_udp(datagrams(1, 1, sender_id=74, model="mystery-c"))  # past max_label_values
    c.wait_for(lambda m: _series(m) == {"mystery-a": 3, "mystery-b": 2, "other": 1})
    c.send_udp(datagrams(4, 4, sender_id=72, model="gpt-4o"))  # priced: not unknown
    m = c.wait_for(lambda m: m.get("agenttrace_spans_stored_total") == 10)
    assert _series(m) == {"mystery-a": 3, "mystery-b": 2, "other": 1}
    assert m['agenttrace_spans_total{kind="llm",model="other",service="svc",status="ok"}'] == 5  # c + gpt-4o

    # SIGHUP rebuilds the cost stage (its Counter starts again at 0); the series must not.
    c.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while log_file.read_text().count("reloaded") < 2:  # the main process and the worker
        assert time.monotonic() < deadline, "SIGHUP was not handled"
        time.sleep(0.1)
    c.send_udp(datagrams(1, 1, sender_id=75, model="mystery-a"))
    c.wait_for(lambda m: _series(m) == {"mystery-a": 4, "mystery-b": 2, "other": 1})
    assert c.stop() == 0


def test_a_datagram_over_max_datagram_bytes_is_dropped_as_oversize(start_collector, tmp_path: Path):
    c = start_collector("--workers", "1", config=CONFIG.format(log=tmp_path / "c.log"))
    big = encode(make_spans(200), sender_id=81, seq=0)
    small = encode(make_spans(1), sender_id=81, seq=1)
    assert 65507 > len(big) > 2048 > len(small)
    c.send_udp([big, small])
    m = c.wait_for(lambda m: m.get("agenttrace_spans_stored_total") == 1)
    assert m['agenttrace_datagrams_dropped_total{reason="oversize"}'] == 1
    assert c.stop() == 0


def _unknown_spans(model: str, n: int) -> list:
    return make_spans(n, model=model)


def test_domain_counters_fold_in_each_stage_and_keep_counting_across_rebuilds():
    d = DomainCounters(max_label_values=8)
    first = CostStage()
    first(_unknown_spans("replayed-before-watch", 5))  # e.g. WAL replay: not counted again
    d.watch_unknown_models([lambda spans: None, first])
    first(_unknown_spans("m", 2))
    first(make_spans(3, model="gpt-4o"))
    assert dict(d.snapshot().unknown_models) == {"m": 2}
    first(_unknown_spans("m", 1))  # after the last snapshot, before the rebuild
    second = CostStage()
    d.watch_unknown_models([second])
    second(_unknown_spans("m", 1))
    assert dict(d.snapshot().unknown_models) == {"m": 4}

    # A restarted worker continues from the published snapshot.
    again = DomainCounters(max_label_values=8)
    again.load(DomainSnapshot(unknown_models=d.snapshot().unknown_models))
    third = CostStage()
    again.watch_unknown_models([third])
    third(_unknown_spans("m", 1))
    assert dict(again.snapshot().unknown_models) == {"m": 5}
