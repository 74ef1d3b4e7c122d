"""The OpenAI Agents SDK (``openai-agents``, module ``agents``): a tracing processor added
with ``agents.add_trace_processor``, mapping the SDK's own spans to AgentTrace spans.

| Agents SDK span            | AgentTrace span                                         |
|----------------------------|---------------------------------------------------------|
| trace (``Runner.run``)     | ``chain`` named after the workflow, the root of the run |
| agent                      | ``agent``                                               |
| response / generation      | ``llm``: model, ``provider="openai"``, usage, previews  |
| function (a function tool) | ``tool``: input and output                              |
| handoff                    | ``handoff``: ``agents.from_agent`` / ``agents.to_agent``|
| guardrail                  | ``guardrail``: ``agents.triggered``                     |
| task / turn / custom / ... | ``task`` / ``chain`` / ``custom``                       |

While a response or generation span is open, the OpenAI client's own llm span is
suppressed, so each model call is counted once. The processor never exports anywhere:
spans go out through the AgentTrace SDK like any other.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from agenttrace.instrumentation._support import count_error, end_span, start_span, suppress_llm
from agenttrace.instrumentation.openai import _RESPONSES, _record
from agenttrace.sdk.integrations._common import get
from agenttrace.sdk.integrations.openai import usage_from_openai

MODULE = "agents"
DISTRIBUTION = "openai-agents"
SUPPORTED = ("0.1", "1")  # >=0.1,<1

_KINDS = {
    "agent": "agent",
    "response": "llm",
    "generation": "llm",
    "function": "tool",
    "handoff": "handoff",
    "guardrail": "guardrail",
    "task": "task",
    "turn": "chain",
    "mcp_tools": "tool",
}
_processor: Any = None


def instrument(module: Any) -> None:
    global _processor
    from agents.tracing import add_trace_processor

    if _processor is None:
        _processor = _make_processor_class()()
        add_trace_processor(_processor)
    _processor.active = True


def uninstrument() -> None:
    # The Agents SDK has no call to remove one processor: ours stays registered, inert.
    if _processor is not None:
        _processor.active = False


def _make_processor_class() -> type:
    from agents.tracing import TracingProcessor

    class AgentTraceProcessor(TracingProcessor):  # type: ignore[misc]
        """Agents SDK traces and spans → AgentTrace spans (see the module docstring)."""

        def __init__(self) -> None:
            self.active = True
            self._open: dict[str, tuple[Any, Any]] = {}  # agents id -> (our span, suppress token)
            self._lock = threading.Lock()

        def on_trace_start(self, trace: Any) -> None:
            if not self.active:
                return
            try:
                s = start_span(str(getattr(trace, "name", "") or "agent workflow"), "chain")
                if s is not None:
                    s.attributes["agents.trace_id"] = str(trace.trace_id)
                    with self._lock:
                        self._open[trace.trace_id] = (s, None)
            except Exception:
                count_error()

        def on_trace_end(self, trace: Any) -> None:
            self._finish(getattr(trace, "trace_id", None), None)

        def on_span_start(self, span: Any) -> None:
            if not self.active:
                return
            try:
                data = span.span_data
                kind = _KINDS.get(data.type, "custom")
                with self._lock:
                    parent = self._open.get(span.parent_id) or self._open.get(span.trace_id)
                model = get(data, "model") if kind == "llm" else None
                s = start_span(
                    _name(data),
                    kind,
                    parent=parent[0] if parent else None,
                    model=model if isinstance(model, str) else "",
                    provider="openai" if kind == "llm" else "",
                )
                if s is None:
                    return
                token = suppress_llm.set(True) if kind == "llm" else None
                with self._lock:
                    self._open[span.span_id] = (s, token)
            except Exception:
                count_error()

        def on_span_end(self, span: Any) -> None:
            try:
                with self._lock:
                    entry = self._open.get(span.span_id)
                if entry is not None:
                    _record_data(entry[0], span.span_data)
                    error = getattr(span, "error", None)
                    if error:
                        entry[0].set_status("error", str(get(error, "message") or "error"))
            except Exception:
                count_error()
            self._finish(span.span_id, None)

        def _finish(self, key: Any, exc: BaseException | None) -> None:
            with self._lock:
                entry = self._open.pop(key, None)
            if entry is None:
                return
            s, token = entry
            if token is not None:
                try:
                    suppress_llm.reset(token)
                except (ValueError, RuntimeError):  # ended in another context than it started
                    suppress_llm.set(False)
            end_span(s, exc)

        def shutdown(self) -> None:
            pass

        def force_flush(self) -> None:
            pass

    return AgentTraceProcessor


def _name(data: Any) -> str:
    kind = data.type
    if kind in ("agent", "function", "guardrail", "task", "custom"):
        return str(get(data, "name") or kind)
    if kind == "handoff":
        return f"handoff to {get(data, 'to_agent') or '?'}"
    if kind == "turn":
        return f"turn {get(data, 'turn')}"
    if kind == "response":
        return "openai.responses"
    if kind == "generation":
        return "openai.chat"
    return kind


def _record_data(s: Any, data: Any) -> None:
    kind = data.type
    if kind == "response":
        response = get(data, "response")
        if response is not None:
            _record(_RESPONSES, s, response)
        with contextlib.suppress(Exception):
            if get(data, "input") is not None:
                s.set_input(get(data, "input"))
    elif kind == "generation":
        if get(data, "model"):
            s.set_model(str(data.model), provider="openai")
        if get(data, "usage"):
            s.set_usage(usage_from_openai(data.usage))
        if get(data, "input") is not None:
            s.set_input(data.input)
        if get(data, "output") is not None:
            s.set_output(data.output)
    elif kind == "function":
        if get(data, "input") is not None:
            s.set_input(data.input)
        if get(data, "output") is not None:
            s.set_output(str(data.output))
    elif kind == "handoff":
        s.attributes["agents.from_agent"] = str(get(data, "from_agent") or "")
        s.attributes["agents.to_agent"] = str(get(data, "to_agent") or "")
    elif kind == "guardrail":
        s.attributes["agents.triggered"] = bool(get(data, "triggered"))
    elif kind == "agent":
        tools = get(data, "tools")
        if tools:
            s.attributes["agents.tools"] = [str(t) for t in tools]
        handoffs = get(data, "handoffs")
        if handoffs:
            s.attributes["agents.handoffs"] = [str(h) for h in handoffs]
