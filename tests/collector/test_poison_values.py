"""Poison values through a real collector: they never crash a worker or poison a figure.

Each test is one "Seen:" of issue 20: a span with ``input_tokens = 2**64 - 1`` crashed
its worker on every restart (the counter snapshot could not encode the token sum); a
NaN ``cost_usd`` made the cost metric NaN for good and the API answer outside its
schema; Parquet export crashed on such rows. Every out-of-range value is now clamped
or its span rejected, and counted by field and reason.
"""

from __future__ import annotations

import os
import time

from collector_helpers import stored_spans
from figure_checks import check_api_schema, check_exports, check_metrics

from agenttrace.bounds import MAX_TOKENS
from agenttrace.model import Span, Usage
from agenttrace.wire import encode

_seq = iter(range(1_000_000))


def _span(service: str, **kw) -> Span:
    now = time.time_ns()
    fields = {"start_ns": now, "end_ns": now + 1_000_000, "kind": "llm", "model": "gpt-4o", "service": service}
    fields.update(kw)
    return Span(trace_id=os.urandom(16), span_id=os.urandom(8), name="poison", **fields)


def _send(collector, spans: list[Span]) -> None:
    collector.send_udp([encode(spans, sender_id=2020, seq=next(_seq))])


def _restarts(m: dict[str, float]) -> float:
    return sum(v for k, v in m.items() if k.startswith("agenttrace_worker_restarts_total"))


def test_huge_token_counts_do_not_crash_the_worker(shared_collector) -> None:
    c = shared_collector
    before = c.metrics()
    poison = [_span("tok-svc", usage=Usage(input_tokens=2**64 - 1, output_tokens=-5)) for _ in range(2)]
    _send(c, [*poison, _span("tok-svc", usage=Usage(input_tokens=10, output_tokens=1))])
    key = 'agenttrace_tokens_total{model="gpt-4o",service="tok-svc",type="input"}'
    m = c.wait_for(lambda m: key in m, timeout=20)
    assert m[key] == 2 * MAX_TOKENS + 10
    assert m['agenttrace_tokens_total{model="gpt-4o",service="tok-svc",type="output"}'] == 1
    assert m['agenttrace_spans_sanitized_total{field="input_tokens",reason="too_large"}'] == 2
    assert m['agenttrace_spans_sanitized_total{field="output_tokens",reason="negative"}'] == 2
    # The snapshot is published again every interval; a worker that could not encode it
    # would have died by now and been restarted.
    c.wait_for(lambda m: m["agenttrace_spans_stored_total"] >= before["agenttrace_spans_stored_total"] + 3)
    time.sleep(1.0)  # two more publish intervals
    assert _restarts(c.metrics()) == _restarts(before) == 0
    check_metrics(c.get("/metrics")[1].decode())


def test_nan_and_infinite_costs_never_reach_a_figure(shared_collector, tmp_path) -> None:
    c = shared_collector
    bad = [float("nan"), float("inf"), float("-inf"), -3.0, 1e300]
    spans = [_span("nan-svc", cost_usd=v, model="unknown-model-x", usage=Usage(input_tokens=1)) for v in bad]
    spans.append(_span("nan-svc", cost_usd=0.5, model="unknown-model-x"))
    _send(c, spans)
    key = 'agenttrace_cost_usd_total{model="unknown-model-x",service="nan-svc"}'
    m = c.wait_for(lambda m: key in m, timeout=20)
    assert m[key] == 0.5  # the bad ones are unknown (None), not NaN and not a made-up figure
    assert m['agenttrace_spans_sanitized_total{field="cost_usd",reason="not_finite"}'] >= 3
    assert m['agenttrace_spans_sanitized_total{field="cost_usd",reason="negative"}'] >= 1
    assert m['agenttrace_spans_sanitized_total{field="cost_usd",reason="too_large"}'] >= 1
    check_metrics(c.get("/metrics")[1].decode())
    # Sealed (seal_age_s = 1 s), then every route answers in its schema and every export works.
    deadline = time.monotonic() + 20
    while sum(s.service == "nan-svc" for s in stored_spans(c.data_dir)) < len(spans):
        assert time.monotonic() < deadline, "the spans were not sealed"
        time.sleep(0.2)
    assert check_api_schema(c.http, trace_id=spans[0].trace_id.hex(), session_id="none") > 0
    check_exports(c.data_dir, tmp_path, len(stored_spans(c.data_dir)))


def test_times_out_of_range_are_clamped_or_rejected(shared_collector) -> None:
    c = shared_collector
    now = time.time_ns()
    far = now + 10 * 365 * 86_400 * 10**9
    before = c.metrics()
    _send(
        c,
        [
            _span("time-svc", start_ns=now, end_ns=now - 5),  # end before start: clamped
            _span("time-svc", start_ns=now, end_ns=2**64 - 1),  # end in the far future: clamped
            _span("time-svc", start_ns=far, end_ns=far + 1),  # start in the far future: rejected
            _span("time-svc", start_ns=-(2**63), end_ns=0),  # before the epoch: rejected
            _span("time-svc", status=2**40),
        ],
    )
    m = c.wait_for(lambda m: m["agenttrace_spans_stored_total"] >= before["agenttrace_spans_stored_total"] + 3)
    assert m["agenttrace_spans_stored_total"] == before["agenttrace_spans_stored_total"] + 3
    assert m['agenttrace_spans_dropped_total{reason="start_in_future"}'] == 1
    assert m['agenttrace_spans_dropped_total{reason="start_negative"}'] == 1
    assert m['agenttrace_spans_sanitized_total{field="end_ns",reason="end_before_start"}'] == 1
    assert m['agenttrace_spans_sanitized_total{field="end_ns",reason="in_future"}'] == 1
    assert m['agenttrace_spans_sanitized_total{field="status",reason="out_of_range"}'] == 1
    check_metrics(c.get("/metrics")[1].decode())
