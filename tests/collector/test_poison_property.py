"""Hypothesis drives the whole value space of Span through one real collector.

Extreme integers (−2**63 … 2**64−1), NaN and ±inf floats, huge strings (within the
datagram limit), odd attributes and events: every datagram is stored or counted, the
spans each one holds are stored or rejected-and-counted, ``/metrics`` stays parseable
with no NaN/inf/negative cost, token or duration figure, and at the end every API route
answers in its own schema and JSON/CSV/Parquet export holds every stored span.
Bounded: a few dozen examples against one collector for the module.
"""

from __future__ import annotations

import time

from collector_helpers import stored_spans
from figure_checks import check_api_schema, check_exports, check_metrics
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenttrace.model import Event, Span, Usage
from agenttrace.wire import encode

MAX_DATAGRAM = 65_000  # a UDP datagram on loopback

EXTREME_INTS = st.sampled_from([0, 1, -1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, 2**32])
ANY_INT = st.one_of(EXTREME_INTS, st.integers(-(2**63), 2**64 - 1))
ANY_FLOAT = st.one_of(st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 1e308]), st.floats())


def _times() -> st.SearchStrategy[int]:
    now = time.time_ns()
    return st.one_of(ANY_INT, st.integers(now - 10**12, now + 10**12))


TEXT = st.one_of(st.text(max_size=20), st.text(alphabet="ab€\x00\ud7ff", min_size=1000, max_size=20_000))
ATTR_VALUE = st.one_of(ANY_INT, ANY_FLOAT, st.text(max_size=30), st.booleans())
ATTR = st.dictionaries(st.text(max_size=8), ATTR_VALUE, max_size=4)

usages = st.builds(
    Usage,
    input_tokens=ANY_INT,
    output_tokens=ANY_INT,
    cache_read_tokens=ANY_INT,
    cache_write_tokens=ANY_INT,
    reasoning_tokens=ANY_INT,
    cache_write_1h_tokens=ANY_INT,
)
spans = st.builds(
    Span,
    trace_id=st.binary(min_size=16, max_size=16),
    span_id=st.binary(min_size=8, max_size=8),
    name=TEXT,
    start_ns=_times(),
    end_ns=_times(),
    parent_id=st.sampled_from([b"", b"p" * 8]),
    kind=st.sampled_from(["llm", "tool", "agent", "not-a-kind", ""]),
    status=ANY_INT,
    status_message=st.text(max_size=30),
    session_id=st.sampled_from(["", "sess-p", "x" * 200]),
    service=st.sampled_from(["prop-svc", "", 'svc\n"quoted"']),
    model=st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "no-such-model", ""]),
    usage=st.one_of(st.none(), usages),
    cost_usd=st.one_of(st.none(), ANY_FLOAT),
    input_preview=TEXT,
    attributes=ATTR,
    events=st.lists(st.builds(Event, name=st.text(max_size=10), time_ns=ANY_INT, attributes=ATTR), max_size=2),
    tags=st.lists(st.text(max_size=10), max_size=3),
)


def _accounted(m: dict[str, float]) -> float:
    """Spans stored + spans rejected + datagrams dropped (each test datagram is one unit)."""
    return (
        m["agenttrace_spans_stored_total"]
        + sum(v for k, v in m.items() if k.startswith("agenttrace_spans_dropped_total"))
        + sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_dropped_total"))
    )


def test_any_span_values_leave_sound_figures(shared_collector, tmp_path) -> None:
    c = shared_collector
    seq = iter(range(10**6))
    sent_spans: list[Span] = []

    @given(batch=st.lists(spans, min_size=1, max_size=3))
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def send_one(batch: list[Span]) -> None:
        data = encode(batch, sender_id=77, seq=next(seq))
        if len(data) > MAX_DATAGRAM:
            return
        before = _accounted(c.metrics())
        c.send_udp([data])
        m = c.wait_for(lambda m: _accounted(m) >= before + len(batch) or _dropped_one(m, before), timeout=20)
        check_metrics(c.get("/metrics")[1].decode())
        assert sum(v for k, v in m.items() if k.startswith("agenttrace_worker_restarts_total")) == 0
        sent_spans.extend(batch)

    send_one()
    assert sent_spans, "no example was sent"
    m = c.metrics()
    stored = int(m["agenttrace_spans_stored_total"])
    # Sealed within seal_age_s; then the whole store must be answerable and exportable.
    deadline = time.monotonic() + 30
    while len(stored_spans(c.data_dir)) < stored:
        assert time.monotonic() < deadline, "stored spans were not sealed"
        time.sleep(0.2)
    some = stored_spans(c.data_dir)[0]
    assert check_api_schema(c.http, trace_id=some.trace_id.hex(), session_id=some.session_id or "none") > 0
    check_exports(c.data_dir, tmp_path, stored)


def _dropped_one(m: dict[str, float], before: float) -> bool:
    # A datagram the worker could not decode at all counts once, whatever it held.
    return (
        _accounted(m) > before
        and sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_dropped_total")) > 0
    )
