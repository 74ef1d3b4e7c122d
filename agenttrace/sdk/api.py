"""Everything ``import agenttrace as at`` exposes, gathered in one place."""

from __future__ import annotations

from agenttrace.instrumentation import instrument, instrumented, uninstrument
from agenttrace.sdk.coding import checkpoint, file_op, git_link, terminal_cmd
from agenttrace.sdk.context import (
    RemoteParent,
    bind_context,
    current_span_var,
    format_traceparent,
    parse_traceparent,
    run_in_thread,
    session,
)
from agenttrace.sdk.integrations.anthropic import usage_from_anthropic
from agenttrace.sdk.integrations.openai import usage_from_openai
from agenttrace.sdk.runtime import configure, flush, shutdown, stats
from agenttrace.sdk.tracer import T_ID, T_SAMPLED, agent, current_span, llm, observe, retrieval, span, tool

__all__ = [
    "RemoteParent",
    "agent",
    "bind_context",
    "checkpoint",
    "configure",
    "current_span",
    "extract_traceparent",
    "file_op",
    "flush",
    "git_link",
    "inject_traceparent",
    "instrument",
    "instrumented",
    "llm",
    "observe",
    "retrieval",
    "run_in_thread",
    "session",
    "shutdown",
    "span",
    "stats",
    "terminal_cmd",
    "tool",
    "uninstrument",
    "usage_from_anthropic",
    "usage_from_openai",
]


def inject_traceparent(carrier: dict[str, str] | None = None) -> str | None:
    """The current span as a W3C ``traceparent`` value (``None`` outside any span).
    With a ``carrier`` dict (HTTP headers), also stores it under ``"traceparent"``.

    >>> import agenttrace as at
    >>> at.inject_traceparent() is None
    True
    """
    current = current_span_var.get()
    if current is None:
        return None
    trace = current.trace
    value = format_traceparent(trace[T_ID], current.span_id, trace[T_SAMPLED])
    if carrier is not None:
        carrier["traceparent"] = value
    return value


def extract_traceparent(header: str | bytes | dict[str, str] | None) -> RemoteParent | None:
    """Read a ``traceparent`` (a header value, or a headers dict holding one); pass the
    result as ``at.span(..., traceparent=...)``. ``None`` when absent or malformed."""
    if isinstance(header, dict):
        header = next((v for k, v in header.items() if k.lower() == "traceparent"), None)
    return parse_traceparent(header)
