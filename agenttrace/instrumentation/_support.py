"""What every library's instrumentation shares: patching that can be undone, spans started
around a library call, the "count a model call once" flag, and error containment.

Rules the helpers enforce: the library's return value and exceptions pass through
untouched; a bug here is counted in ``at.stats()["instrumentation_errors"]`` and never
reaches the application.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import wrapt

from agenttrace.sdk import runtime, tracer
from agenttrace.sdk.context import current_span_var

__all__ = [
    "Patches",
    "count_error",
    "end_span",
    "llm_suppressed",
    "release",
    "start_span",
    "suppress_llm",
]

# Set while a framework's llm span (LangChain chat model, LiteLLM) wraps the provider call:
# the provider client's own llm span is then skipped, so the trace counts the call once.
suppress_llm: ContextVar[bool] = ContextVar("agenttrace_suppress_llm", default=False)
llm_suppressed = suppress_llm.get
_MISSING = object()


def count_error() -> None:
    runtime.count_instrumentation_error()


class Patches:
    """Wrappers installed on a library's classes, remembered so they can be taken off."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attribute: str, wrapper: Callable[..., Any]) -> None:
        """Wrap ``owner.attribute`` with ``wrapper(wrapped, instance, args, kwargs)``."""
        original = vars(owner).get(attribute, _MISSING)
        wrapt.wrap_function_wrapper(owner, attribute, wrapper)
        self._undo.append((owner, attribute, original))

    def unwrap_all(self) -> None:
        while self._undo:
            owner, attribute, original = self._undo.pop()
            if original is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


def start_span(
    name: str,
    kind: str,
    *,
    model: str = "",
    provider: str = "",
    parent: Any = None,
    current: bool = True,
) -> Any:
    """Start a span (``None`` when tracing is off or on an instrumentation bug).

    ``parent`` (a live span) overrides the current span as the parent: frameworks that
    report runs through callbacks name the parent run explicitly. ``current=False`` starts
    it without making it the current span (a stream ends it later, from wherever the
    application consumes it).
    """
    try:
        s = tracer.span(name, kind)
        if s is tracer.NOOP_SPAN:
            return None
        if model or provider:
            s._extra = {"model": model, "provider": provider}
        if parent is not None and getattr(parent, "trace", None) is not None:
            s.span_id = tracer._getrandbits(64)
            s.trace = parent.trace
            s.parent_id = parent.span_id
            s._token = current_span_var.set(s)
            s.start_ns = tracer._time_ns()
        else:
            s.__enter__()
        if not current:
            release(s)
        return s
    except Exception:
        count_error()
        return None


def release(s: Any) -> None:
    """Stop being the current span (the span goes on until end_span)."""
    token, s._token = s._token, None
    if token is not None:
        with contextlib.suppress(ValueError, RuntimeError):  # set in another context: nothing to restore
            current_span_var.reset(token)


def end_span(s: Any, exc: BaseException | None = None) -> None:
    """End ``s`` (marking it an error when ``exc`` is given) and restore the current span."""
    if s is None:
        return
    try:
        release(s)
        if exc is None:
            s._end()
        else:
            s._end(type(exc), exc)
    except Exception:
        count_error()


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` so that a bug in it is counted and swallowed (returns None instead)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            count_error()
            return None

    call.__name__ = getattr(fn, "__name__", "guarded")
    call.__doc__ = fn.__doc__
    return call
