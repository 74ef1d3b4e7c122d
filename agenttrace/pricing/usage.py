"""Provider-shaped usage -> AgentTrace's :class:`~agenttrace.model.Usage` convention.

OpenAI (Chat Completions and Responses) already reports the convention: ``prompt_tokens``
/ ``input_tokens`` include cached tokens and ``reasoning_tokens`` are part of
``completion_tokens`` / ``output_tokens``. Anthropic's ``input_tokens`` *excludes* cache
reads and writes, so they are added back here; pricing Anthropic's raw numbers as if
they followed the convention would bill cached tokens as fresh too (the double-billing
users report about other tools). SDK integrations call these where provider data enters.
"""

from __future__ import annotations

from agenttrace.model import Usage

__all__ = ["usage_from_anthropic", "usage_from_openai"]


def usage_from_openai(
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    *,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> Usage:
    """From OpenAI's ``usage`` (``prompt_tokens_details.cached_tokens``,
    ``completion_tokens_details.reasoning_tokens``)."""
    return Usage(
        input_tokens=prompt_tokens,
        output_tokens=completion_tokens,
        cache_read_tokens=cached_tokens,
        reasoning_tokens=reasoning_tokens,
    )


def usage_from_anthropic(
    input_tokens: int = 0,
    output_tokens: int = 0,
    *,
    cache_read_input_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
    ephemeral_1h_input_tokens: int = 0,
) -> Usage:
    """From Anthropic's ``usage``, where ``input_tokens`` counts only the uncached input.
    ``ephemeral_1h_input_tokens`` (from ``cache_creation``) is the 1-hour part of
    ``cache_creation_input_tokens``."""
    return Usage(
        input_tokens=input_tokens + cache_read_input_tokens + cache_creation_input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_input_tokens,
        cache_write_tokens=cache_creation_input_tokens,
        cache_write_1h_tokens=ephemeral_1h_input_tokens,
    )
