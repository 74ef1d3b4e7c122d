"""OpenAI Python client: chat completions, the Responses API and embeddings, sync and async,
streaming included.

Each ``create`` call becomes one span (``llm``, or ``embedding`` for embeddings) holding
the model, ``provider="openai"``, the usage in AgentTrace's convention (through
:func:`~agenttrace.sdk.integrations.openai.record_openai`), the finish reasons, the tool
calls the model asked for, and the input/output previews. A streamed call's span ends
when the stream is consumed or closed; its usage comes from the final chunk when the
request asked for it (``stream_options={"include_usage": True}``; the request is never
changed), and the time to the first token is kept as ``gen_ai.time_to_first_token_ms``.
"""

from __future__ import annotations

from typing import Any

from agenttrace.instrumentation._streams import AsyncStreamProxy, StreamProxy, tap
from agenttrace.instrumentation._support import Patches, count_error, end_span, llm_suppressed, release, start_span
from agenttrace.sdk import tracer
from agenttrace.sdk.integrations._common import get
from agenttrace.sdk.integrations.openai import record_openai

MODULE = "openai"
DISTRIBUTION = "openai"
SUPPORTED = ("1.30", "4")  # >=1.30,<4: tested with 1.30.0, 1.109.1 and 3.63.0

_patches = Patches()

# operation -> (span name, span kind, the request field holding the input)
_CHAT = ("openai.chat", "llm", "messages")
_RESPONSES = ("openai.responses", "llm", "input")
_EMBEDDINGS = ("openai.embeddings", "embedding", "input")


def instrument(module: Any) -> None:
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import AsyncEmbeddings, Embeddings

    targets: list[tuple[Any, Any, tuple[str, str, str]]] = [
        (Completions, AsyncCompletions, _CHAT),
        (Embeddings, AsyncEmbeddings, _EMBEDDINGS),
    ]
    try:  # the Responses API arrived in openai 1.66
        from openai.resources.responses import AsyncResponses, Responses

        targets.append((Responses, AsyncResponses, _RESPONSES))
    except ImportError:
        pass
    for sync_cls, async_cls, op in targets:
        _patches.wrap(sync_cls, "create", _sync_wrapper(op))
        _patches.wrap(async_cls, "create", _async_wrapper(op))


def uninstrument() -> None:
    _patches.unwrap_all()


# --- wrappers ---------------------------------------------------------------------------------


def _sync_wrapper(op: tuple[str, str, str]) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if llm_suppressed():
            return wrapped(*args, **kwargs)
        s = _start(op, kwargs)
        if s is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            end_span(s, exc)
            raise
        return _finish(op, s, result, kwargs, StreamProxy)

    return wrapper


def _async_wrapper(op: tuple[str, str, str]) -> Any:
    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if llm_suppressed():
            return await wrapped(*args, **kwargs)
        s = _start(op, kwargs)
        if s is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            end_span(s, exc)
            raise
        return _finish(op, s, result, kwargs, AsyncStreamProxy)

    return wrapper


def _start(op: tuple[str, str, str], kwargs: dict[str, Any]) -> Any:
    name, kind, input_field = op
    model = kwargs.get("model")
    s = start_span(name, kind, model=model if isinstance(model, str) else "", provider="openai")
    if s is None:
        return None
    try:
        if kwargs.get("stream") is True:
            s.attributes["gen_ai.request.stream"] = True
        value = kwargs.get(input_field)
        if value is not None:
            s.set_input(value)
    except Exception:
        count_error()
    return s


def _finish(op: tuple[str, str, str], s: Any, result: Any, kwargs: dict[str, Any], proxy: Any) -> Any:
    try:
        if kwargs.get("stream") is True and (hasattr(result, "__next__") or hasattr(result, "__anext__")):
            release(s)  # the application iterates the stream outside this call
            stream = _StreamState(s)
            return proxy(result, tap(s, stream.observe, stream.finish))
        _record(op, s, result)
    except Exception:
        count_error()
    end_span(s)
    return result


