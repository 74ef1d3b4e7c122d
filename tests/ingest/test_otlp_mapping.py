"""The OTLP -> Span mapping, from tables of cases (docs/otlp.md is the same table in prose).

Each case is one OTLP/JSON span (attributes as a plain dict) and the Span fields it must
give; the request goes through the real OTLP/JSON decoder first (hex ids, camelCase)."""

from __future__ import annotations

import json

import pytest

from agenttrace.ingest.otlp import codec
from agenttrace.ingest.otlp.mapping import ContentPolicy, request_to_spans
from agenttrace.model import Usage

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"
PARENT = "aaaaaaaaaaaaaaaa"


def _value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": _value(x)} for k, x in v.items()]}}
    return {"stringValue": v}


def _kvs(attrs: dict) -> list[dict]:
    return [{"key": k, "value": _value(v)} for k, v in attrs.items()]


def otlp_request(attrs: dict, *, resource: dict | None = None, **span_fields) -> bytes:
    span = {
        "traceId": TRACE,
        "spanId": SPAN,
        "name": "op",
        "kind": 1,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000250000000",
        "attributes": _kvs(attrs),
        **span_fields,
    }
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": _kvs({"service.name": "svc", **(resource or {})})},
                "scopeSpans": [{"scope": {"name": "lib", "version": "1.2"}, "spans": [span]}],
            }
        ]
    }
    return json.dumps(body).encode()


def mapped(attrs: dict, policy: ContentPolicy | None = None, **kw):
    req = codec.decode_request("traces", otlp_request(attrs, **kw), "application/json")
    result = request_to_spans(req, policy or ContentPolicy())
    assert result.rejected == {}
    assert len(result.spans) == 1
    return result.spans[0]


KIND_CASES = [
    ({"gen_ai.operation.name": "chat"}, "llm"),
    ({"gen_ai.operation.name": "text_completion"}, "llm"),
    ({"gen_ai.operation.name": "generate_content"}, "llm"),
    ({"gen_ai.operation.name": "embeddings"}, "embedding"),
    ({"gen_ai.operation.name": "execute_tool"}, "tool"),
    ({"gen_ai.operation.name": "invoke_agent"}, "agent"),
    ({"gen_ai.operation.name": "create_agent"}, "agent"),
    ({"openinference.span.kind": "LLM"}, "llm"),
    ({"openinference.span.kind": "CHAIN"}, "chain"),
    ({"openinference.span.kind": "TOOL"}, "tool"),
    ({"openinference.span.kind": "AGENT"}, "agent"),
    ({"openinference.span.kind": "RETRIEVER"}, "retrieval"),
    ({"openinference.span.kind": "EMBEDDING"}, "embedding"),
    ({"openinference.span.kind": "RERANKER"}, "rerank"),
    ({"openinference.span.kind": "GUARDRAIL"}, "guardrail"),
    ({"openinference.span.kind": "EVALUATOR"}, "evaluator"),
    ({"langfuse.observation.type": "generation"}, "llm"),
    ({"langfuse.observation.type": "tool"}, "tool"),
    ({"langfuse.observation.type": "retriever"}, "retrieval"),
    ({"langfuse.observation.type": "event"}, "event"),
    ({"langfuse.observation.type": "span"}, "custom"),
    ({"traceloop.span.kind": "workflow"}, "chain"),
    ({"traceloop.span.kind": "task"}, "task"),
    ({"traceloop.span.kind": "agent"}, "agent"),
    ({"traceloop.span.kind": "tool"}, "tool"),
    ({"llm.request.type": "chat"}, "llm"),
    ({"http.request.method": "GET"}, "http"),
    ({"db.system.name": "postgresql"}, "database"),
    ({}, "custom"),
    # gen_ai.operation.name wins over the other dialects
    ({"gen_ai.operation.name": "execute_tool", "openinference.span.kind": "LLM"}, "tool"),
    # model and usage without any kind attribute: a model call all the same
    ({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 5}, "llm"),
]


@pytest.mark.parametrize(("attrs", "kind"), KIND_CASES)
def test_kind(attrs, kind):
    assert mapped(attrs).kind == kind


