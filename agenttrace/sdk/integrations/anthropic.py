"""Anthropic Messages API → AgentTrace usage.

Anthropic reports ``input_tokens`` *without* the prompt-cache reads and writes
(``cache_read_input_tokens``, ``cache_creation_input_tokens``); AgentTrace's
``input_tokens`` counts every input token, so the converter adds them back.
Extended-thinking tokens (``output_tokens_details.thinking_tokens``) are part of
``output_tokens`` on both sides.
"""

from __future__ import annotations

from typing import Any

from agenttrace.model import Usage
from agenttrace.sdk.integrations._common import count, get, tier

__all__ = ["record_anthropic", "usage_from_anthropic"]


def usage_from_anthropic(usage: Any) -> Usage:
    """Convert an Anthropic ``Usage`` (object or dict) to :class:`~agenttrace.model.Usage`.

    >>> u = usage_from_anthropic({"input_tokens": 20, "cache_read_input_tokens": 1000,
    ...                           "cache_creation_input_tokens": 300, "output_tokens": 50})
    >>> (u.input_tokens, u.cache_read_tokens, u.cache_write_tokens, u.output_tokens)
    (1320, 1000, 300, 50)
    """
    uncached = count(usage, "input_tokens")
    cache_read = count(usage, "cache_read_input_tokens")
    cache_write = count(usage, "cache_creation_input_tokens")
    breakdown = get(usage, "cache_creation")
    write_1h = count(breakdown, "ephemeral_1h_input_tokens")
    write_5m = count(breakdown, "ephemeral_5m_input_tokens")
    if not cache_write:
        cache_write = write_1h + write_5m
    return Usage(
        input_tokens=uncached + cache_read + cache_write,
        output_tokens=count(usage, "output_tokens"),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=count(get(usage, "output_tokens_details"), "thinking_tokens"),
        cache_write_1h_tokens=min(write_1h, cache_write),
    )


def record_anthropic(span: Any, response: Any) -> None:
    """Set ``span``'s model, provider, usage and service tier from a ``Message``."""
    model = get(response, "model")
    if model:
        span.set_model(str(model), provider="anthropic")
    usage = get(response, "usage")
    if usage is not None:
        span.set_usage(usage_from_anthropic(usage), service_tier=tier(get(usage, "service_tier")))
