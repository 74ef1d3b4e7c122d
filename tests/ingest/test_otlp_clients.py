"""Real third-party clients pointed at a real collector, each in its own process (they set
global OpenTelemetry state): the Langfuse SDK, and OpenInference's OpenAI instrumentor
around the real ``openai`` client calling a local fake OpenAI server. Read back with
``agenttrace traces show ID --json``, field by field, costs included."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fake_openai import ANSWER, USAGE, FakeOpenAI
from otlp_helpers import API_KEY, by_name

from agenttrace.model import Span, Usage
from agenttrace.pricing import CostStage

LANGFUSE_APP = r"""
import json, sys
from langfuse import Langfuse, propagate_attributes

lf = Langfuse(public_key="pk-lf-test", secret_key=sys.argv[2], base_url=sys.argv[1], environment="staging")
with propagate_attributes(session_id="lf-session", user_id="lf-user", tags=["beta", "eu"]):
    with lf.start_as_current_observation(as_type="agent", name="support agent", input={"question": "refund?"}) as agent:
        with lf.start_as_current_observation(
            as_type="generation", name="answer", model="gpt-4o",
            usage_details={"input": 800, "input_cached_tokens": 200, "output": 150},
            cost_details={"total": 0.0042}, input=[{"role": "user", "content": "refund?"}],
        ) as gen:
            gen.update(output="Yes, refunded.")
        with lf.start_as_current_observation(as_type="tool", name="lookup_order", input={"id": 7}) as tool:
            tool.update(output={"status": "shipped"})
        agent.update(output="done")
lf.flush()
lf.shutdown()
print(json.dumps({"trace_id": agent.trace_id}))
"""

OPENINFERENCE_APP = r"""
import json, sys
import openai
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

collector, api_key, openai_url = sys.argv[1:4]
provider = TracerProvider(resource=Resource.create({"service.name": "oi-app"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
    endpoint=collector + "/v1/traces", headers={"Authorization": "Bearer " + api_key})))
OpenAIInstrumentor().instrument(tracer_provider=provider)
client = openai.OpenAI(api_key="sk-fake", base_url=openai_url)
tracer = provider.get_tracer("app")
with tracer.start_as_current_span("handle ticket", attributes={"session.id": "oi-session"}) as root:
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Was order 7 refunded?"}])
provider.shutdown()
print(json.dumps({"trace_id": format(root.get_span_context().trace_id, "032x"),
                  "answer": reply.choices[0].message.content}))
"""


def _run(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _priced(model: str, usage: Usage) -> float:
    span = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=1, end_ns=2, model=model, usage=usage)
    CostStage.from_config(None)([span])
    assert span.cost_usd
    return span.cost_usd


def test_langfuse_sdk(collector):
    ids = _run(LANGFUSE_APP, collector.http, API_KEY)
    tree = collector.show(ids["trace_id"], expect_spans=3)
    spans = by_name(tree)
    agent, gen, tool = spans["support agent"], spans["answer"], spans["lookup_order"]
    assert (agent["kind"], gen["kind"], tool["kind"]) == ("agent", "llm", "tool")
    assert gen["parent_id"] == agent["span_id"] == tool["parent_id"] and agent["parent_id"] == ""
    for s in (agent, gen, tool):
        assert (s["session_id"], s["user_id"], s["tags"]) == ("lf-session", "lf-user", ["beta", "eu"])
        assert s["environment"] == "staging"
    assert gen["model"] == "gpt-4o"
    # Langfuse's parts add up (input 800 excludes the 200 cached); ours include them.
    assert (gen["input_tokens"], gen["cache_read_tokens"], gen["output_tokens"]) == (1000, 200, 150)
    assert gen["cost_source"] == "catalogue"
    assert gen["cost_usd"] == pytest.approx(_priced("gpt-4o", Usage(1000, 150, 200)))
    assert gen["attributes"]["agenttrace.source_cost_usd"] == pytest.approx(0.0042)
    assert gen["input_preview"] == '[{"role": "user", "content": "refund?"}]'
    assert gen["output_preview"] == "Yes, refunded."
    assert (tool["input_preview"], tool["output_preview"]) == ('{"id": 7}', '{"status": "shipped"}')
    assert (agent["input_preview"], agent["output_preview"]) == ('{"question": "refund?"}', "done")


def test_openinference_openai_instrumentor(collector):
    with FakeOpenAI() as fake:
        ids = _run(OPENINFERENCE_APP, collector.http, API_KEY, fake.url)
    assert ids["answer"] == ANSWER
    tree = collector.show(ids["trace_id"], expect_spans=2)
    root = by_name(tree)["handle ticket"]
    (llm,) = [s for s in tree["spans"] if s["kind"] == "llm"]
    assert llm["parent_id"] == root["span_id"]
    assert (llm["service"], root["session_id"]) == ("oi-app", "oi-session")
    assert llm["model"] == "gpt-4o-mini-2024-07-18" and llm["provider"] == "openai"
    details = USAGE["prompt_tokens_details"]["cached_tokens"], USAGE["completion_tokens_details"]["reasoning_tokens"]
    assert (llm["input_tokens"], llm["output_tokens"]) == (USAGE["prompt_tokens"], USAGE["completion_tokens"])
    assert (llm["cache_read_tokens"], llm["reasoning_tokens"]) == details
    usage = Usage(USAGE["prompt_tokens"], USAGE["completion_tokens"], details[0], 0, details[1])
    assert llm["cost_source"] == "catalogue"
    assert llm["cost_usd"] == pytest.approx(_priced("gpt-4o-mini-2024-07-18", usage))
    assert "Was order 7 refunded?" in llm["input_preview"]
    assert ANSWER in llm["output_preview"]
    assert llm["status"] == "ok"
