"""The guarantees of the ring path, over OTLP: full rings answer 503 + Retry-After (HTTP) and
RESOURCE_EXHAUSTED with RetryInfo (gRPC) and count the refused spans, never a silent drop;
a span answered 200 survives a kill -9 of its worker."""

from __future__ import annotations

import os
import signal
import time

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from agenttrace.query import open_engine

SMALL_RINGS = """
[collector]
ring_bytes = 1048576
[store]
seal_age_s = 0.2
"""


def export_request(n: int, service: str = "bp") -> trace_service_pb2.ExportTraceServiceRequest:
    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = service
    ss = rs.scope_spans.add()
    trace_id = os.urandom(16)
    now = time.time_ns()
    for i in range(n):
        span = ss.spans.add(
            trace_id=trace_id, span_id=os.urandom(8), name=f"step {i}", start_time_unix_nano=now, end_time_unix_nano=now
        )
        span.attributes.add(key="gen_ai.operation.name").value.string_value = "chat"
        span.attributes.add(key="payload").value.string_value = "x" * 200
    return req


def stored(data_dir) -> int:
    rows = open_engine(data_dir).aggregate([]).rows
    return rows[0].count if rows else 0


def wait_stored(data_dir, n: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = stored(data_dir)
        if count >= n or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def post(c, req) -> tuple[int, dict]:
    status, headers, _ = c.request("/v1/traces", req.SerializeToString(), {"Content-Type": "application/x-protobuf"})
    return status, headers


def test_full_rings_answer_retry_later_and_count_it(start_collector):
    c = start_collector("--workers", "1", config=SMALL_RINGS)
    (pid,) = c.worker_pids()
    os.kill(pid, signal.SIGSTOP)
    try:
        accepted = 0
        for _ in range(40):
            status, headers = post(c, export_request(512))
            if status != 200:
                break
            accepted += 512
        else:
            pytest.fail("the rings never filled")
        assert status == 503 and headers["Retry-After"] == "1"
        assert accepted > 0
        with grpc.insecure_channel(c.grpc) as channel:
            with pytest.raises(grpc.RpcError) as err:
                trace_service_pb2_grpc.TraceServiceStub(channel).Export(export_request(512), timeout=10)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        retry = RetryInfo.FromString(dict(err.value.trailing_metadata())["google.rpc.retryinfo-bin"])
        assert retry.retry_delay.seconds == 1
        m = c.metrics()
        assert m['agenttrace_spans_rejected_total{reason="ring_full",transport="otlp_http"}'] == 512
        assert m['agenttrace_spans_rejected_total{reason="ring_full",transport="otlp_grpc"}'] == 512
        assert m['agenttrace_spans_received_total{transport="otlp_http"}'] == accepted
    finally:
        os.kill(pid, signal.SIGCONT)
    # Everything answered 200 is stored; the refused request goes through on retry.
    assert wait_stored(c.data_dir, accepted) == accepted
    deadline = time.monotonic() + 30
    while post(c, export_request(512))[0] != 200:
        assert time.monotonic() < deadline, "the rings never drained"
        time.sleep(0.2)
    assert wait_stored(c.data_dir, accepted + 512) == accepted + 512


def test_a_worker_killed_after_the_200_loses_nothing(start_collector):
    c = start_collector("--workers", "2", config=SMALL_RINGS)
    pids = c.worker_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)  # the spans wait in the rings, then their workers die
    sent = 0
    try:
        for _ in range(4):
            status, _ = post(c, export_request(100, service="kill9"))
            assert status == 200
            sent += 100
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
    assert wait_stored(c.data_dir, sent) == sent
    time.sleep(0.5)
    assert stored(c.data_dir) == sent  # and nothing twice
