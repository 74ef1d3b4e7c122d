"""Anthropic Python client: ``messages.create`` (plain and ``stream=True``) and
``messages.stream(...)``, sync and async.

Each call becomes one ``llm`` span with the model, ``provider="anthropic"``, the usage in
AgentTrace's convention (Anthropic's ``input_tokens`` excludes cache reads and writes;
:func:`~agenttrace.sdk.integrations.anthropic.usage_from_anthropic` adds them back), the
stop reason, the tools the model asked to use, and the input/output previews. A streamed
call reads the usage from ``message_start`` and ``message_delta`` events and ends when the
stream is consumed or closed; the time to the first token is
``gen_ai.time_to_first_token_ms``.
"""

from __future__ import annotations

from typing import Any

from agenttrace.instrumentation._streams import AsyncStreamProxy, StreamProxy, tap
from agenttrace.instrumentation._support import (
    Patches,
    count_error,
    end_span,
    llm_suppressed,
    release,
    start_span,
)
from agenttrace.sdk import tracer
from agenttrace.sdk.integrations._common import get, tier
from agenttrace.sdk.integrations.anthropic import record_anthropic, usage_from_anthropic

MODULE = "anthropic"
DISTRIBUTION = "anthropic"
# >=1.0,<3: before 1.0, ``anthropic.Stream``'s metaclass answered ``isinstance`` for the
# exact type only, so a stream proxy would have changed what the application sees.
SUPPORTED = ("1.0", "3")

_NAME = "anthropic.messages"
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation",
    "output_tokens_details",
    "service_tier",
)
_patches = Patches()


def instrument(module: Any) -> None:
    from anthropic.resources.messages import AsyncMessages, Messages

    _patches.wrap(Messages, "create", _create_sync)
    _patches.wrap(AsyncMessages, "create", _create_async)
    _patches.wrap(Messages, "stream", _stream_helper(asynchronous=False))
    _patches.wrap(AsyncMessages, "stream", _stream_helper(asynchronous=True))


def uninstrument() -> None:
    _patches.unwrap_all()


def _start(kwargs: dict[str, Any], current: bool = True) -> Any:
    model = kwargs.get("model")
    s = start_span(_NAME, "llm", model=model if isinstance(model, str) else "", provider="anthropic", current=current)
    if s is None:
        return None
    try:
        if kwargs.get("stream") is True:
            s.attributes["gen_ai.request.stream"] = True
        messages = kwargs.get("messages")
        if messages is not None:
            system = kwargs.get("system")
            s.set_input(messages if system is None else {"system": system, "messages": messages})
    except Exception:
        count_error()
    return s


