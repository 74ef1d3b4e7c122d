"""Coding agents' OTLP log events → spans: a table of records written from each tool's
published documentation, and the span each must give.

Sources:
* Claude Code — "Monitoring" (https://code.claude.com/docs/en/monitoring-usage), section
  "Events": API Request Event ``claude_code.api_request`` (model, cost_usd, duration_ms,
  input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens), API Error Event
  ``claude_code.api_error`` (model, error, status_code, duration_ms, attempt), Tool Result
  Event ``claude_code.tool_result`` (tool_name, success, duration_ms, error, decision,
  source, tool_parameters), User Prompt Event ``claude_code.user_prompt`` (prompt_length,
  prompt); standard attributes session.id, user.account_uuid, organization.id, app.version;
  ``event.name`` holds the bare name, the record body the prefixed one.
* Codex — docs/config.md, "otel" / "Event catalog" (github.com/openai/codex): metadata
  conversation.id, app.version, model, slug; ``codex.sse_event`` (event.kind, duration_ms,
  input/output/cached/reasoning/tool _token_count), ``codex.api_request`` (attempt,
  duration_ms, http.response.status_code, error.message), ``codex.tool_result`` (tool_name,
  call_id, arguments, duration_ms, success "true"/"false", output), ``codex.user_prompt``.
* Gemini CLI — docs/cli/telemetry.md, "Logs" (google-gemini.github.io/gemini-cli):
  ``gemini_cli.api_response`` (model, status_code, duration_ms, input_token_count,
  output_token_count, cached_content_token_count, thoughts_token_count, tool_token_count,
  response_text), ``gemini_cli.api_error`` (model, error, error_type, status_code,
  duration_ms), ``gemini_cli.tool_call`` (function_name, function_args, duration_ms,
  success, decision, error), ``gemini_cli.user_prompt`` (prompt_length, prompt).
"""

from __future__ import annotations

from typing import Any

import pytest

from agenttrace.coding.telemetry import EVENT_NAMES, coding_span_from_log
from agenttrace.model import Status

T = 1_758_362_400_000_000_000  # 2025-09-20T10:00:00Z
CLAUDE_RESOURCE = {"service.name": "claude-code", "service.version": "1.0.98"}
CLAUDE_STD = {
    "session.id": "cc-own-session",
    "user.account_uuid": "acc-1",
    "organization.id": "org-1",
    "app.version": "1.0.98",
    "terminal.type": "xterm-256color",
}
CODEX_STD = {"conversation.id": "cx-conv", "app.version": "0.39.0", "model": "gpt-5-codex", "slug": "gpt-5-codex"}
GEMINI_RESOURCE = {"service.name": "gemini-cli"}


