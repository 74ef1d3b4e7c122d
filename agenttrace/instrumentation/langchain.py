"""LangChain and LangGraph: every run traced without passing ``callbacks=``.

A callback handler is registered through langchain-core's configure hook
(``register_configure_hook`` with a context variable whose default is the handler), so
every callback manager LangChain builds includes it. Runs map to spans as they ran:
chains and graph nodes → ``chain``, chat models and LLMs → ``llm`` (model, provider,
tokens), tools → ``tool``, retrievers → ``retrieval``; errors mark their span. A run's
span is the current span while it runs, so a provider call or an ``at.span`` inside a
tool nests under it, and while a chat model's span is open the provider client's own llm
span is suppressed: the call is counted once, by the framework span that knows the run.
Runs LangGraph marks hidden (``langsmith:hidden``: channel writes, start nodes) are
skipped; their children attach to the nearest shown ancestor.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any
from uuid import UUID

from agenttrace.instrumentation._support import count_error, end_span, start_span, suppress_llm
from agenttrace.model import Usage
from agenttrace.sdk.context import current_span_var
from agenttrace.sdk.integrations._common import count, get
from agenttrace.sdk.integrations.openai import usage_from_openai

MODULE = "langchain_core"
DISTRIBUTION = "langchain-core"
SUPPORTED = ("0.2", "2")  # >=0.2,<2

_HIDDEN = "langsmith:hidden"
_hook_var: contextvars.ContextVar[Any] | None = None
_handler: Any = None


def instrument(module: Any) -> None:
    global _hook_var, _handler
    from langchain_core.tracers.context import register_configure_hook

    if _handler is None:
        _handler = _make_handler_class()()
    _handler.active = True
    if _hook_var is None:
        # The default is the handler itself: every context, thread and task sees it.
        _hook_var = contextvars.ContextVar("agenttrace_langchain_handler", default=_handler)
        register_configure_hook(_hook_var, inheritable=True)


def uninstrument() -> None:
    # langchain-core has no way to unregister a hook: the handler stays registered, inert.
    if _handler is not None:
        _handler.active = False


class _Run:
    __slots__ = ("span", "suppress_token")

    def __init__(self, span: Any, suppress_token: Any = None) -> None:
        self.span = span
        self.suppress_token = suppress_token


def _make_handler_class() -> type:
    from langchain_core.callbacks import BaseCallbackHandler

    class AgentTraceCallbackHandler(BaseCallbackHandler):  # type: ignore[misc]
        """Turns LangChain runs into AgentTrace spans (see the module docstring)."""

        run_inline = True  # async runs call it in their own task, so the current span is right
        raise_error = False

        def __init__(self) -> None:
            self.active = True
            self._runs: dict[UUID, _Run] = {}
            self._hidden: dict[UUID, UUID | None] = {}  # hidden run -> its parent run
            self._lock = threading.Lock()

        # --- starting and ending ----------------------------------------------------------

        def _parent(self, parent_run_id: UUID | None) -> Any:
            parent = self._run_parent(parent_run_id)
            if parent is None:
                return None  # start_span falls back to the current span
            # A live span the application opened inside the parent run (``with at.span``
            # in a tool or node) is closer to where this run really ran.
            current = current_span_var.get()
            if (
                current is not None
                and current is not parent
                and getattr(current, "trace", None) is parent.trace
                and current.start_ns >= parent.start_ns
                and not hasattr(current, "end_ns")
            ):
                return current
            return parent

        def _run_parent(self, parent_run_id: UUID | None) -> Any:
            seen = 0
            while parent_run_id is not None and seen < 1000:
                run = self._runs.get(parent_run_id)
                if run is not None:
                    return run.span
                if parent_run_id not in self._hidden:
                    return None
                parent_run_id = self._hidden[parent_run_id]
                seen += 1
            return None

        def _start(
            self,
            run_id: UUID,
            parent_run_id: UUID | None,
            tags: list[str] | None,
            name: str,
            kind: str,
            **span_kw: Any,
        ) -> Any:
            if not self.active:
                return None
            if tags and _HIDDEN in tags:
                with self._lock:
                    self._hidden[run_id] = parent_run_id
                return None
            s = start_span(name, kind, parent=self._parent(parent_run_id), **span_kw)
            if s is None:
                return None
            s.attributes["langchain.run_id"] = str(run_id)
            token = suppress_llm.set(True) if kind == "llm" else None
            with self._lock:
                self._runs[run_id] = _Run(s, token)
            return s

        def _end(self, run_id: UUID, error: BaseException | None = None, output: Any = None) -> Any:
            with self._lock:
                self._hidden.pop(run_id, None)
                run = self._runs.pop(run_id, None)
            if run is None:
                return None
            if run.suppress_token is not None:
                try:
                    suppress_llm.reset(run.suppress_token)
                except (ValueError, RuntimeError):  # ended in another context than it started
                    suppress_llm.set(False)
            if output is not None:
                run.span.set_output(output)
            end_span(run.span, error)
            return run.span

        # --- chains and graph nodes -------------------------------------------------------------

        def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
            try:
                metadata = kw.get("metadata") or {}
                name = kw.get("name") or _serialized_name(serialized) or "chain"
                s = self._start(run_id, kw.get("parent_run_id"), kw.get("tags"), name, "chain")
                if s is not None:
                    node = metadata.get("langgraph_node")
                    if node:
                        s.attributes["langgraph.node"] = str(node)
                        s.attributes["langgraph.step"] = metadata.get("langgraph_step")
                    s.set_input(_plain(inputs))
            except Exception:
                count_error()

        def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
            try:
                self._end(run_id, output=_plain(outputs))
            except Exception:
                count_error()

        def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
            try:
                if type(error).__name__ == "GraphInterrupt":  # LangGraph's human-in-the-loop pause
                    self._end(run_id)
                else:
                    self._end(run_id, error)
            except Exception:
                count_error()

        # --- models -------------------------------------------------------------------------------

        def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kw: Any) -> None:
            try:
                s = self._model_start(serialized, run_id, kw)
                if s is not None:
                    s.set_input([_message(m) for batch in messages for m in batch])
            except Exception:
                count_error()

        def on_llm_start(self, serialized: Any, prompts: list[str], *, run_id: UUID, **kw: Any) -> None:
            try:
                s = self._model_start(serialized, run_id, kw)
                if s is not None:
                    s.set_input(prompts[0] if len(prompts) == 1 else prompts)
            except Exception:
                count_error()

        def _model_start(self, serialized: Any, run_id: UUID, kw: dict[str, Any]) -> Any:
            metadata = kw.get("metadata") or {}
            params = kw.get("invocation_params") or {}
            model = metadata.get("ls_model_name") or params.get("model") or params.get("model_name") or ""
            provider = metadata.get("ls_provider") or ""
            name = kw.get("name") or _serialized_name(serialized) or "llm"
            return self._start(
                run_id, kw.get("parent_run_id"), kw.get("tags"), name, "llm", model=str(model), provider=str(provider)
            )

        def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
            try:
                run = self._runs.get(run_id)
                if run is not None:
                    _record_llm_result(run.span, response)
                self._end(run_id)
            except Exception:
                count_error()

        def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
            try:
                self._end(run_id, error)
            except Exception:
                count_error()

        # --- tools and retrievers ------------------------------------------------------------------

        def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, **kw: Any) -> None:
            try:
                name = kw.get("name") or _serialized_name(serialized) or "tool"
                s = self._start(run_id, kw.get("parent_run_id"), kw.get("tags"), name, "tool")
                if s is not None:
                    inputs = kw.get("inputs")
                    s.set_input(inputs if inputs is not None else input_str)
            except Exception:
                count_error()

        def on_tool_end(self, output: Any, *, run_id: UUID, **kw: Any) -> None:
            try:
                self._end(run_id, output=_plain(getattr(output, "content", output)))
            except Exception:
                count_error()

        def on_tool_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
            try:
                self._end(run_id, error)
            except Exception:
                count_error()

        def on_retriever_start(self, serialized: Any, query: str, *, run_id: UUID, **kw: Any) -> None:
            try:
                name = kw.get("name") or _serialized_name(serialized) or "retriever"
                s = self._start(run_id, kw.get("parent_run_id"), kw.get("tags"), name, "retrieval")
                if s is not None:
                    s.set_input(query)
            except Exception:
                count_error()

        def on_retriever_end(self, documents: Any, *, run_id: UUID, **kw: Any) -> None:
            try:
                run = self._runs.get(run_id)
                if run is not None:
                    run.span.attributes["retrieval.documents"] = len(documents)
                self._end(run_id, output=[_document(d) for d in documents])
            except Exception:
                count_error()

        def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
            try:
                self._end(run_id, error)
            except Exception:
                count_error()

    return AgentTraceCallbackHandler


# --- conversions (pure functions of LangChain objects) ------------------------------------------


def _serialized_name(serialized: Any) -> str:
    if not isinstance(serialized, dict):
        return ""
    name = serialized.get("name")
    if name:
        return str(name)
    ids = serialized.get("id")
    return str(ids[-1]) if isinstance(ids, list) and ids else ""


def _message(message: Any) -> dict[str, Any]:
    return {"role": getattr(message, "type", "message"), "content": getattr(message, "content", str(message))}


def _document(document: Any) -> dict[str, Any]:
    return {"content": getattr(document, "page_content", str(document)), "metadata": getattr(document, "metadata", {})}


def _plain(value: Any) -> Any:
    """Messages as role/content dicts, containers walked one level; others as they are."""
    if hasattr(value, "content") and hasattr(value, "type"):
        return _message(value)
    if isinstance(value, dict):
        return {k: _plain(v) if hasattr(v, "content") else v for k, v in value.items()}
    if isinstance(value, list):
        return [_message(v) if hasattr(v, "content") and hasattr(v, "type") else v for v in value]
    return value


def _record_llm_result(span: Any, response: Any) -> None:
    generations = [g for batch in (get(response, "generations") or ()) for g in batch]
    message = getattr(generations[0], "message", None) if generations else None
    llm_output = get(response, "llm_output") or {}
    metadata = getattr(message, "response_metadata", None) or {}
    model = metadata.get("model_name") or metadata.get("model") or llm_output.get("model_name")
    if model:
        span.set_model(str(model))
    usage = _usage(getattr(message, "usage_metadata", None), llm_output)
    if usage is not None:
        span.set_usage(usage)
    reasons = [str(r) for r in (metadata.get("finish_reason") or metadata.get("stop_reason"),) if r]
    if reasons:
        span.attributes["gen_ai.response.finish_reasons"] = reasons
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        span.attributes["gen_ai.response.tool_calls"] = [
            {"id": str(c.get("id") or ""), "name": str(c.get("name") or "")} for c in calls
        ]
    if message is not None and getattr(message, "content", None):
        span.set_output(message.content)
    elif calls:
        span.set_output([{"name": c.get("name"), "args": c.get("args")} for c in calls])
    elif generations and getattr(generations[0], "text", ""):
        span.set_output(generations[0].text)


def _usage(usage_metadata: Any, llm_output: dict[str, Any]) -> Usage | None:
    """LangChain's ``usage_metadata`` counts as AgentTrace does: ``input_tokens`` includes
    the cache reads and writes (``input_token_details``), ``output_tokens`` the reasoning."""
    if usage_metadata:
        details_in = get(usage_metadata, "input_token_details") or {}
        details_out = get(usage_metadata, "output_token_details") or {}
        return Usage(
            input_tokens=count(usage_metadata, "input_tokens"),
            output_tokens=count(usage_metadata, "output_tokens"),
            cache_read_tokens=count(details_in, "cache_read"),
            cache_write_tokens=count(details_in, "cache_creation"),
            reasoning_tokens=count(details_out, "reasoning"),
        )
    token_usage = llm_output.get("token_usage") or llm_output.get("usage")
    if token_usage:
        return usage_from_openai(token_usage)
    return None
