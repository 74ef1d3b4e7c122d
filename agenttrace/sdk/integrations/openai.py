"""OpenAI Chat Completions and Responses API → AgentTrace usage.

OpenAI already counts as AgentTrace does: ``prompt_tokens`` / ``input_tokens``
include the cached tokens (``*_tokens_details.cached_tokens``), and
``completion_tokens`` / ``output_tokens`` include ``reasoning_tokens``.
"""

from __future__ import annotations

from typing import Any

from agenttrace.model import Usage
from agenttrace.sdk.integrations._common import count, get, tier

__all__ = ["record_openai", "usage_from_openai"]


def usage_from_openai(usage: Any) -> Usage:
    """Convert an OpenAI ``CompletionUsage`` (chat) or ``ResponseUsage`` (responses),
    object or dict, to :class:`~agenttrace.model.Usage`.

    >>> u = usage_from_openai({"prompt_tokens": 1200, "completion_tokens": 300,
    ...                        "prompt_tokens_details": {"cached_tokens": 1024},
    ...                        "completion_tokens_details": {"reasoning_tokens": 256}})
    >>> (u.input_tokens, u.cache_read_tokens, u.output_tokens, u.reasoning_tokens)
    (1200, 1024, 300, 256)
    """
    if get(usage, "prompt_tokens") is not None or get(usage, "completion_tokens") is not None:
        input_tokens = count(usage, "prompt_tokens")
        output_tokens = count(usage, "completion_tokens")
        in_details = get(usage, "prompt_tokens_details")
        out_details = get(usage, "completion_tokens_details")
    else:  # Responses API
        input_tokens = count(usage, "input_tokens")
        output_tokens = count(usage, "output_tokens")
        in_details = get(usage, "input_tokens_details")
        out_details = get(usage, "output_tokens_details")
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=count(in_details, "cached_tokens"),
        cache_write_tokens=count(in_details, "cache_write_tokens"),
        reasoning_tokens=count(out_details, "reasoning_tokens"),
    )


def record_openai(span: Any, response: Any) -> None:
    """Set ``span``'s model, provider, usage and service tier from a ``ChatCompletion``
    or a Responses API ``Response``."""
    model = get(response, "model")
    if model:
        span.set_model(str(model), provider="openai")
    usage = get(response, "usage")
    if usage is not None:
        span.set_usage(usage_from_openai(usage), service_tier=tier(get(response, "service_tier")))