def _record(op: tuple[str, str, str], s: Any, response: Any) -> None:
    record_openai(s, response)
    if op is _EMBEDDINGS:
        return
    if op is _CHAT:
        choices = get(response, "choices") or ()
        reasons = [str(r) for r in (get(c, "finish_reason") for c in choices) if r]
        calls = [call for c in choices for call in (get(get(c, "message"), "tool_calls") or ())]
        message = get(choices[0], "message") if choices else None
        text = get(message, "content")
    else:  # Responses API
        reasons = [str(get(response, "status"))] if get(response, "status") else []
        calls = [item for item in (get(response, "output") or ()) if get(item, "type") == "function_call"]
        text = _responses_text(response)
    if reasons:
        s.attributes["gen_ai.response.finish_reasons"] = reasons
    if calls:
        s.attributes["gen_ai.response.tool_calls"] = [_tool_call(c) for c in calls]
    if text:
        s.set_output(text)
    elif calls:
        s.set_output([_tool_call(c, arguments=True) for c in calls])


def _tool_call(call: Any, arguments: bool = False) -> dict[str, Any]:
    function = get(call, "function")  # chat: {id, function: {name, arguments}}
    source = function if function is not None else call  # responses: {call_id, name, arguments}
    out = {"id": str(get(call, "call_id") or get(call, "id") or ""), "name": str(get(source, "name") or "")}
    if arguments:
        out["arguments"] = str(get(source, "arguments") or "")
    return out


def _responses_text(response: Any) -> str:
    parts = []
    for item in get(response, "output") or ():
        if get(item, "type") == "message":
            for content in get(item, "content") or ():
                if get(content, "type") == "output_text":
                    parts.append(str(get(content, "text") or ""))
    return "".join(parts)


class _StreamState:
    """What a stream's chunks add up to: text, tool calls, finish reasons, usage."""

    def __init__(self, s: Any) -> None:
        self.s = s
        self.first_ns = 0
        self.text: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.reasons: list[str] = []
        self.final: Any = None  # a chunk carrying usage, or the Responses API's final response

    def observe(self, chunk: Any) -> None:
        kind = get(chunk, "type")
        if kind is None:  # chat.completion.chunk
            choices = get(chunk, "choices") or ()
            for choice in choices:
                delta = get(choice, "delta")
                content = get(delta, "content")
                if content:
                    self._first()
                    self.text.append(content)
                for call in get(delta, "tool_calls") or ():
                    self._first()
                    entry = self.calls.setdefault(int(get(call, "index") or 0), {"id": "", "name": "", "arguments": ""})
                    function = get(call, "function")
                    entry["id"] = entry["id"] or str(get(call, "id") or "")
                    entry["name"] += str(get(function, "name") or "")
                    entry["arguments"] += str(get(function, "arguments") or "")
                reason = get(choice, "finish_reason")
                if reason:
                    self.reasons.append(str(reason))
            if get(chunk, "usage") is not None or (self.final is None and get(chunk, "model")):
                self.final = chunk
        elif kind.endswith(".delta"):  # response.output_text.delta, response.function_call_arguments.delta
            self._first()
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = get(chunk, "response")

    def _first(self) -> None:
        if not self.first_ns:
            self.first_ns = tracer._time_ns()
            self.s.attributes["gen_ai.time_to_first_token_ms"] = round((self.first_ns - self.s.start_ns) / 1e6, 3)

    def finish(self, s: Any) -> None:
        if self.final is not None and get(self.final, "object") == "response":
            _record(_RESPONSES, s, self.final)
            return
        if self.final is not None:
            record_openai(s, self.final)
        if self.reasons:
            s.attributes["gen_ai.response.finish_reasons"] = self.reasons
        calls = [self.calls[i] for i in sorted(self.calls)]
        if calls:
            s.attributes["gen_ai.response.tool_calls"] = [{"id": c["id"], "name": c["name"]} for c in calls]
        if self.text:
            s.set_output("".join(self.text))
        elif calls:
            s.set_output(calls)
