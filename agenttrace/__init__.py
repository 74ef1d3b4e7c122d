"""AgentTrace: observability for AI agents.

This module is the public SDK surface, and importing it is cheap: the tracer loads on
first use of a name below, and nothing here imports the collector, lz4 or typer.

>>> import agenttrace as at
>>> @at.observe
... def plan(goal: str) -> str:
...     with at.llm("draft", model="gpt-4.1", provider="openai") as g:
...         g.set_usage(input_tokens=900, output_tokens=120)
...     return "plan for " + goal
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from agenttrace.model import SpanKind, Status, Usage
    from agenttrace.sdk.api import (
        agent,
        bind_context,
        checkpoint,
        configure,
        current_span,
        extract_traceparent,
        file_op,
        flush,
        git_link,
        inject_traceparent,
        instrument,
        instrumented,
        llm,
        observe,
        retrieval,
        run_in_thread,
        session,
        shutdown,
        span,
        stats,
        terminal_cmd,
        tool,
        uninstrument,
        usage_from_anthropic,
        usage_from_openai,
    )

__all__ = [
    "SpanKind",
    "Status",
    "Usage",
    "__version__",
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

_FROM_MODEL = {"SpanKind", "Status", "Usage"}


def __getattr__(name: str) -> Any:
    # PEP 562: load the SDK on first use, then cache the name as a plain global so
    # later lookups (at.span on the hot path) are ordinary module attribute reads.
    if name in _FROM_MODEL:
        from agenttrace import model

        value = getattr(model, name)
    elif name in __all__:
        from agenttrace.sdk import api

        value = getattr(api, name)
    else:
        raise AttributeError(f"module 'agenttrace' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