def _create_sync(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if llm_suppressed():
        return wrapped(*args, **kwargs)
    s = _start(kwargs)
    if s is None:
        return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        end_span(s, exc)
        raise
    return _finish(s, result, kwargs, StreamProxy)


async def _create_async(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if llm_suppressed():
        return await wrapped(*args, **kwargs)
    s = _start(kwargs)
    if s is None:
        return await wrapped(*args, **kwargs)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        end_span(s, exc)
        raise
    return _finish(s, result, kwargs, AsyncStreamProxy)


def _finish(s: Any, result: Any, kwargs: dict[str, Any], proxy: Any) -> Any:
    try:
        if kwargs.get("stream") is True and (hasattr(result, "__next__") or hasattr(result, "__anext__")):
            release(s)
            state = _StreamState(s)
            return proxy(result, tap(s, state.observe, state.finish))
        _record(s, result)
    except Exception:
        count_error()
    end_span(s)
    return result


def _record(s: Any, message: Any) -> None:
    record_anthropic(s, message)
    reason = get(message, "stop_reason")
    if reason:
        s.attributes["gen_ai.response.finish_reasons"] = [str(reason)]
    blocks = get(message, "content") or ()
    uses = [b for b in blocks if get(b, "type") == "tool_use"]
    if uses:
        s.attributes["gen_ai.response.tool_calls"] = [
            {"id": str(get(b, "id") or ""), "name": str(get(b, "name") or "")} for b in uses
        ]
    text = "".join(str(get(b, "text") or "") for b in blocks if get(b, "type") == "text")
    if text:
        s.set_output(text)
    elif uses:
        s.set_output([{"name": get(b, "name"), "input": get(b, "input")} for b in uses])


def _stream_helper(asynchronous: bool) -> Any:
    """``messages.stream(...)`` returns a manager whose ``__enter__`` sends the request; the
    span starts there, and the raw event stream the helper reads is tapped."""

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        manager = wrapped(*args, **kwargs)
        if llm_suppressed():
            return manager
        try:
            attribute = (
                "_AsyncMessageStreamManager__api_request" if asynchronous else "_MessageStreamManager__api_request"
            )
            request = getattr(manager, attribute)
            setattr(manager, attribute, _tapped_request(request, kwargs, asynchronous))
        except Exception:
            count_error()
        return manager

    return wrapper


def _tapped_request(request: Any, kwargs: dict[str, Any], asynchronous: bool) -> Any:
    if asynchronous:

        async def send_async() -> Any:  # the manager awaits this in __aenter__
            s = _start({**kwargs, "stream": True}, current=False)
            try:
                raw = await request
            except BaseException as exc:
                end_span(s, exc)
                raise
            if s is None:
                return raw
            state = _StreamState(s)
            return AsyncStreamProxy(raw, tap(s, state.observe, state.finish))

        return send_async()

    def send() -> Any:
        s = _start({**kwargs, "stream": True}, current=False)
        try:
            raw = request()
        except BaseException as exc:
            end_span(s, exc)
            raise
        if s is None:
            return raw
        state = _StreamState(s)
        return StreamProxy(raw, tap(s, state.observe, state.finish))

    return send


class _StreamState:
    """What a stream's events add up to: model, usage, text, tool uses, stop reason."""

    def __init__(self, s: Any) -> None:
        self.s = s
        self.first_ns = 0
        self.model = ""
        self.usage: dict[str, Any] = {}
        self.text: list[str] = []
        self.uses: list[dict[str, Any]] = []
        self.reason = ""

    def observe(self, event: Any) -> None:
        kind = get(event, "type")
        if kind == "content_block_delta":
            delta = get(event, "delta")
            if not self.first_ns:
                self.first_ns = tracer._time_ns()
                ms = round((self.first_ns - self.s.start_ns) / 1e6, 3)
                self.s.attributes["gen_ai.time_to_first_token_ms"] = ms
            if get(delta, "type") == "text_delta":
                self.text.append(str(get(delta, "text") or ""))
            elif get(delta, "type") == "input_json_delta" and self.uses:
                self.uses[-1]["input"] += str(get(delta, "partial_json") or "")
        elif kind == "content_block_start":
            block = get(event, "content_block")
            if get(block, "type") == "tool_use":
                self.uses.append(
                    {"id": str(get(block, "id") or ""), "name": str(get(block, "name") or ""), "input": ""}
                )
        elif kind == "message_start":
            message = get(event, "message")
            self.model = str(get(message, "model") or "")
            self._merge_usage(get(message, "usage"))
        elif kind == "message_delta":
            self._merge_usage(get(event, "usage"))  # cumulative counts: later values win
            reason = get(get(event, "delta"), "stop_reason")
            if reason:
                self.reason = str(reason)

    def _merge_usage(self, usage: Any) -> None:
        for name in _USAGE_FIELDS:
            value = get(usage, name)
            if value is not None:
                self.usage[name] = value

    def finish(self, s: Any) -> None:
        if self.model:
            s.set_model(self.model, provider="anthropic")
        if self.usage:
            s.set_usage(usage_from_anthropic(self.usage), service_tier=tier(self.usage.get("service_tier")))
        if self.reason:
            s.attributes["gen_ai.response.finish_reasons"] = [self.reason]
        if self.uses:
            s.attributes["gen_ai.response.tool_calls"] = [{"id": u["id"], "name": u["name"]} for u in self.uses]
        if self.text:
            s.set_output("".join(self.text))
        elif self.uses:
            s.set_output([{"name": u["name"], "input": u["input"]} for u in self.uses])