def _record(body: str, attributes: dict[str, Any], resource: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "time_unix_nano": T,
        "observed_time_unix_nano": T + 1000,
        "event_name": kw.pop("event_name", ""),
        "severity_text": "",
        "body": body,
        "attributes": attributes,
        "resource": resource,
        "trace_id": kw.pop("trace_id", b""),
        "span_id": kw.pop("span_id", b""),
    }


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "claude api_request: tokens converted, cost kept as source attribute",
        _record(
            "claude_code.api_request",
            {
                **CLAUDE_STD,
                "event.name": "api_request",
                "event.timestamp": "2025-09-20T10:00:00.000Z",
                "model": "claude-sonnet-4-20250514",
                "cost_usd": 0.0123,
                "duration_ms": 4200,
                "input_tokens": 4,
                "output_tokens": 90,
                "cache_read_tokens": 13000,
                "cache_creation_tokens": 1200,
            },
            CLAUDE_RESOURCE,
        ),
        {
            "kind": "llm",
            "model": "claude-sonnet-4-20250514",
            "provider": "anthropic",
            "duration_ns": 4_200_000_000,
            "usage": (14204, 90, 13000, 1200, 0),
            "session_id": "cc-own-session",
            "cost_usd": None,
            "attrs": {"claude_code.cost_usd": 0.0123, "claude_code.session_id": "cc-own-session"},
        },
    ),
    (
        "claude api_error: an error llm span",
        _record(
            "claude_code.api_error",
            {
                **CLAUDE_STD,
                "event.name": "api_error",
                "model": "claude-opus-4-1-20250805",
                "error": "Overloaded",
                "status_code": "529",
                "duration_ms": 1500,
                "attempt": 2,
            },
            CLAUDE_RESOURCE,
        ),
        {
            "kind": "llm",
            "status": Status.ERROR,
            "status_message": "Overloaded",
            "model": "claude-opus-4-1-20250805",
            "attrs": {"status_code": "529", "attempt": 2},
        },
    ),
    (
        "claude tool_result: Bash → terminal with its command, failure kept",
        _record(
            "claude_code.tool_result",
            {
                **CLAUDE_STD,
                "event.name": "tool_result",
                "tool_name": "Bash",
                "success": "false",
                "duration_ms": 812,
                "error": "Exit code 1",
                "decision": "accept",
                "source": "config",
                "tool_parameters": '{"bash_command":"pytest","full_command":"pytest -q","description":"run tests"}',
            },
            CLAUDE_RESOURCE,
        ),
        {
            "kind": "terminal",
            "name": "Bash",
            "status": Status.ERROR,
            "status_message": "Exit code 1",
            "duration_ns": 812_000_000,
            "attrs": {
                "tool.name": "Bash",
                "tool.success": False,
                "terminal.command": "pytest -q",
                "tool.decision": "accept",
            },
        },
    ),
    (
        "claude tool_result: Read succeeded → tool span",
        _record(
            "claude_code.tool_result",
            {**CLAUDE_STD, "event.name": "tool_result", "tool_name": "Grep", "success": "true", "duration_ms": 20},
            CLAUDE_RESOURCE,
        ),
        {"kind": "tool", "name": "Grep", "status": Status.UNSET, "attrs": {"tool.success": True}},
    ),
    (
        "claude user_prompt: an event, prompt as input preview",
        _record(
            "claude_code.user_prompt",
            {
                **CLAUDE_STD,
                "event.name": "user_prompt",
                "prompt_length": 31,
                "prompt": "Fix the rounding bug in refunds",
            },
            CLAUDE_RESOURCE,
        ),
        {
            "kind": "event",
            "name": "user prompt",
            "input_preview": "Fix the rounding bug in refunds",
            "attrs": {"prompt.length": 31},
        },
    ),
    (
        "claude under agenttrace wrap: wrap's session and trace win, the agent's id is kept",
        _record(
            "claude_code.api_request",
            {
                **CLAUDE_STD,
                "event.name": "api_request",
                "model": "claude-sonnet-4-5",
                "input_tokens": 1,
                "output_tokens": 1,
            },
            {
                **CLAUDE_RESOURCE,
                "session.id": "wrap-session",
                "agenttrace.traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            },
        ),
        {
            "session_id": "wrap-session",
            "trace_hex": "0af7651916cd43dd8448eb211c80319c",
            "parent_hex": "b7ad6b7169203331",
            "attrs": {"claude_code.session_id": "cc-own-session"},
        },
    ),
    (
        "codex sse_event with token counts: llm span, OpenAI's input already counts cached",
        _record(
            "",
            {
                **CODEX_STD,
                "event.name": "codex.sse_event",
                "event.kind": "response.completed",
                "duration_ms": 3100,
                "input_token_count": 5000,
                "output_token_count": 120,
                "cached_token_count": 3000,
                "reasoning_token_count": 64,
                "tool_token_count": 0,
            },
            {"service.name": "codex_cli_rs"},
        ),
        {
            "kind": "llm",
            "model": "gpt-5-codex",
            "provider": "openai",
            "usage": (5000, 120, 3000, 0, 64),
            "session_id": "cx-conv",
            "service": "codex_cli_rs",
            "attrs": {"codex.session_id": "cx-conv"},
        },
    ),
    (
        "codex api_request failed: an http error span",
        _record(
            "",
            {
                **CODEX_STD,
                "event.name": "codex.api_request",
                "attempt": 1,
                "duration_ms": 900,
                "http.response.status_code": 429,
                "error.message": "rate limited",
            },
            {},
        ),
        {
            "kind": "http",
            "status": Status.ERROR,
            "status_message": "rate limited",
            "attrs": {"http.response.status_code": 429},
        },
    ),
    (
        "codex tool_result: shell → terminal",
        _record(
            "",
            {
                **CODEX_STD,
                "event.name": "codex.tool_result",
                "tool_name": "shell",
                "call_id": "call_abc",
                "arguments": '{"command":["bash","-lc","pytest -q"]}',
                "duration_ms": 3900,
                "success": "true",
                "output": "13 passed",
            },
            {},
        ),
        {
            "kind": "terminal",
            "name": "shell",
            "status": Status.UNSET,
            "output_preview": "13 passed",
            "attrs": {"terminal.command": "bash -lc pytest -q", "tool.call_id": "call_abc"},
        },
    ),
    (
        "gemini api_response: thoughts are output's reasoning part, tool-use prompt is input",
        _record(
            "gemini_cli.api_response",
            {
                "event.name": "gemini_cli.api_response",
                "session.id": "gm-session",
                "model": "gemini-2.5-pro",
                "status_code": 200,
                "duration_ms": 2500,
                "input_token_count": 12000,
                "output_token_count": 350,
                "cached_content_token_count": 8000,
                "thoughts_token_count": 420,
                "tool_token_count": 0,
            },
            GEMINI_RESOURCE,
        ),
        {
            "kind": "llm",
            "model": "gemini-2.5-pro",
            "provider": "google",
            "usage": (12000, 770, 8000, 0, 420),
            "session_id": "gm-session",
            "service": "gemini-cli",
        },
    ),
    (
        "gemini api_error",
        _record(
            "gemini_cli.api_error",
            {
                "event.name": "gemini_cli.api_error",
                "session.id": "gm-session",
                "model": "gemini-2.5-pro",
                "error": "quota exceeded",
                "error_type": "RESOURCE_EXHAUSTED",
                "status_code": 429,
                "duration_ms": 50,
            },
            GEMINI_RESOURCE,
        ),
        {
            "kind": "llm",
            "status": Status.ERROR,
            "status_message": "quota exceeded",
            "attrs": {"error_type": "RESOURCE_EXHAUSTED"},
        },
    ),
    (
        "gemini tool_call: write_file → tool, success kept",
        _record(
            "gemini_cli.tool_call",
            {
                "event.name": "gemini_cli.tool_call",
                "session.id": "gm-session",
                "function_name": "write_file",
                "function_args": '{"file_path":"a.py","content":"x"}',
                "duration_ms": 15,
                "success": True,
                "decision": "accept",
            },
            GEMINI_RESOURCE,
        ),
        {
            "kind": "tool",
            "name": "write_file",
            "status": Status.UNSET,
            "attrs": {"tool.success": True, "tool.decision": "accept"},
        },
    ),
    (
        "codex user_prompt (redacted by default): an event with the length",
        _record("", {**CODEX_STD, "event.name": "codex.user_prompt", "prompt_length": 13, "prompt": "[REDACTED]"}, {}),
        {"kind": "event", "session_id": "cx-conv", "attrs": {"prompt.length": 13}},
    ),
    (
        "gemini user_prompt",
        _record(
            "gemini_cli.user_prompt",
            {"event.name": "gemini_cli.user_prompt", "session.id": "gm-session", "prompt_length": 5, "prompt": "hello"},
            GEMINI_RESOURCE,
        ),
        {"kind": "event", "input_preview": "hello", "session_id": "gm-session"},
    ),
]


