"""Coding agents' own OpenTelemetry log events → spans (pure functions).

Claude Code, Codex and Gemini CLI export what they do as OTLP *log records* (events);
the collector's ``/v1/logs`` receiver flattens each record to a dict and calls
:func:`coding_span_from_log`, which returns a :class:`~agenttrace.model.Span` for the
events below and ``None`` for everything else. The events and attributes are those the
tools publish:

* Claude Code, "Monitoring" (code.claude.com/docs/en/monitoring-usage): ``api_request``
  (model, cost_usd, duration_ms, input/output/cache_read/cache_creation tokens),
  ``api_error``, ``tool_result``, ``user_prompt``; every event carries ``session.id``.
* Codex, docs/config.md "otel" event catalog: ``codex.sse_event`` (token counts of a
  response), ``codex.api_request``, ``codex.tool_result``, ``codex.user_prompt``; every
  event carries ``conversation.id`` and ``model``.
* Gemini CLI, docs/cli/telemetry.md "Logs": ``gemini_cli.api_response`` (token counts),
  ``gemini_cli.api_error``, ``gemini_cli.tool_call``, ``gemini_cli.user_prompt``.

Tokens are converted to AgentTrace's convention (``input_tokens`` includes cache reads
and writes; reasoning is part of output): Claude Code reports Anthropic's split (input
excludes the cache), Codex OpenAI's (input includes cached), Gemini's input includes the
cached part but its output excludes thoughts. A cost the tool computed itself is kept as
the attribute ``<agent>.cost_usd``; the collector prices the span from its catalogue.

Session: ``session.id`` on the *resource* (what ``agenttrace wrap`` sets through
``OTEL_RESOURCE_ATTRIBUTES``) wins, so an agent's events join wrap's session; the
agent's own id is kept as an attribute. With ``agenttrace.traceparent`` on the resource
(also set by wrap) the spans become children of wrap's span in its trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agenttrace.coding.transcripts import derived_id, tool_kind
from agenttrace.model import Span, Status, Usage
from agenttrace.sdk.context import parse_traceparent

__all__ = ["EVENT_NAMES", "coding_span_from_log"]

_PREVIEW = 500


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


class _Event:
    """One log record, read the same way for every agent."""

    def __init__(self, record: dict[str, Any], name: str, agent: str, own_session_key: str) -> None:
        self.record = record
        self.name = name
        self.agent = agent
        self.attrs: dict[str, Any] = record.get("attributes") or {}
        self.resource: dict[str, Any] = record.get("resource") or {}
        self.end_ns = _int(record.get("time_unix_nano")) or _int(record.get("observed_time_unix_nano"))
        own = str(self.attrs.get(own_session_key) or "")
        self.session = str(self.resource.get("session.id") or own)
        self.own_session = own
        self.own_session_key = own_session_key

    def span(
        self,
        name: str,
        kind: str,
        *,
        duration_ms: Any = None,
        status: int = Status.UNSET,
        status_message: str = "",
        attributes: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Span:
        record = self.record
        duration_ns = max(0, int((_float(duration_ms) or 0.0) * 1e6))
        trace_id, parent = bytes(record.get("trace_id") or b""), bytes(record.get("span_id") or b"")
        if len(trace_id) != 16 or not any(trace_id):
            remote = parse_traceparent(self.resource.get("agenttrace.traceparent"))
            if remote is not None:
                trace_id, parent = remote.trace_id.to_bytes(16, "big"), remote.span_id.to_bytes(8, "big")
            else:
                trace_id, parent = derived_id(f"{self.agent}:trace:{self.session}", 16), b""
        if len(parent) != 8 or not any(parent):
            parent = b""
        a = self.attrs
        # The same record always gives the same span id (a re-sent batch is recognisable).
        key = ":".join(
            str(x)
            for x in (self.agent, self.session, self.name, self.end_ns, a.get("event.sequence", ""), a.get("prompt.id"))
        )
        attrs = {"agent.event": self.name}
        if self.own_session:
            attrs[f"{self.agent}.session_id"] = self.own_session
        for k in ("prompt.id", "user.id", "user.email", "user.account_uuid", "organization.id", "app.version"):
            if a.get(k) not in (None, ""):
                attrs[k] = a[k]
        attrs.update(attributes or {})
        return Span(
            trace_id=trace_id,
            span_id=derived_id(key, 8),
            parent_id=parent,
            name=name,
            start_ns=max(0, self.end_ns - duration_ns),
            end_ns=self.end_ns,
            kind=kind,
            status=status,
            status_message=status_message,
            session_id=self.session,
            service=str(self.resource.get("service.name") or self.agent.replace("_", "-")),
            user_id=str(a.get("user.email") or a.get("user.id") or ""),
            attributes=attrs,
            **fields,
        )


# --- Claude Code --------------------------------------------------------------------------


def _claude_api_request(e: _Event) -> Span:
    a = e.attrs
    fresh, read, write = (
        _int(a.get("input_tokens")),
        _int(a.get("cache_read_tokens")),
        _int(a.get("cache_creation_tokens")),
    )
    extra: dict[str, Any] = {"duration_ms": _float(a.get("duration_ms"))}
    if _float(a.get("cost_usd")) is not None:
        extra["claude_code.cost_usd"] = _float(a.get("cost_usd"))
    if a.get("request_id"):
        extra["claude_code.request_id"] = str(a["request_id"])
    model = str(a.get("model") or "")
    return e.span(
        model or "api_request",
        "llm",
        duration_ms=a.get("duration_ms"),
        model=model,
        provider="anthropic",
        # Anthropic's input_tokens leaves out cache reads and writes; ours counts them.
        usage=Usage(
            input_tokens=fresh + read + write,
            output_tokens=_int(a.get("output_tokens")),
            cache_read_tokens=read,
            cache_write_tokens=write,
        ),
        attributes=extra,
    )


def _claude_api_error(e: _Event) -> Span:
    a = e.attrs
    model = str(a.get("model") or "")
    return e.span(
        model or "api_error",
        "llm",
        duration_ms=a.get("duration_ms"),
        status=Status.ERROR,
        status_message=str(a.get("error") or "API error"),
        model=model,
        provider="anthropic",
        attributes={k: a[k] for k in ("status_code", "attempt") if a.get(k) not in (None, "")},
    )


def _claude_tool_result(e: _Event) -> Span:
    a = e.attrs
    name = str(a.get("tool_name") or "tool")
    params = a.get("tool_parameters")
    try:
        parsed = json.loads(params) if isinstance(params, str) else (params or {})
    except ValueError:
        parsed = {}
    parsed = parsed if isinstance(parsed, dict) else {}
    if "bash_command" in parsed and "command" not in parsed:
        parsed = {**parsed, "command": parsed.get("full_command") or parsed["bash_command"]}
    kind, typed = tool_kind(name, parsed)
    ok = _truthy(a.get("success"))
    extra: dict[str, Any] = {"tool.name": name, "tool.success": ok, **typed}
    for k in ("decision", "source", "tool_result_size_bytes"):
        if a.get(k) not in (None, ""):
            extra[f"tool.{k}"] = a[k]
    return e.span(
        name,
        kind,
        duration_ms=a.get("duration_ms"),
        status=Status.UNSET if ok else Status.ERROR,
        status_message="" if ok else str(a.get("error") or "tool failed"),
        input_preview=_text(params) if params else "",
        attributes=extra,
    )


def _user_prompt(e: _Event) -> Span:
    a = e.attrs
    prompt = a.get("prompt")
    return e.span(
        "user prompt",
        "event",
        input_preview=_text(prompt) if isinstance(prompt, str) else "",
        attributes={"prompt.length": _int(a.get("prompt_length"))},
    )


# --- Codex --------------------------------------------------------------------------------


def _codex_sse_event(e: _Event) -> Span | None:
    a = e.attrs
    if a.get("input_token_count") in (None, "") and a.get("output_token_count") in (None, ""):
        return None  # only a completed response carries usage; other stream events are noise here
    model = str(a.get("model") or "")
    inp = _int(a.get("input_token_count"))
    failed = bool(a.get("error.message"))
    return e.span(
        model or "response",
        "llm",
        duration_ms=a.get("duration_ms"),
        status=Status.ERROR if failed else Status.UNSET,
        status_message=str(a.get("error.message") or ""),
        model=model,
        provider="openai",
        usage=Usage(
            input_tokens=inp,  # OpenAI's input count includes the cached part, as ours does
            output_tokens=_int(a.get("output_token_count")),
            cache_read_tokens=min(_int(a.get("cached_token_count")), inp),
            reasoning_tokens=_int(a.get("reasoning_token_count")),
        ),
        attributes={"codex.event_kind": str(a.get("event.kind") or "")},
    )


def _codex_api_request(e: _Event) -> Span:
    a = e.attrs
    code = _int(a.get("http.response.status_code"))
    failed = bool(a.get("error.message")) or code >= 400
    extra: dict[str, Any] = {"attempt": _int(a.get("attempt"))}
    if code:
        extra["http.response.status_code"] = code
    return e.span(
        "codex api request",
        "http",
        duration_ms=a.get("duration_ms"),
        status=Status.ERROR if failed else Status.UNSET,
        status_message=str(a.get("error.message") or (f"HTTP {code}" if failed else "")),
        model=str(a.get("model") or ""),
        provider="openai",
        attributes=extra,
    )


def _codex_tool_result(e: _Event) -> Span:
    a = e.attrs
    name = str(a.get("tool_name") or "tool")
    raw = a.get("arguments")
    try:
        args = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        args = {}
    kind, typed = tool_kind(name, args if isinstance(args, dict) else {})
    ok = _truthy(a.get("success"))
    extra: dict[str, Any] = {"tool.name": name, "tool.success": ok, **typed}
    if a.get("call_id"):
        extra["tool.call_id"] = str(a["call_id"])
    return e.span(
        name,
        kind,
        duration_ms=a.get("duration_ms"),
        status=Status.UNSET if ok else Status.ERROR,
        status_message="" if ok else "tool failed",
        input_preview=_text(raw) if raw else "",
        output_preview=_text(a.get("output")) if a.get("output") else "",
        attributes=extra,
    )


# --- Gemini CLI ---------------------------------------------------------------------------


def _gemini_api_response(e: _Event) -> Span:
    a = e.attrs
    thoughts = _int(a.get("thoughts_token_count"))
    inp = _int(a.get("input_token_count")) + _int(a.get("tool_token_count"))
    code = _int(a.get("status_code"))
    failed = bool(a.get("error")) or code >= 400
    model = str(a.get("model") or "")
    return e.span(
        model or "api_response",
        "llm",
        duration_ms=a.get("duration_ms"),
        status=Status.ERROR if failed else Status.UNSET,
        status_message=str(a.get("error") or ""),
        model=model,
        provider="google",
        # Gemini's prompt count includes cached content (as ours does); its output count
        # leaves out thoughts, which ours counts as the reasoning part of output.
        usage=Usage(
            input_tokens=inp,
            output_tokens=_int(a.get("output_token_count")) + thoughts,
            cache_read_tokens=min(_int(a.get("cached_content_token_count")), inp),
            reasoning_tokens=thoughts,
        ),
        output_preview=_text(a["response_text"]) if isinstance(a.get("response_text"), str) else "",
    )


def _gemini_api_error(e: _Event) -> Span:
    a = e.attrs
    model = str(a.get("model") or "")
    extra = {k: a[k] for k in ("status_code", "error_type") if a.get(k) not in (None, "")}
    return e.span(
        model or "api_error",
        "llm",
        duration_ms=a.get("duration_ms"),
        status=Status.ERROR,
        status_message=str(a.get("error") or "API error"),
        model=model,
        provider="google",
        attributes=extra,
    )


def _gemini_tool_call(e: _Event) -> Span:
    a = e.attrs
    name = str(a.get("function_name") or "tool")
    raw = a.get("function_args")
    try:
        args = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        args = {}
    kind, typed = tool_kind(name, args if isinstance(args, dict) else {})
    ok = _truthy(a.get("success"))
    extra: dict[str, Any] = {"tool.name": name, "tool.success": ok, **typed}
    if a.get("decision"):
        extra["tool.decision"] = str(a["decision"])
    return e.span(
        name,
        kind,
        duration_ms=a.get("duration_ms"),
        status=Status.UNSET if ok else Status.ERROR,
        status_message="" if ok else str(a.get("error") or "tool failed"),
        input_preview=_text(raw) if raw else "",
        attributes=extra,
    )


# event name → (agent, attribute holding the agent's own session id, mapping)
_MAPPINGS: dict[str, tuple[str, str, Callable[[_Event], Span | None]]] = {
    "claude_code.api_request": ("claude_code", "session.id", _claude_api_request),
    "claude_code.api_error": ("claude_code", "session.id", _claude_api_error),
    "claude_code.tool_result": ("claude_code", "session.id", _claude_tool_result),
    "claude_code.user_prompt": ("claude_code", "session.id", _user_prompt),
    "codex.sse_event": ("codex", "conversation.id", _codex_sse_event),
    "codex.api_request": ("codex", "conversation.id", _codex_api_request),
    "codex.tool_result": ("codex", "conversation.id", _codex_tool_result),
    "codex.user_prompt": ("codex", "conversation.id", _user_prompt),
    "gemini_cli.api_response": ("gemini_cli", "session.id", _gemini_api_response),
    "gemini_cli.api_error": ("gemini_cli", "session.id", _gemini_api_error),
    "gemini_cli.tool_call": ("gemini_cli", "session.id", _gemini_tool_call),
    "gemini_cli.user_prompt": ("gemini_cli", "session.id", _user_prompt),
}
EVENT_NAMES: tuple[str, ...] = tuple(_MAPPINGS)


def _event_name(record: dict[str, Any]) -> str | None:
    attrs = record.get("attributes") or {}
    candidates = [record.get("event_name"), attrs.get("event.name"), record.get("body")]
    for name in candidates:
        if isinstance(name, str) and name in _MAPPINGS:
            return name
    # Claude Code's event.name attribute is the bare name ("api_request"); its body, and
    # the service name, say whose it is.
    service = str((record.get("resource") or {}).get("service.name") or "")
    if service == "claude-code":
        for name in candidates:
            if isinstance(name, str) and f"claude_code.{name}" in _MAPPINGS:
                return f"claude_code.{name}"
    return None


def coding_span_from_log(record: dict[str, Any]) -> Span | None:
    """The span a coding agent's log record stands for, or ``None`` if it is not one of
    :data:`EVENT_NAMES` (or lacks a time).

    ``record``: ``time_unix_nano``, ``observed_time_unix_nano``, ``event_name``,
    ``severity_text``, ``body``, ``attributes`` and ``resource`` (flattened to plain
    Python values), ``trace_id`` and ``span_id`` (bytes, empty when absent).

    >>> span = coding_span_from_log({"time_unix_nano": 1_700_000_000_000_000_000,
    ...     "body": "claude_code.api_request", "resource": {"service.name": "claude-code"},
    ...     "attributes": {"event.name": "api_request", "session.id": "s1", "model": "claude-sonnet-4-5",
    ...                    "input_tokens": 10, "cache_read_tokens": 900, "output_tokens": 50}})
    >>> span.kind, span.usage.input_tokens, span.session_id
    ('llm', 910, 's1')
    """
    name = _event_name(record)
    if name is None:
        return None
    agent, session_key, mapping = _MAPPINGS[name]
    event = _Event(record, name, agent, session_key)
    if event.end_ns <= 0:
        return None
    return mapping(event)
