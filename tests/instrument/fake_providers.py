"""A local stand-in for the OpenAI and Anthropic HTTP APIs, answering in their real
formats: JSON bodies, and server-sent events for streams (OpenAI ``chat.completion.chunk``
lines ending in ``data: [DONE]``; the Responses API's ``response.*`` events; Anthropic's
``message_start`` / ``content_block_*`` / ``message_delta`` / ``message_stop`` events).

A request whose ``model`` is ``"fail"`` gets the provider's error JSON with HTTP 400.
Every request body is kept in ``FakeProviders.requests`` so tests can check that
instrumenting did not change what was sent.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_USAGE = {
    "prompt_tokens": 1500,
    "completion_tokens": 300,
    "total_tokens": 1800,
    "prompt_tokens_details": {"cached_tokens": 1024},
    "completion_tokens_details": {"reasoning_tokens": 200},
}
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


def openai_chat(request: dict[str, Any]) -> dict[str, Any]:
    wants_tool = bool(request.get("tools"))
    message: dict[str, Any] = {"role": "assistant", "content": None if wants_tool else "Hi there"}
    if wants_tool:
        message["tool_calls"] = [TOOL_CALL]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4.1-2025-04-14",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if wants_tool else "stop"}],
        "usage": OPENAI_USAGE,
    }


def openai_chat_chunks(request: dict[str, Any]) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "gpt-4.1-mini"}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    if request.get("tools"):
        chunks.append(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": "call_1",
                                    "type": "function",
                                    "function": {"name": "get_weather", "arguments": ""},
                                }
                            ]
                        },
                        "finish_reason": None,
                    }
                ],
            }
        )
        for part in ('{"city": ', '"Paris"}'):
            chunks.append(
                {
                    **base,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"tool_calls": [{"index": 0, "function": {"arguments": part}}]},
                            "finish_reason": None,
                        }
                    ],
                }
            )
        finish = "tool_calls"
    else:
        for word in ("Hello", " world"):
            chunks.append({**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
        finish = "stop"
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if (request.get("stream_options") or {}).get("include_usage"):
        chunks.append(
            {**base, "choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 7, "total_tokens": 47}}
        )
    return chunks


def _wants_function_call(request: dict[str, Any]) -> bool:
    """Tools offered and no tool result sent back yet: the model calls the first tool."""
    items = request.get("input") if isinstance(request.get("input"), list) else []
    answered = any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items)
    return bool(request.get("tools")) and not answered


def openai_response(request: dict[str, Any]) -> dict[str, Any]:
    if _wants_function_call(request):
        tool = request["tools"][0]
        output: list[dict[str, Any]] = [
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": tool.get("name") or tool.get("function", {}).get("name"),
                "arguments": '{"city": "Paris"}',
                "status": "completed",
            }
        ]
    else:
        output = [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Bonjour", "annotations": []}],
            }
        ]
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1_700_000_000,
        "model": "o4-mini-2025-04-16",
        "status": "completed",
        "output": output,
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
    }


def openai_response_events(request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    final = openai_response(request)
    created = {**final, "status": "in_progress", "output": [], "usage": None}
    return [
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": created}),
        (
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "sequence_number": 1,
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": "Bonjour",
                "logprobs": [],
            },
        ),
        ("response.completed", {"type": "response.completed", "sequence_number": 2, "response": final}),
    ]


def openai_embeddings(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }


ANTHROPIC_USAGE = {
    "input_tokens": 12,  # Anthropic: excludes the cache reads and writes
    "cache_read_input_tokens": 2000,
    "cache_creation_input_tokens": 300,
    "output_tokens": 40,
}


def anthropic_message(request: dict[str, Any]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": "Hello"}]
    if request.get("tools"):
        content.append({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}})
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": "tool_use" if request.get("tools") else "end_turn",
        "stop_sequence": None,
        "usage": ANTHROPIC_USAGE,
    }


def anthropic_events(request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    start = anthropic_message(request)
    start = {
        **start,
        "content": [],
        "stop_reason": None,
        "usage": {**ANTHROPIC_USAGE, "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]
    stop = "end_turn"
    if request.get("tools"):
        stop = "tool_use"
        events += [
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": '{"city": "Paris"}'},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ]
    events += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 40},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        path = self.path.split("?")[0]
        self.server.requests.append((path, body))
        if body.get("model") == "fail":
            if path.endswith("/messages"):
                error = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad model"}}
            else:
                error = {"error": {"message": "bad model", "type": "invalid_request_error", "code": None}}
            return self._json(error, 400)
        stream = bool(body.get("stream"))
        if path == "/v1/chat/completions":
            if stream:
                return self._sse([(None, c) for c in openai_chat_chunks(body)], done=True)
            return self._json(openai_chat(body))
        if path == "/v1/responses":
            if stream:
                return self._sse(openai_response_events(body))
            return self._json(openai_response(body))
        if path == "/v1/embeddings":
            return self._json(openai_embeddings(body))
        if path == "/v1/messages":
            if stream:
                return self._sse(anthropic_events(body))
            return self._json(anthropic_message(body))
        return self._json({"error": {"message": "not found"}}, 404)

    def _json(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, Any]], done: bool = False) -> None:
        lines = []
        for event, data in events:
            if event:
                lines.append(f"event: {event}\n")
            lines.append(f"data: {json.dumps(data)}\n\n")
        if done:
            lines.append("data: [DONE]\n\n")
        payload = "".join(lines).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, dict[str, Any]]]


class FakeProviders:
    """The fake API on 127.0.0.1 (an ephemeral port), served from a thread."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.requests = []
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        return self.server.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
