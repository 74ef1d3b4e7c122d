"""Provider converters against the real ``anthropic`` and ``openai`` client libraries,
talking to a local fake HTTP server that returns canned responses."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import agenttrace as at

anthropic = pytest.importorskip("anthropic")
openai = pytest.importorskip("openai")

ANTHROPIC_MESSAGE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hello"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,  # Anthropic: excludes the cache reads and writes below
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 300,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        "output_tokens": 40,
        "output_tokens_details": {"thinking_tokens": 25},
        "service_tier": "priority",
    },
}
OPENAI_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-4.1-2025-04-14",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 1500,  # OpenAI: includes cached_tokens
        "completion_tokens": 300,  # and includes reasoning_tokens
        "total_tokens": 1800,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 200},
    },
    "service_tier": "flex",
}
OPENAI_RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1_700_000_000,
    "model": "o4-mini-2025-04-16",
    "status": "completed",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Hi", "annotations": []}],
        }
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "usage": {
        "input_tokens": 900,
        "output_tokens": 500,
        "total_tokens": 1400,
        "input_tokens_details": {"cached_tokens": 512},
        "output_tokens_details": {"reasoning_tokens": 384},
    },
    "service_tier": "default",
}
ROUTES = {"/v1/messages": ANTHROPIC_MESSAGE, "/v1/chat/completions": OPENAI_CHAT, "/v1/responses": OPENAI_RESPONSE}


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = ROUTES.get(self.path.split("?")[0])
        data = json.dumps(body if body is not None else {"error": "not found"}).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def fake_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_anthropic_message_usage_is_converted(rec, fake_api: str) -> None:
    client = anthropic.Anthropic(base_url=fake_api, api_key="test-key", max_retries=0)
    with at.llm("ask-claude") as g:
        message = client.messages.create(
            model="claude-fake-model", max_tokens=64, messages=[{"role": "user", "content": "Hello"}]
        )
        g.record_anthropic(message)
    usage = at.usage_from_anthropic(message.usage)
    assert usage.input_tokens == 12 + 2000 + 300
    assert (usage.cache_read_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (2000, 300, 200)
    assert (usage.output_tokens, usage.reasoning_tokens) == (40, 25)
    span = rec.spans()[0]
    assert (span.model, span.provider, span.service_tier) == ("claude-sonnet-4-5-20250929", "anthropic", "priority")
    assert span.usage == usage


def test_anthropic_without_cache_fields(rec, fake_api: str) -> None:
    usage = at.usage_from_anthropic({"input_tokens": 10, "output_tokens": 5})
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (10, 5, 0, 0)
    # Only the per-TTL breakdown present: the total cache write is its sum.
    usage = at.usage_from_anthropic(
        {"input_tokens": 1, "cache_creation": {"ephemeral_5m_input_tokens": 7, "ephemeral_1h_input_tokens": 3}}
    )
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (11, 10, 3)


def test_openai_chat_completion_usage(rec, fake_api: str) -> None:
    client = openai.OpenAI(base_url=f"{fake_api}/v1", api_key="test-key", max_retries=0)
    with at.llm("ask-gpt") as g:
        completion = client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Hi"}])
        g.record_openai(completion)
    usage = at.usage_from_openai(completion.usage)
    assert (usage.input_tokens, usage.cache_read_tokens) == (1500, 1024)
    assert (usage.output_tokens, usage.reasoning_tokens) == (300, 200)
    span = rec.spans()[0]
    assert (span.model, span.provider, span.service_tier) == ("gpt-4.1-2025-04-14", "openai", "flex")
    assert span.usage == usage


def test_openai_responses_api_usage(rec, fake_api: str) -> None:
    client = openai.OpenAI(base_url=f"{fake_api}/v1", api_key="test-key", max_retries=0)
    with at.llm("ask-responses") as g:
        response = client.responses.create(model="o4-mini", input="Hi")
        g.record_openai(response)
    usage = at.usage_from_openai(response.usage)
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens, usage.reasoning_tokens) == (
        900,
        512,
        500,
        384,
    )
    span = rec.spans()[0]
    assert (span.model, span.provider) == ("o4-mini-2025-04-16", "openai")
    assert span.service_tier == ""  # "default" is no special tier
    assert span.usage == usage