@pytest.mark.parametrize(("record", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_documented_events_map_to_spans(record: dict[str, Any], want: dict[str, Any]) -> None:
    span = coding_span_from_log(record)
    assert span is not None
    assert span.end_ns == T
    for key in ("kind", "name", "model", "provider", "status", "status_message", "session_id", "service"):
        if key in want:
            assert getattr(span, key) == want[key], key
    for key in ("input_preview", "output_preview", "cost_usd"):
        if key in want:
            assert getattr(span, key) == want[key], key
    if "usage" in want:
        u = span.usage
        assert (u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens) == (
            want["usage"]
        )
    if "duration_ns" in want:
        assert span.end_ns - span.start_ns == want["duration_ns"]
    if "trace_hex" in want:
        assert span.trace_id.hex() == want["trace_hex"] and span.parent_id.hex() == want["parent_hex"]
    for k, v in want.get("attrs", {}).items():
        assert span.attributes.get(k) == v, k


@pytest.mark.parametrize(
    "record",
    [
        _record("claude_code.tool_decision", {"event.name": "tool_decision", "tool_name": "Bash"}, CLAUDE_RESOURCE),
        _record("", {"event.name": "codex.sse_event", "event.kind": "response.output_text.delta"}, {}),
        _record("", {"event.name": "codex.conversation_starts", "provider_name": "openai"}, {}),
        _record("hello world", {}, {"service.name": "my-app"}),
        _record("api_request", {"event.name": "api_request"}, {"service.name": "not-claude"}),
        {
            **_record("claude_code.user_prompt", {"event.name": "user_prompt"}, CLAUDE_RESOURCE),
            "time_unix_nano": 0,
            "observed_time_unix_nano": 0,
        },
    ],
    ids=["tool_decision", "codex stream delta", "conversation_starts", "plain log", "bare name elsewhere", "no time"],
)
def test_other_records_give_none(record: dict[str, Any]) -> None:
    assert coding_span_from_log(record) is None


def test_the_same_record_gives_the_same_span_and_a_log_inside_a_span_is_its_child() -> None:
    rec = CASES[0][1]
    assert coding_span_from_log(rec).span_id == coding_span_from_log(dict(rec)).span_id
    inside = {**rec, "trace_id": bytes(range(1, 17)), "span_id": bytes(range(1, 9))}
    span = coding_span_from_log(inside)
    assert span.trace_id == bytes(range(1, 17)) and span.parent_id == bytes(range(1, 9))


def test_every_mapped_event_is_in_the_table() -> None:
    tested = {c[1]["body"] or c[1]["attributes"]["event.name"] for c in CASES}
    assert set(EVENT_NAMES) <= tested
