"""OTLP/HTTP against a real collector: the OpenTelemetry SDK's exporter (protobuf, with and
without gzip), a hand-built OTLP/JSON body, the spec's error answers, the API key.
Every span is read back with ``agenttrace traces show ID --json``, field by field."""

from __future__ import annotations

import gzip
import json
import os

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from otlp_helpers import API_KEY, by_name

from agenttrace.model import Span, Usage
from agenttrace.pricing import CostStage

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def native_cost(model: str, provider: str, usage: Usage) -> float:
    """What the cost stage makes of the same call sent by our own SDK."""
    span = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=1, end_ns=2, model=model,
                provider=provider, usage=usage, kind="llm")  # fmt: skip
    CostStage.from_config(None)([span])
    assert span.cost_usd is not None
    return span.cost_usd


def run_agent(exporter, service: str) -> str:
    """A small agent traced with the OpenTelemetry SDK; returns its trace id (hex)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment.name": "ci"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("my-agent", "0.3")
    with tracer.start_as_current_span("invoke_agent shop", attributes={"gen_ai.operation.name": "invoke_agent",
            "session.id": "sess-otlp", "user.id": "ann"}) as root:  # fmt: skip
        with tracer.start_as_current_span(
            "chat gpt-4o",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 300,
                "gen_ai.usage.cache_read.input_tokens": 200,
                "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"refund?"}]}]',
                "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text","content":"yes"}]}]',
            },
        ) as chat:
            chat.add_event("retry", {"attempt": 1})
        with tracer.start_as_current_span("execute_tool refund", attributes={"gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "refund"}) as tool:  # fmt: skip
            tool.set_status(Status(StatusCode.ERROR, "payment gateway timeout"))
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_otel_sdk_http_protobuf_exporter(collector, compression):
    exporter = OTLPSpanExporter(endpoint=collector.http + "/v1/traces", headers=AUTH, compression=compression)
    trace_id = run_agent(exporter, f"otel-http-{compression.value}")
    tree = collector.show(trace_id, expect_spans=3)
    spans = by_name(tree)
    root, chat, tool = spans["invoke_agent shop"], spans["chat gpt-4o"], spans["execute_tool refund"]
    assert root["kind"] == "agent" and root["parent_id"] == ""
    assert chat["parent_id"] == root["span_id"] == tool["parent_id"]
    assert tree["root_ids"] == [root["span_id"]]
    for s in (root, chat, tool):
        assert s["service"] == f"otel-http-{compression.value}" and s["environment"] == "ci"
        assert s["attributes"]["otel.scope.name"] == "my-agent"
    assert (root["session_id"], root["user_id"]) == ("sess-otlp", "ann")
    assert chat["kind"] == "llm" and chat["model"] == "gpt-4o" and chat["provider"] == "openai"
    assert (chat["input_tokens"], chat["output_tokens"], chat["cache_read_tokens"]) == (1200, 300, 200)
    assert chat["cost_source"] == "catalogue"
    assert chat["cost_usd"] == pytest.approx(native_cost("gpt-4o", "openai", Usage(1200, 300, 200)))
    assert chat["cost_usd"] > 0
    assert "refund?" in chat["input_preview"] and "yes" in chat["output_preview"]
    assert [e["name"] for e in chat["events"]] == ["retry"]
    assert tool["kind"] == "tool" and tool["status"] == "error"
    assert tool["status_message"] == "payment gateway timeout"
    assert tree["errors"] == 1
    assert tree["cost_usd"] == pytest.approx(chat["cost_usd"])


def _json_span(trace_id: str, span_id: str, **extra) -> dict:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": extra.pop("name", "json span"),
        "kind": 3,
        "startTimeUnixNano": "1765000000000000000",
        "endTimeUnixNano": "1765000000500000000",
        "status": {"code": 1},
        **extra,
    }


def _json_body(spans: list[dict]) -> bytes:
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
                    "scopeSpans": [{"scope": {"name": "hand"}, "spans": spans}],
                }
            ]
        }
    ).encode()


@pytest.mark.parametrize("gzipped", [False, True])
def test_hand_built_otlp_json_body(collector, gzipped):
    trace_id = os.urandom(16).hex()
    llm = _json_span(
        trace_id,
        "1111111111111111",
        name="llm call",
        attributes=[
            {"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
            {"key": "llm.model_name", "value": {"stringValue": "gpt-4o-mini"}},
            {"key": "llm.provider", "value": {"stringValue": "openai"}},
            {"key": "llm.token_count.prompt", "value": {"intValue": "2000"}},
            {"key": "llm.token_count.completion", "value": {"intValue": 100}},
            {"key": "input.value", "value": {"stringValue": "what is 2+2?"}},
            {"key": "output.value", "value": {"stringValue": "4"}},
        ],
    )
    bad = _json_span("00" * 16, "2222222222222222", name="zero trace id")
    body = _json_body([llm, bad])
    headers = {"Content-Type": "application/json", **AUTH}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    status, resp_headers, answer = collector.request("/v1/traces", body, headers)
    assert status == 200, answer
    assert resp_headers["content-type"].startswith("application/json")
    partial = json.loads(answer)["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "invalid_id" in partial["errorMessage"]
    span = collector.show(trace_id, expect_spans=1)["spans"][0]
    assert (span["span_id"], span["name"], span["kind"], span["status"]) == (
        "1111111111111111",
        "llm call",
        "llm",
        "ok",
    )
    assert (span["start_ns"], span["end_ns"]) == (1765000000000000000, 1765000000500000000)
    assert (span["model"], span["provider"], span["service"]) == ("gpt-4o-mini", "openai", "json-svc")
    assert (span["input_tokens"], span["output_tokens"]) == (2000, 100)
    assert span["cost_usd"] == pytest.approx(native_cost("gpt-4o-mini", "openai", Usage(2000, 100)))
    assert (span["input_preview"], span["output_preview"]) == ("what is 2+2?", "4")
    assert span["attributes"]["otel.span_kind"] == "client"
    m = collector.metrics()
    assert m['agenttrace_spans_rejected_total{reason="invalid_id",transport="otlp_http"}'] >= 1


def test_protobuf_answer_is_an_export_response(collector):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    trace_id = os.urandom(16).hex()
    req = ExportTraceServiceRequest()
    req.resource_spans.add().scope_spans.add().spans.add(
        trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex("3333333333333333"), name="pb", start_time_unix_nano=5
    )
    status, headers, answer = collector.request(
        "/v1/traces", req.SerializeToString(), {"Content-Type": "application/x-protobuf", **AUTH}
    )
    assert status == 200 and headers["content-type"] == "application/x-protobuf"
    resp = ExportTraceServiceResponse.FromString(answer)
    assert not resp.HasField("partial_success")
    assert collector.show(trace_id, expect_spans=1)["spans"][0]["name"] == "pb"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"\x0a\xff\xff\xff", {"Content-Type": "application/x-protobuf"}, 400),
        (b"{nope", {"Content-Type": "application/json"}, 400),
        (b"not gzip", {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, 400),
        (b"x" * 300_000, {"Content-Type": "application/x-protobuf"}, 413),
        (gzip.compress(b"\x00" * 300_000), {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, 413),
        (b"{}", {"Content-Type": "text/plain"}, 415),
    ],
)
def test_spec_error_answers(collector, body, headers, status):
    from google.rpc import status_pb2

    got, _, answer = collector.request("/v1/traces", body, {**headers, **AUTH})
    assert got == status
    if headers["Content-Type"] == "application/json":
        assert json.loads(answer)["message"]
    else:
        rpc = status_pb2.Status.FromString(answer)
        assert rpc.code == 3 and rpc.message


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": f"Bearer {API_KEY}"}, 200),
        ({"x-api-key": API_KEY}, 200),
        # the Langfuse SDK's way: Basic base64(public_key:secret_key)
        ({"Authorization": "Basic " + __import__("base64").b64encode(f"pk-lf-1:{API_KEY}".encode()).decode()}, 200),
    ],
)
def test_api_key(collector, headers, status):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    body = ExportTraceServiceRequest().SerializeToString()
    for path in ("/v1/traces", "/api/public/otel/v1/traces"):
        got, _, _ = collector.request(path, body, {"Content-Type": "application/x-protobuf", **headers})
        assert got == status, path


def test_without_a_key_loopback_is_accepted(start_collector):
    c = start_collector()
    trace_id = os.urandom(16).hex()
    status, _, answer = c.request(
        "/v1/traces", _json_body([_json_span(trace_id, "4444444444444444")]), {"Content-Type": "application/json"}
    )
    assert status == 200, answer
    assert c.show(trace_id, expect_spans=1)["spans"][0]["service"] == "json-svc"


def test_spans_received_are_counted_by_transport(collector):
    import socket

    from agenttrace.wire import encode

    before = collector.metrics()
    spans = [
        Span(trace_id=os.urandom(16), span_id=os.urandom(8), name="native", start_ns=1, end_ns=2) for _ in range(7)
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(encode(spans[:3], sender_id=99, seq=0), collector.udp)
        sock.sendto(encode(spans[3:], sender_id=99, seq=1), collector.udp)
    key = 'agenttrace_spans_received_total{transport="udp"}'
    assert collector.wait_metric(key, lambda v: v >= before.get(key, 0) + 7) == before.get(key, 0) + 7
    trace_id = os.urandom(16).hex()
    key = 'agenttrace_spans_received_total{transport="otlp_http"}'
    http_before = collector.metrics()[key]
    status, _, _ = collector.request(
        "/v1/traces",
        _json_body([_json_span(trace_id, "5555555555555555")]),
        {"Content-Type": "application/json", **AUTH},
    )
    assert status == 200
    assert collector.metrics()[key] == http_before + 1
