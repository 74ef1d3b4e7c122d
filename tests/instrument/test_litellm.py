"""``at.instrument("litellm")``: completion and acompletion through LiteLLM against the
local fake OpenAI and Anthropic APIs; the real provider and model, counted once."""

from __future__ import annotations

import asyncio
import os

import pytest

import agenttrace as at
from agenttrace.model import Status, Usage

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download in tests
litellm = pytest.importorskip("litellm")

MESSAGES = [{"role": "user", "content": "Hi"}]
CHAT_USAGE = Usage(input_tokens=1500, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=200)


@pytest.fixture
def api(fake_api):
    at.instrument("openai", "anthropic", "litellm")
    return fake_api.url


def test_openai_model_through_litellm_is_one_span_with_provider_and_tokens(rec, api) -> None:
    with at.span("step"):
        response = litellm.completion(
            model="openai/gpt-4.1", messages=MESSAGES, api_base=f"{api}/v1", api_key="test-key"
        )
    assert response.choices[0].message.content == "Hi there"
    spans = rec.spans()
    llms = [s for s in spans if s.kind == "llm"]
    assert [s.name for s in llms] == ["litellm.completion"]  # the OpenAI client's span is suppressed
    (llm,) = llms
    assert (llm.model, llm.provider) == ("gpt-4.1-2025-04-14", "openai")
    assert llm.usage == CHAT_USAGE
    assert llm.parent_id == next(s for s in spans if s.name == "step").span_id
    assert llm.output_preview == "Hi there"


def test_anthropic_model_through_litellm_records_the_real_provider(rec, api) -> None:
    litellm.completion(model="anthropic/claude-sonnet-4-5", messages=MESSAGES, api_base=api, api_key="test-key")
    llms = [s for s in rec.spans() if s.kind == "llm"]
    assert len(llms) == 1
    (llm,) = llms
    assert (llm.name, llm.provider) == ("litellm.completion", "anthropic")
    assert llm.model.startswith("claude-sonnet-4-5")
    # LiteLLM reports Anthropic usage in OpenAI's shape: cache reads and writes inside the input
    assert (llm.usage.input_tokens, llm.usage.output_tokens) == (2312, 40)
    assert (llm.usage.cache_read_tokens, llm.usage.cache_write_tokens) == (2000, 300)


def test_acompletion_stream_and_errors(rec, api) -> None:
    async def run() -> str:
        await litellm.acompletion(model="openai/gpt-4.1", messages=MESSAGES, api_base=f"{api}/v1", api_key="k")
        stream = await litellm.acompletion(
            model="openai/gpt-4.1-mini",
            messages=MESSAGES,
            api_base=f"{api}/v1",
            api_key="k",
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        with pytest.raises(litellm.BadRequestError):
            await litellm.acompletion(model="openai/fail", messages=MESSAGES, api_base=f"{api}/v1", api_key="k")
        return text

    assert asyncio.run(run()) == "Hello world"
    llms = [s for s in rec.spans() if s.kind == "llm"]
    assert [s.name for s in llms] == ["litellm.completion"] * 3
    plain, streamed, failed = llms
    assert (plain.provider, plain.usage) == ("openai", CHAT_USAGE)
    assert (streamed.provider, streamed.output_preview) == ("openai", "Hello world")
    assert streamed.usage == Usage(input_tokens=40, output_tokens=7)
    assert failed.status == Status.ERROR
