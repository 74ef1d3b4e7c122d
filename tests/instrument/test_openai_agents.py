"""``at.instrument("openai-agents")``: an Agents SDK run with a function tool, against the
local fake Responses API; the SDK's spans map to ours, each model call counted once."""

from __future__ import annotations

import asyncio

import pytest

import agenttrace as at
from agenttrace.model import Usage

openai = pytest.importorskip("openai")
agents = pytest.importorskip("agents")

RESPONSE_USAGE = Usage(input_tokens=900, output_tokens=500, cache_read_tokens=512, reasoning_tokens=384)


@agents.function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    with at.span("weather-lookup"):
        return f"sunny in {city}"


@pytest.fixture
def agent(fake_api):
    # The Agents SDK's default processor exports to OpenAI: keep the tests off the network.
    agents.set_trace_processors([])
    agents.set_tracing_disabled(False)
    at.instrument("openai", "openai-agents")
    client = openai.AsyncOpenAI(base_url=f"{fake_api.url}/v1", api_key="test-key", max_retries=0)
    model = agents.OpenAIResponsesModel(model="o4-mini", openai_client=client)
    return agents.Agent(name="Assistant", instructions="Be brief.", tools=[get_weather], model=model)


def test_a_run_maps_agent_model_and_tool_spans(rec, agent) -> None:
    async def run() -> str:
        with at.span("request"):
            result = await agents.Runner.run(agent, "Weather in Paris?")
        return result.final_output

    assert asyncio.run(run()) == "Bonjour"
    spans = rec.spans()
    by_id = {s.span_id: s for s in spans}
    by_name = {s.name: s for s in spans}
    # The run nests as the SDK reports it: trace > task > agent > turn > model call / tool
    tree = {(s.name, s.kind, by_id[s.parent_id].name if s.parent_id in by_id else None) for s in spans}
    assert ("Agent workflow", "chain", "request") in tree
    assert ("Agent workflow", "task", "Agent workflow") in tree
    assert ("Assistant", "agent", "Agent workflow") in tree
    assert {("turn 1", "chain", "Assistant"), ("turn 2", "chain", "Assistant")} <= tree
    assistant = by_name["Assistant"]
    llms = [s for s in spans if s.kind == "llm"]
    assert len(llms) == 2  # two model calls; the OpenAI client's own spans are suppressed
    for llm in llms:
        assert (llm.name, llm.model, llm.provider) == ("openai.responses", "o4-mini-2025-04-16", "openai")
        assert llm.usage == RESPONSE_USAGE
        assert by_id[by_id[llm.parent_id].parent_id] is assistant
    assert llms[0].attributes["gen_ai.response.tool_calls"] == [{"id": "call_1", "name": "get_weather"}]
    tool = by_name["get_weather"]
    assert (tool.kind, by_id[tool.parent_id].name) == ("tool", "turn 1")
    assert tool.input_preview == '{"city": "Paris"}' and tool.output_preview == "sunny in Paris"
    assert by_name["weather-lookup"].parent_id == tool.span_id  # user spans in a tool nest under it
    assert len({s.trace_id for s in spans}) == 1


def test_uninstrument_leaves_the_processor_inert(rec, agent) -> None:
    at.uninstrument("openai-agents", "openai")
    assert asyncio.run(agents.Runner.run(agent, "Weather?")).final_output == "Bonjour"
    assert [s.name for s in rec.spans()] == ["weather-lookup"]