USAGE_CASES = [
    # current GenAI names: cache reads are part of the input already
    (
        {
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
            "gen_ai.usage.cache_read.input_tokens": 400,
            "gen_ai.usage.cache_creation.input_tokens": 100,
            "gen_ai.usage.reasoning.output_tokens": 50,
        },
        Usage(1000, 200, 400, 100, 50),
    ),
    # older GenAI names (OpenLLMetry)
    (
        {
            "gen_ai.usage.prompt_tokens": 30,
            "gen_ai.usage.completion_tokens": 7,
            "gen_ai.usage.cache_read_input_tokens": 10,
            "gen_ai.usage.cache_creation_input_tokens": 5,
        },
        Usage(30, 7, 10, 5, 0),
    ),
    # OpenInference
    (
        {
            "llm.token_count.prompt": 120,
            "llm.token_count.completion": 80,
            "llm.token_count.total": 200,
            "llm.token_count.prompt_details.cache_read": 20,
            "llm.token_count.prompt_details.cache_write": 10,
            "llm.token_count.completion_details.reasoning": 30,
        },
        Usage(120, 80, 20, 10, 30),
    ),
    # a sender whose input excludes its cached part (Anthropic's way): converted
    (
        {"gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 900},
        Usage(903, 10, 900, 0, 0),
    ),
    # reasoning reported beside the output instead of inside it: converted
    (
        {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5, "gen_ai.usage.reasoning.output_tokens": 40},
        Usage(10, 45, 0, 0, 40),
    ),
    # Langfuse usage_details: parts that add up (input excludes the cached input)
    (
        {
            "langfuse.observation.usage_details": json.dumps(
                {"input": 70, "input_cached_tokens": 30, "output": 15, "output_reasoning_tokens": 5, "total": 120}
            )
        },
        Usage(100, 20, 30, 0, 5),
    ),
    ({"gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": 3}, Usage(12, 3)),
    ({}, None),
]


@pytest.mark.parametrize(("attrs", "usage"), USAGE_CASES)
def test_usage(attrs, usage):
    assert mapped(attrs).usage == usage


MODEL_CASES = [
    ({"gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai"}, "gpt-4o", "openai"),
    (
        {"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.system": "openai"},
        "gpt-4o-2024-08-06",
        "openai",
    ),
    ({"llm.model_name": "claude-sonnet-4-5", "llm.provider": "anthropic"}, "claude-sonnet-4-5", "anthropic"),
    ({"llm.model_name": "gpt-4o-mini", "llm.system": "OpenAI"}, "gpt-4o-mini", "openai"),
    ({"langfuse.observation.model.name": "gpt-4.1"}, "gpt-4.1", ""),
    ({"embedding.model_name": "text-embedding-3-small"}, "text-embedding-3-small", ""),
    ({}, "", ""),
]


@pytest.mark.parametrize(("attrs", "model", "provider"), MODEL_CASES)
def test_model_and_provider(attrs, model, provider):
    span = mapped(attrs)
    assert (span.model, span.provider) == (model, provider)


IDENTITY_CASES = [
    ({"session.id": "s1", "user.id": "u1"}, {}, ("s1", "u1", [])),
    (
        {"langfuse.session.id": "s2", "langfuse.user.id": "u2", "langfuse.trace.tags": ["a", "b"]},
        {},
        ("s2", "u2", ["a", "b"]),
    ),
    ({"gen_ai.conversation.id": "conv-9"}, {}, ("conv-9", "", [])),
    ({"tag.tags": ["x"]}, {}, ("", "", ["x"])),
    ({"langfuse.trace.tags": '["j1", "j2"]'}, {}, ("", "", ["j1", "j2"])),
    # what the span does not say, its resource may
    ({}, {"session.id": "from-resource", "user.id": "ru"}, ("from-resource", "ru", [])),
    ({"session.id": "span-wins"}, {"session.id": "resource"}, ("span-wins", "", [])),
]


@pytest.mark.parametrize(("attrs", "resource", "expected"), IDENTITY_CASES)
def test_session_user_tags(attrs, resource, expected):
    span = mapped(attrs, resource=resource)
    assert (span.session_id, span.user_id, span.tags) == expected


def test_ids_times_status_events_links_and_every_attribute_kept():
    span = mapped(
        {"custom.flag": True, "custom.list": [1, 2], "custom.map": {"k": "v"}, "custom.float": 0.5},
        resource={"deployment.environment.name": "prod", "host.name": "h1"},
        parentSpanId=PARENT,
        traceState="vendor=1",
        status={"code": 2, "message": "rate limited"},
        events=[
            {"name": "retry", "timeUnixNano": "1700000000100000000", "attributes": _kvs({"attempt": 2})},
        ],
        links=[{"traceId": "0" * 31 + "1", "spanId": "0" * 15 + "2", "attributes": _kvs({"why": "batch"})}],
    )
    assert span.trace_id.hex() == TRACE and span.span_id.hex() == SPAN and span.parent_id.hex() == PARENT
    assert (span.name, span.start_ns, span.end_ns) == ("op", 1700000000000000000, 1700000000250000000)
    assert (span.status, span.status_message) == (2, "rate limited")
    assert (span.service, span.environment) == ("svc", "prod")
    assert [(e.name, e.time_ns, e.attributes) for e in span.events] == [("retry", 1700000000100000000, {"attempt": 2})]
    a = span.attributes
    assert a["custom.flag"] is True and a["custom.list"] == [1, 2] and a["custom.map"] == {"k": "v"}
    assert a["custom.float"] == 0.5
    assert a["resource.host.name"] == "h1" and a["resource.service.name"] == "svc"
    assert a["otel.span_kind"] == "internal" and a["otel.scope.name"] == "lib" and a["otel.scope.version"] == "1.2"
    assert a["otel.links"] == [{"trace_id": "0" * 31 + "1", "span_id": "0" * 15 + "2", "why": "batch"}]
    assert a["otel.trace_state"] == "vendor=1"
    assert span.cost_usd is None  # priced by the collector's cost stage, not here


def test_error_message_from_the_exception_event():
    span = mapped(
        {},
        status={"code": 2},
        events=[
            {
                "name": "exception",
                "timeUnixNano": "1700000000100000000",
                "attributes": _kvs({"exception.type": "TimeoutError", "exception.message": "gateway"}),
            }
        ],
    )
    assert (span.status, span.status_message) == (2, "TimeoutError: gateway")


CONTENT_CASES = [
    (
        {"gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'},
        '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
        "",
    ),
    ({"input.value": "question?", "output.value": "answer."}, "question?", "answer."),
    ({"langfuse.observation.input": '"in"', "langfuse.observation.output": '"out"'}, '"in"', '"out"'),
    (
        {"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hello", "gen_ai.completion.0.content": "hey"},
        '[{"role": "user", "content": "hello"}]',
        '[{"content": "hey"}]',
    ),
    (
        {"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "q"},
        '[{"role": "user", "content": "q"}]',
        "",
    ),
]


@pytest.mark.parametrize(("attrs", "input_preview", "output_preview"), CONTENT_CASES)
def test_content(attrs, input_preview, output_preview):
    span = mapped(attrs)
    assert (span.input_preview, span.output_preview) == (input_preview, output_preview)


def test_content_capture_off_drops_previews_and_content_attributes():
    attrs = {"input.value": "secret prompt", "output.value": "secret answer", "gen_ai.prompt.0.content": "x", "k": 1}
    span = mapped(attrs, ContentPolicy(capture=False))
    assert (span.input_preview, span.output_preview) == ("", "")
    assert not any("secret" in str(v) for v in span.attributes.values())
    assert "gen_ai.prompt.0.content" not in span.attributes
    assert span.attributes["k"] == 1 and span.attributes["agenttrace.content_dropped"] is True


def test_content_masking_and_preview_limit():
    policy = ContentPolicy.from_patterns(max_preview_chars=20, patterns=[r"sk-[A-Za-z0-9]+"])
    span = mapped({"input.value": "my key is sk-abc123 and a long tail of text"}, policy)
    assert "sk-abc123" not in span.input_preview and span.input_preview.startswith("my key is [masked]")
    assert len(span.input_preview) == 20 and span.attributes["agenttrace.preview_truncated"] is True
    assert span.attributes["input.value"] == "my key is [masked] and a long tail of text"


SOURCE_COST_CASES = [
    ({"langfuse.observation.cost_details": json.dumps({"input": 0.01, "output": 0.02, "total": 0.03})}, 0.03),
    ({"langfuse.observation.cost_details": json.dumps({"input": 0.01, "output": 0.02})}, 0.03),
    ({"llm.cost.total": 0.5}, 0.5),
    ({"gen_ai.usage.cost": 0.25}, 0.25),
]


@pytest.mark.parametrize(("attrs", "cost"), SOURCE_COST_CASES)
def test_a_cost_the_source_sent_is_kept_beside_ours(attrs, cost):
    span = mapped(attrs)
    assert span.attributes["agenttrace.source_cost_usd"] == pytest.approx(cost)
    assert span.cost_usd is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"traceId": "00" * 16}, "invalid_id"),
        ({"spanId": "00" * 8}, "invalid_id"),
        ({"traceId": "ab" * 8}, "invalid_id"),
        ({"parentSpanId": "ab" * 3}, "invalid_id"),
    ],
)
def test_bad_ids_are_rejected_by_reason(fields, reason):
    body = json.loads(otlp_request({}))
    good = json.loads(otlp_request({}))["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    bad = {**good, **fields}
    body["resourceSpans"][0]["scopeSpans"][0]["spans"] = [good, bad]
    result = request_to_spans(codec.decode_request("traces", json.dumps(body).encode(), "application/json"))
    assert len(result.spans) == 1 and result.rejected == {reason: 1}


def test_protobuf_and_json_encodings_map_alike():
    req = codec.decode_request("traces", otlp_request({"gen_ai.operation.name": "chat"}), "application/json")
    again = codec.decode_request("traces", req.SerializeToString(), "application/x-protobuf")
    assert request_to_spans(req).spans == request_to_spans(again).spans


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\x00garbage", "application/x-protobuf"),
        (b"{not json", "application/json"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "application/json"),
        (b'{"resourceSpans": 5}', "application/json"),
    ],
)
def test_undecodable_bodies_raise(body, content_type):
    with pytest.raises(codec.UndecodableBody):
        codec.decode_request("traces", body, content_type)


def test_json_ids_in_base64_are_taken_too():
    """OTLP/JSON says hex; some exporters send plain proto3 JSON (base64). Both map alike."""
    import base64

    body = json.loads(otlp_request({}))
    span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"] = base64.b64encode(bytes.fromhex(TRACE)).decode()
    span["spanId"] = base64.b64encode(bytes.fromhex(SPAN)).decode()
    req = codec.decode_request("traces", json.dumps(body).encode(), "application/json")
    (got,) = request_to_spans(req).spans
    assert (got.trace_id.hex(), got.span_id.hex()) == (TRACE, SPAN)
