"""OTLP logs (each LogRecord becomes an ``event`` span) and metrics (accepted and counted):
the pure mapping from its dict, the LOG_MAPPERS hook, and the OpenTelemetry SDK's log and
metric exporters over HTTP and gRPC against a real collector."""

from __future__ import annotations

import json

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from otlp_helpers import API_KEY, by_name

from agenttrace.ingest.otlp import codec, logs
from agenttrace.ingest.otlp.mapping import ContentPolicy
from agenttrace.model import Span

RECORD = {
    "time_unix_nano": 1765000000000000000,
    "observed_time_unix_nano": 1765000000000000999,
    "event_name": "",
    "severity_text": "INFO",
    "body": "claude_code.user_prompt",
    "attributes": {"event.name": "user_prompt", "session.id": "cc-1", "prompt_length": 42, "user.id": "dev"},
    "resource": {"service.name": "claude-code", "service.version": "2.1"},
    "trace_id": b"",
    "span_id": b"",
}

GENERIC_CASES = [
    ({}, {"kind": "event", "name": "user_prompt", "session_id": "cc-1", "user_id": "dev", "service": "claude-code"}),
    ({"event_name": "api_request"}, {"name": "api_request"}),
    ({"attributes": {}, "severity_text": "WARN"}, {"name": "WARN", "session_id": ""}),
    ({"severity_text": "ERROR"}, {"status": 2}),
    ({"time_unix_nano": 0}, {"start_ns": 1765000000000000999, "end_ns": 1765000000000000999}),
    ({"trace_id": b"t" * 16, "span_id": b"p" * 8}, {"trace_id": b"t" * 16, "parent_id": b"p" * 8}),
    ({"body": None}, {"output_preview": ""}),
]


@pytest.mark.parametrize(("change", "expected"), GENERIC_CASES)
def test_generic_log_mapping(change, expected):
    span = logs.log_record_to_span({**RECORD, **change})
    for field, value in expected.items():
        assert getattr(span, field) == value, field
    assert len(span.trace_id) == 16 and len(span.span_id) == 8


def test_generic_log_mapping_keeps_every_attribute_and_is_deterministic():
    span = logs.log_record_to_span(RECORD)
    assert span.attributes["prompt_length"] == 42 and span.attributes["event.name"] == "user_prompt"
    assert span.attributes["resource.service.version"] == "2.1" and span.attributes["log.body"] == RECORD["body"]
    assert logs.log_record_to_span(dict(RECORD)) == span  # a retried export maps to the same span


def test_log_mappers_go_first_and_fall_back(monkeypatch):
    def api_request(record: dict) -> Span | None:
        if record["attributes"].get("event.name") != "api_request":
            return None
        return Span(trace_id=b"a" * 16, span_id=b"b" * 8, name="llm", start_ns=1, end_ns=2, kind="llm")

    def broken(record: dict) -> Span | None:
        raise RuntimeError("bug")

    monkeypatch.setattr(logs, "LOG_MAPPERS", [broken, api_request])
    mine = {**RECORD, "attributes": {"event.name": "api_request"}}
    assert logs.map_record(mine).kind == "llm"
    assert logs.map_record(RECORD).kind == "event"


def _logs_body(body: str, **record) -> bytes:
    return json.dumps(
        {
            "resourceLogs": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "logs-svc"}}]},
                    "scopeLogs": [{"logRecords": [{"timeUnixNano": "5", "body": {"stringValue": body}, **record}]}],
                }
            ]
        }
    ).encode()


def test_log_content_policy():
    req = codec.decode_request("logs", _logs_body("token sk-123 here"), "application/json")
    off = logs.request_to_spans(req, ContentPolicy(capture=False)).spans[0]
    assert off.output_preview == "" and "log.body" not in off.attributes
    masked = logs.request_to_spans(req, ContentPolicy.from_patterns(patterns=[r"sk-\d+"])).spans[0]
    assert masked.output_preview == "token [masked] here" and masked.attributes["log.body"] == "token [masked] here"


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_otel_sdk_log_exporter(collector, transport):
    if transport == "http":
        exporter = HttpLogExporter(endpoint=collector.http + "/v1/logs", headers={"Authorization": f"Bearer {API_KEY}"})
    else:
        exporter = GrpcLogExporter(endpoint=collector.grpc, insecure=True, headers=(("x-api-key", API_KEY),))
    resource = Resource.create({"service.name": f"logs-{transport}"})
    log_provider = LoggerProvider(resource=resource)
    log_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = log_provider.get_logger("agent.events")
    tracer = TracerProvider(resource=resource).get_tracer("t")
    with tracer.start_as_current_span("turn") as span:
        logger.emit(
            LogRecord(
                event_name="tool_decision",
                severity_number=SeverityNumber.INFO,
                severity_text="INFO",
                body="accepted",
                attributes={"session.id": f"log-session-{transport}", "tool_name": "Bash"},
            )
        )
        ctx = span.get_span_context()
    log_provider.shutdown()
    trace_id, span_id = format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    # The parent span was never exported (only logs were): the event is an orphan of it.
    tree = collector.show(trace_id, expect_spans=1)
    event = by_name(tree)["tool_decision"]
    assert (event["kind"], event["parent_id"], event["service"]) == ("event", span_id, f"logs-{transport}")
    assert event["session_id"] == f"log-session-{transport}"
    assert event["attributes"]["tool_name"] == "Bash" and event["output_preview"] == "accepted"
    assert event["start_ns"] == event["end_ns"] > 0


def test_metrics_are_accepted_and_counted(collector):
    exporter = OTLPMetricExporter(
        endpoint=collector.http + "/v1/metrics", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "m"}))
    counter = provider.get_meter("m").create_counter("agent.tokens")
    counter.add(5, {"model": "a"})
    counter.add(7, {"model": "b"})
    assert reader.force_flush(10_000)
    provider.shutdown()
    points = collector.metrics()['agenttrace_otlp_metric_points_received_total{transport="otlp_http"}']
    assert points >= 2
