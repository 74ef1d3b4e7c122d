"""``at.instrument("openai")`` against the real ``openai`` client talking to a local fake API:
every span is read back from real datagrams and checked field by field."""

from __future__ import annotations

import asyncio

import pytest

import agenttrace as at
from agenttrace.model import Status, Usage

openai = pytest.importorskip("openai")

MESSAGES = [{"role": "user", "content": "Hi"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def client(fake_api):
    at.instrument("openai")
    return openai.OpenAI(base_url=f"{fake_api.url}/v1", api_key="test-key", max_retries=0)


@pytest.fixture
def aclient(fake_api):
    at.instrument("openai")
    return openai.AsyncOpenAI(base_url=f"{fake_api.url}/v1", api_key="test-key", max_retries=0)


def test_chat_completion_is_one_llm_span_nested_under_the_enclosing_span(rec, client) -> None:
    with at.span("agent-step", kind="agent"):
        completion = client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    assert completion.choices[0].message.content == "Hi there"  # the application's result is untouched
    spans = rec.by_name()
    llm, parent = spans["openai.chat"], spans["agent-step"]
    assert (llm.kind, llm.model, llm.provider) == ("llm", "gpt-4.1-2025-04-14", "openai")
    assert llm.usage == Usage(input_tokens=1500, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=200)
    assert (llm.trace_id, llm.parent_id) == (parent.trace_id, parent.span_id)
    assert llm.input_preview == '[{"role":"user","content":"Hi"}]'
    assert llm.output_preview == "Hi there"
    assert llm.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert llm.status == Status.UNSET


def test_tool_calls_in_the_response_are_recorded(rec, client) -> None:
    completion = client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, tools=TOOLS)
    assert completion.choices[0].message.tool_calls[0].function.name == "get_weather"
    (llm,) = rec.spans()
    assert llm.attributes["gen_ai.response.tool_calls"] == [{"id": "call_1", "name": "get_weather"}]
    assert llm.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert "get_weather" in llm.output_preview and "Paris" in llm.output_preview


def test_an_api_error_marks_the_span_and_reaches_the_application_unchanged(rec, client) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fail", messages=MESSAGES)
    assert caught.value.status_code == 400
    (llm,) = rec.spans()
    assert llm.status == Status.ERROR
    assert llm.status_message.startswith("BadRequestError")
    assert llm.events[0].attributes["exception.type"] == "openai.BadRequestError"
    assert llm.model == "fail"  # the requested model, since no response named one


def test_stream_span_ends_when_consumed_with_usage_from_the_final_chunk(rec, client, fake_api) -> None:
    with at.span("outer"):
        stream = client.chat.completions.create(
            model="gpt-4.1-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        assert isinstance(stream, openai.Stream)
        assert at.current_span().name == "outer"  # the stream's span is not left current
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Hello world"
    spans = rec.by_name()
    llm = spans["openai.chat"]
    assert llm.parent_id == spans["outer"].span_id
    assert llm.usage == Usage(input_tokens=40, output_tokens=7)
    assert (llm.model, llm.output_preview) == ("gpt-4.1-mini", "Hello world")
    assert llm.attributes["gen_ai.request.stream"] is True
    assert 0 <= llm.attributes["gen_ai.time_to_first_token_ms"] <= (llm.end_ns - llm.start_ns) / 1e6
    assert llm.attributes["gen_ai.response.finish_reasons"] == ["stop"]


def test_stream_without_include_usage_is_not_changed_and_has_no_usage(rec, client, fake_api) -> None:
    fake_api.requests.clear()
    chunks = list(client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES, stream=True))
    assert len(chunks) == 4
    assert "stream_options" not in fake_api.requests[-1][1]  # the request went out as written
    (llm,) = rec.spans()
    assert llm.usage is None
    assert llm.output_preview == "Hello world"


def test_streamed_tool_call_is_assembled(rec, client) -> None:
    for _ in client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES, tools=TOOLS, stream=True):
        pass
    (llm,) = rec.spans()
    assert llm.attributes["gen_ai.response.tool_calls"] == [{"id": "call_1", "name": "get_weather"}]
    assert '{\\"city\\": \\"Paris\\"}' in llm.output_preview


def test_a_stream_closed_early_still_ends_its_span(rec, client) -> None:
    with client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES, stream=True) as stream:
        next(iter(stream))
    (llm,) = rec.spans()
    assert llm.end_ns >= llm.start_ns
    assert llm.output_preview == ""  # only the role chunk was read


def test_responses_api_and_its_stream(rec, client) -> None:
    if not hasattr(client, "responses"):
        pytest.skip("the Responses API arrived in openai 1.66")
    response = client.responses.create(model="o4-mini", input="Say hi in French")
    assert response.output_text == "Bonjour"
    events = list(client.responses.create(model="o4-mini", input="Again", stream=True))
    assert events[-1].type == "response.completed"
    plain, streamed = rec.spans()
    for span in (plain, streamed):
        assert (span.name, span.kind, span.model, span.provider) == (
            "openai.responses",
            "llm",
            "o4-mini-2025-04-16",
            "openai",
        )
        assert span.usage == Usage(input_tokens=900, output_tokens=500, cache_read_tokens=512, reasoning_tokens=384)
        assert span.output_preview == "Bonjour"
        assert span.attributes["gen_ai.response.finish_reasons"] == ["completed"]
    assert plain.input_preview == "Say hi in French"
    assert "gen_ai.time_to_first_token_ms" in streamed.attributes


def test_embeddings_are_embedding_spans(rec, client) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert result.data[0].embedding == [0.1, 0.2, 0.3]
    (span,) = rec.spans()
    assert (span.kind, span.model, span.usage) == ("embedding", "text-embedding-3-small", Usage(input_tokens=8))


def test_async_client_create_stream_and_error(rec, aclient) -> None:
    async def run() -> str:
        with at.span("async-root"):
            await aclient.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
            stream = await aclient.chat.completions.create(
                model="gpt-4.1-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            assert isinstance(stream, openai.AsyncStream)
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            with pytest.raises(openai.BadRequestError):
                await aclient.chat.completions.create(model="fail", messages=MESSAGES)
        return text

    assert asyncio.run(run()) == "Hello world"
    spans = rec.spans()
    root = next(s for s in spans if s.name == "async-root")
    chats = [s for s in spans if s.name == "openai.chat"]
    assert [s.parent_id for s in chats] == [root.span_id] * 3
    assert [s.usage for s in chats] == [
        Usage(input_tokens=1500, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=200),
        Usage(input_tokens=40, output_tokens=7),
        None,
    ]
    assert [s.status for s in chats] == [Status.UNSET, Status.UNSET, Status.ERROR]


def test_uninstrument_restores_the_client(rec, client) -> None:
    at.uninstrument("openai")
    assert "openai" not in at.instrumented()
    client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    with at.span("only-mine"):
        pass
    assert [s.name for s in rec.spans()] == ["only-mine"]


def test_an_instrumentation_bug_is_counted_and_the_call_still_succeeds(rec, client, monkeypatch) -> None:
    from agenttrace.instrumentation import openai as instrumentation

    def broken(*args: object) -> None:
        raise RuntimeError("bug in the instrumentation")

    monkeypatch.setattr(instrumentation, "record_openai", broken)
    before = at.stats()["instrumentation_errors"]
    completion = client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    assert completion.choices[0].message.content == "Hi there"
    assert at.stats()["instrumentation_errors"] == before + 1
    (llm,) = rec.spans()  # the span still ends, without the part that failed
    assert llm.usage is None
