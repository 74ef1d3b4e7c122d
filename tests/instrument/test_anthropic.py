"""``at.instrument("anthropic")`` against the real ``anthropic`` client and a local fake API."""

from __future__ import annotations

import asyncio

import pytest

import agenttrace as at
from agenttrace.model import Status, Usage

anthropic = pytest.importorskip("anthropic")

MESSAGES = [{"role": "user", "content": "Hi"}]
TOOLS = [{"name": "get_weather", "description": "weather", "input_schema": {"type": "object"}}]
# Anthropic's input_tokens (12) excludes the cache reads (2000) and writes (300); ours includes them.
CONVERTED = Usage(input_tokens=2312, output_tokens=40, cache_read_tokens=2000, cache_write_tokens=300)


@pytest.fixture
def client(fake_api):
    at.instrument("anthropic")
    return anthropic.Anthropic(base_url=fake_api.url, api_key="test-key", max_retries=0)


@pytest.fixture
def aclient(fake_api):
    at.instrument("anthropic")
    return anthropic.AsyncAnthropic(base_url=fake_api.url, api_key="test-key", max_retries=0)


def test_message_is_one_llm_span_with_cache_tokens_converted(rec, client) -> None:
    with at.span("turn"):
        message = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES, system="Be brief")
    assert message.content[0].text == "Hello"
    spans = rec.by_name()
    llm = spans["anthropic.messages"]
    assert (llm.kind, llm.model, llm.provider) == ("llm", "claude-sonnet-4-5-20250929", "anthropic")
    assert llm.usage == CONVERTED
    assert llm.parent_id == spans["turn"].span_id
    assert llm.input_preview == '{"system":"Be brief","messages":[{"role":"user","content":"Hi"}]}'
    assert llm.output_preview == "Hello"
    assert llm.attributes["gen_ai.response.finish_reasons"] == ["end_turn"]


def test_tool_use_is_recorded(rec, client) -> None:
    client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES, tools=TOOLS)
    (llm,) = rec.spans()
    assert llm.attributes["gen_ai.response.tool_calls"] == [{"id": "toolu_1", "name": "get_weather"}]
    assert llm.attributes["gen_ai.response.finish_reasons"] == ["tool_use"]


def test_error_marks_the_span_and_propagates(rec, client) -> None:
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="fail", max_tokens=64, messages=MESSAGES)
    (llm,) = rec.spans()
    assert llm.status == Status.ERROR
    assert llm.events[0].attributes["exception.type"] == "anthropic.BadRequestError"


def test_create_stream_true_reads_usage_from_the_events(rec, client) -> None:
    stream = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES, stream=True, tools=TOOLS
    )
    assert isinstance(stream, anthropic.Stream)
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    (llm,) = rec.spans()
    assert llm.usage == CONVERTED
    assert llm.model == "claude-sonnet-4-5-20250929"
    assert llm.output_preview == "Hello"
    assert llm.attributes["gen_ai.response.tool_calls"] == [{"id": "toolu_1", "name": "get_weather"}]
    assert llm.attributes["gen_ai.time_to_first_token_ms"] >= 0


def test_messages_stream_helper(rec, client) -> None:
    with at.span("outer"):
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES) as stream:
            text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello" and final.usage.output_tokens == 40
    spans = rec.by_name()
    llm = spans["anthropic.messages"]
    assert llm.parent_id == spans["outer"].span_id
    assert (llm.usage, llm.output_preview) == (CONVERTED, "Hello")


def test_async_create_stream_and_helper(rec, aclient) -> None:
    async def run() -> None:
        with at.span("root"):
            await aclient.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)
            stream = await aclient.messages.create(
                model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES, stream=True
            )
            async for _ in stream:
                pass
            async with aclient.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES) as s:
                await s.get_final_message()

    asyncio.run(run())
    spans = rec.spans()
    root = next(s for s in spans if s.name == "root")
    llms = [s for s in spans if s.name == "anthropic.messages"]
    assert len(llms) == 3
    assert all(s.usage == CONVERTED and s.parent_id == root.span_id for s in llms)
