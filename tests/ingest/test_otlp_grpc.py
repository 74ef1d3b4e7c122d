"""OTLP/gRPC against a real collector: the OpenTelemetry SDK's gRPC exporter with and
without gzip, the API key, and the logs and metrics services on the same server."""

from __future__ import annotations

import os

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otlp_helpers import API_KEY, by_name

METADATA = (("authorization", f"Bearer {API_KEY}"),)


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip])
def test_otel_sdk_grpc_exporter(collector, compression):
    exporter = OTLPSpanExporter(endpoint=collector.grpc, insecure=True, headers=METADATA, compression=compression)
    provider = TracerProvider(resource=Resource.create({"service.name": "grpc-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("grpc-agent")
    with tracer.start_as_current_span("workflow", attributes={"traceloop.span.kind": "workflow"}) as root:
        with tracer.start_as_current_span(
            "anthropic.chat",
            attributes={
                "llm.request.type": "chat",
                "gen_ai.system": "Anthropic",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "gen_ai.usage.prompt_tokens": 5000,
                "gen_ai.usage.completion_tokens": 400,
                "gen_ai.usage.cache_read_input_tokens": 3000,
                "gen_ai.usage.cache_creation_input_tokens": 1000,
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "summarise the ticket",
                "gen_ai.completion.0.content": "It is a refund request.",
                "gen_ai.conversation.id": "conv-grpc",
            },
        ):
            pass
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    tree = collector.show(trace_id, expect_spans=2)
    spans = by_name(tree)
    wf, chat = spans["workflow"], spans["anthropic.chat"]
    assert wf["kind"] == "chain" and chat["kind"] == "llm" and chat["parent_id"] == wf["span_id"]
    assert (chat["service"], chat["session_id"]) == ("grpc-app", "conv-grpc")
    assert (chat["model"], chat["provider"]) == ("claude-sonnet-4-5", "anthropic")
    tokens = (chat["input_tokens"], chat["output_tokens"], chat["cache_read_tokens"], chat["cache_write_tokens"])
    assert tokens == (5000, 400, 3000, 1000)
    assert chat["cost_source"] == "catalogue" and chat["cost_usd"] > 0
    assert chat["input_preview"] == '[{"role": "user", "content": "summarise the ticket"}]'
    assert chat["output_preview"] == '[{"content": "It is a refund request."}]'
    m = collector.metrics()
    assert m['agenttrace_spans_received_total{transport="otlp_grpc"}'] >= 2


def _request(trace_id: bytes) -> trace_service_pb2.ExportTraceServiceRequest:
    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "raw-grpc"
    rs.scope_spans.add().spans.add(trace_id=trace_id, span_id=os.urandom(8), name="raw", start_time_unix_nano=1)
    return req


def test_grpc_api_key_and_partial_success(collector):
    with grpc.insecure_channel(collector.grpc) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.Export(_request(os.urandom(16)), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as err:
            stub.Export(_request(os.urandom(16)), metadata=(("authorization", "Bearer nope"),), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        resp = stub.Export(_request(b"\0" * 16), metadata=(("x-api-key", API_KEY),), timeout=10)
        assert resp.partial_success.rejected_spans == 1 and "invalid_id" in resp.partial_success.error_message
        resp = stub.Export(_request(os.urandom(16)), metadata=METADATA, timeout=10)
        assert not resp.HasField("partial_success")


def test_grpc_port_taken(tmp_path):
    """The default port taken: a warning and no gRPC, the rest runs. A port asked for by
    name taken: the collector does not start (exit 1)."""
    import socket
    import subprocess
    import sys

    default_holder, named_holder = socket.socket(), socket.socket()
    try:
        default_holder.bind(("127.0.0.1", 4317))
        default_holder.listen()
    except OSError:
        pass  # already taken by someone else: the same situation
    named_holder.bind(("127.0.0.1", 0))
    named_holder.listen()
    base = [sys.executable, "-m", "agenttrace.collector.main", "--data-dir", str(tmp_path / "d"),
            "--udp", "127.0.0.1:0", "--unix", "off", "--http", "127.0.0.1:0", "--workers", "1"]  # fmt: skip
    try:
        proc = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().startswith("agenttrace-collector (pid")
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "warning: OTLP/gRPC is off" in err and "otlp-grpc://" not in out
        port = named_holder.getsockname()[1]
        named = subprocess.run([*base, "--otlp-grpc", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
        assert named.returncode == 1 and "cannot listen" in named.stderr
    finally:
        default_holder.close()
        named_holder.close()
