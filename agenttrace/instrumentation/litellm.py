"""LiteLLM: ``litellm.completion`` and ``litellm.acompletion`` (plain and streamed).

Each call is one ``llm`` span with the model and provider LiteLLM really used (its
``custom_llm_provider``, e.g. ``anthropic`` for ``anthropic/claude-...``), the usage
(LiteLLM reports every provider in OpenAI's shape: ``prompt_tokens`` includes cached
tokens) and the cost LiteLLM computed (``litellm.response_cost`` attribute; the collector
prices the span itself from its own catalogue). While the span is open the provider
client's own llm span is suppressed, so the call is counted once.

LiteLLM fetches a price list over the network on import unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set; :func:`before_import` sets it (if the application
has not) before the application imports litellm, so instrumenting never causes network
access. LiteLLM's success/failure callbacks are not used for the span: they run on a
background thread after the call has returned, so the span could not end with its tokens.
"""

from __future__ import annotations

import os
from typing import Any

from agenttrace.instrumentation._streams import AsyncStreamProxy, StreamProxy, tap
from agenttrace.instrumentation._support import Patches, count_error, end_span, release, start_span, suppress_llm
from agenttrace.instrumentation.openai import _StreamState
from agenttrace.sdk.integrations._common import count, get
from agenttrace.sdk.integrations.openai import usage_from_openai

MODULE = "litellm"
DISTRIBUTION = "litellm"
SUPPORTED = ("1.40", "2")  # >=1.40,<2

_NAME = "litellm.completion"
_patches = Patches()


def before_import() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def instrument(module: Any) -> None:
    # Only the package's names: litellm.acompletion calls litellm.main.completion inside,
    # which must stay unwrapped or each async call would be two spans.
    _patches.wrap(module, "completion", _completion)
    _patches.wrap(module, "acompletion", _acompletion)


def uninstrument() -> None:
    _patches.unwrap_all()


def _start(kwargs: dict[str, Any]) -> Any:
    model = kwargs.get("model")
    s = start_span(_NAME, "llm", model=model if isinstance(model, str) else "")
    if s is None:
        return None
    try:
        if kwargs.get("stream") is True:
            s.attributes["gen_ai.request.stream"] = True
        messages = kwargs.get("messages")
        if messages is not None:
            s.set_input(messages)
    except Exception:
        count_error()
    return s


def _completion(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    s = _start(kwargs)
    if s is None:
        return wrapped(*args, **kwargs)
    token = suppress_llm.set(True)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        suppress_llm.reset(token)
        end_span(s, exc)
        raise
    suppress_llm.reset(token)
    return _finish(s, result, kwargs, StreamProxy)


async def _acompletion(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    s = _start(kwargs)
    if s is None:
        return await wrapped(*args, **kwargs)
    token = suppress_llm.set(True)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        suppress_llm.reset(token)
        end_span(s, exc)
        raise
    suppress_llm.reset(token)
    return _finish(s, result, kwargs, AsyncStreamProxy)


def _finish(s: Any, result: Any, kwargs: dict[str, Any], proxy: Any) -> Any:
    try:
        if kwargs.get("stream") is True and hasattr(result, "__next__"):
            release(s)
            state = _StreamState(s)
            provider = str(getattr(result, "custom_llm_provider", "") or "")

            def finish(span: Any) -> None:
                state.finish(span)
                _set_provider(span, provider, getattr(state.final, "model", None) or kwargs.get("model"))

            return proxy(result, tap(s, state.observe, finish))
        _record(s, result, kwargs.get("model"))
    except Exception:
        count_error()
    end_span(s)
    return result


def _record(s: Any, response: Any, requested_model: Any) -> None:
    hidden = getattr(response, "_hidden_params", None) or {}
    provider = hidden.get("custom_llm_provider") or _provider_of(requested_model)
    _set_provider(s, str(provider or ""), get(response, "model"))
    usage = get(response, "usage")
    if usage is not None:
        converted = usage_from_openai(usage)
        cache_write = count(usage, "cache_creation_input_tokens")  # Anthropic's, passed through
        if cache_write and not converted.cache_write_tokens:
            converted.cache_write_tokens = cache_write
        s.set_usage(converted)
    cost = hidden.get("response_cost")
    if isinstance(cost, (int, float)):
        s.attributes["litellm.response_cost"] = float(cost)
    choices = get(response, "choices") or ()
    message = get(choices[0], "message") if choices else None
    reasons = [str(r) for r in (get(c, "finish_reason") for c in choices) if r]
    if reasons:
        s.attributes["gen_ai.response.finish_reasons"] = reasons
    calls = get(message, "tool_calls") or ()
    if calls:
        s.attributes["gen_ai.response.tool_calls"] = [
            {"id": str(get(c, "id") or ""), "name": str(get(get(c, "function"), "name") or "")} for c in calls
        ]
    text = get(message, "content")
    if text:
        s.set_output(text)


def _provider_of(model: Any) -> str:
    """The provider LiteLLM routes ``model`` to (a table lookup, no network)."""
    if not isinstance(model, str):
        return ""
    import litellm

    try:
        return str(litellm.get_llm_provider(model)[1] or "")
    except Exception:  # an unknown model: LiteLLM raised for it already, or will
        return ""


def _set_provider(s: Any, provider: str, model: Any) -> None:
    if model:
        s.set_model(str(model), provider=provider or None)
    elif provider:
        s._x()["provider"] = provider
