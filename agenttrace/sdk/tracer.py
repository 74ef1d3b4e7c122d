"""Live spans: the object behind ``at.span``, ``at.llm``, ``at.tool`` and ``@at.observe``.

One class, :class:`LiveSpan`, is both the context manager (``with`` and ``async with``)
and the decorator: used as a decorator it is a template, and every call of the
decorated function runs in a fresh span built from it (so it is reentrant and
thread-safe).

The hot path (``__init__``, ``__enter__``, ``__exit__``) only records ints, a dict and
a start/end time, then appends the span to the emitter's deque. Ids stay ints until the
emitter's thread turns the span into a :class:`~agenttrace.model.Span`, so the agent
pays for no encoding, no lock and no system call beyond two clock reads.
"""

from __future__ import annotations

import functools
import inspect
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from agenttrace.bounds import MAX_COST_USD, clamp_tokens
from agenttrace.model import Status, Usage
from agenttrace.sdk.context import RemoteParent, current_span_var, parse_traceparent, session_var

__all__ = [
    "NOOP_SPAN",
    "LiveSpan",
    "NoopSpan",
    "TraceState",
    "agent",
    "current_span",
    "llm",
    "new_trace",
    "observe",
    "retrieval",
    "span",
    "tool",
]

# --- state the runtime installs (see runtime.install) --------------------------------
# _mode: 0 = not set up yet (the first span sets up from the environment),
#        1 = recording, 2 = disabled (spans are no-ops).
_mode = 0
_q: deque[LiveSpan] = deque()
_qmax = 16384
_flush_at = 512  # queue length at which the emitter thread is woken early
_wake: Callable[[], Any] = lambda: None  # noqa: E731
_count: Callable[[str, int], None] = lambda reason, n: None  # noqa: E731 - stats sink for slow paths
_threshold = 1 << 64  # sample a trace when (trace_id & 2**64-1) < _threshold
_rng = random.Random()
_getrandbits = _rng.getrandbits
_time_ns: Callable[[], int] = time.time_ns
_capture = True
_max_preview = 2000
_mask: Callable[[str], str] | None = None
# The parent a process was started under (the TRACEPARENT environment variable, set by
# ``agenttrace wrap`` and other launchers): root spans join its trace.
_env_parent: RemoteParent | None = None
MAX_PENDING_PER_TRACE = 1024  # spans of one sampled-out trace held until its root ends

_current_get = current_span_var.get
_current_set = current_span_var.set
_current_reset = current_span_var.reset
_session_get = session_var.get
_MASK64 = (1 << 64) - 1
_new = object.__new__


def _setup() -> None:
    from agenttrace.sdk import runtime

    runtime.ensure_started()


# What the spans of one trace in this process share, as a plain list because a root
# span creates one on the hot path and a list is ~5x cheaper to build than a slotted
# object: [trace_id, sampled, session, root, pending]. ``root`` is the root's span id
# (not the span: that would make every root a reference cycle for the GC to find);
# ``session`` is the at.session()
# in force when the root started (None: the configured default); ``pending`` holds the
# finished spans of a sampled-out trace until its root ends (kept if any of them
# errored, else discarded and counted as sampled_out).
TraceState = list
T_ID, T_SAMPLED, T_SESSION, T_ROOT, T_PENDING = range(5)


def new_trace(trace_id: int, sampled: bool, root_span_id: int) -> list[Any]:
    return [trace_id, sampled, _session_get(), root_span_id, None if sampled else []]


class LiveSpan:
    """A span being recorded. Use it with ``with`` / ``async with`` or as a decorator.

    >>> import agenttrace as at
    >>> with at.span("plan", kind="reasoning", step=1) as s:
    ...     s.set_attribute("ok", True)
    """

    __slots__ = (
        "_extra",
        "_remote",
        "_token",
        "attributes",
        "end_ns",
        "kind",
        "name",
        "parent_id",
        "span_id",
        "start_ns",
        "status",
        "trace",
    )

    def __init__(self, name: str, kind: str = "custom", attributes: dict[str, Any] | None = None) -> None:
        self.name = name
        self.kind = kind
        self.attributes = {} if attributes is None else attributes
        self.status = 0
        self._extra: dict[str, Any] | None = None
        self._remote: RemoteParent | None = None

    # --- hot path -------------------------------------------------------------------

    def __enter__(self) -> LiveSpan:
        sid = self.span_id = _getrandbits(64)
        if self._remote is None:
            parent = _current_get()
            if parent is None and _env_parent is not None:
                self._remote = _env_parent
                self._join_remote()
            elif parent is None:
                tid = _getrandbits(128)
                sampled = (tid & _MASK64) < _threshold
                self.trace = [tid, sampled, _session_get(), sid, None if sampled else []]  # see new_trace
                self.parent_id = 0
            else:
                self.trace = parent.trace
                self.parent_id = parent.span_id
        else:
            self._join_remote()
        self._token = _current_set(self)
        self.start_ns = _time_ns()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        self.end_ns = _time_ns()
        try:  # noqa: SIM105 - contextlib.suppress costs a call on the hot path
            _current_reset(self._token)
        except (ValueError, RuntimeError):  # entered in another context: nothing to restore
            pass
        if exc_type is not None:
            self._record_exception(exc_type, exc)
        if self.trace[1]:  # T_SAMPLED
            n = len(_q)
            if n < _flush_at:
                _q.append(self)
            elif n < _qmax:
                _q.append(self)
                if n == _flush_at:
                    _wake()
            else:
                _count("queue_full", 1)
        else:
            _end_unsampled(self)
        return False

    async def __aenter__(self) -> LiveSpan:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return self.__exit__(exc_type, exc, tb)

    # --- slower paths -----------------------------------------------------------------

    def _join_remote(self) -> None:
        remote = self._remote
        tid = remote.trace_id
        # A remote parent that sampled the trace wins; otherwise the local ratio decides
        # (and a sampled-out trace is still kept if it errors).
        sampled = remote.sampled or (tid & _MASK64) < _threshold
        self.trace = new_trace(tid, sampled, self.span_id)
        self.parent_id = remote.span_id

    def _begin(self) -> None:
        """Start without becoming the current span (generators switch it per step)."""
        self.__enter__()
        _current_reset(self._token)

    def _end(self, exc_type: Any = None, exc: Any = None) -> None:
        self.end_ns = _time_ns()
        if exc_type is not None:
            self._record_exception(exc_type, exc)
        if self.trace[T_SAMPLED]:
            _enqueue(self)
        else:
            _end_unsampled(self)

    def _x(self) -> dict[str, Any]:
        extra = self._extra
        if extra is None:
            extra = self._extra = {}
        return extra

    def _record_exception(self, exc_type: Any, exc: Any) -> None:
        if exc_type is GeneratorExit or (exc_type is SystemExit and getattr(exc, "code", 1) in (0, None)):
            return
        short_name = type_name = getattr(exc_type, "__name__", "Exception")
        try:
            module = exc_type.__module__
            if module not in ("builtins", "__main__"):
                type_name = f"{module}.{exc_type.__qualname__}"
            message = _mask_text(str(exc)) if exc is not None else ""
        except Exception:  # str() of a broken exception must not hide the real one
            message = "<unprintable exception>"
        self.status = Status.ERROR
        extra = self._x()
        extra["status_message"] = f"{short_name}: {message}" if message else short_name
        extra.setdefault("events", []).append(
            ("exception", _time_ns(), {"exception.type": type_name, "exception.message": message})
        )

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Use this span as a decorator template: each call runs in a fresh span."""
        return _wrap(fn, self.name, self.kind, self.attributes, self._extra)

    def __repr__(self) -> str:
        return f"<LiveSpan {self.name!r} kind={self.kind!r}>"

    # --- what users call inside a span --------------------------------------------------

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (str key; value: str, int, float, bool, None, or lists/dicts of those)."""
        self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self.attributes.update(attributes)

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None, **attrs: Any) -> None:
        """Record a point in time inside the span (a retry, a log line)."""
        if attributes:
            attrs = {**attributes, **attrs}
        self._x().setdefault("events", []).append((name, _time_ns(), attrs))

    def set_status(self, status: Status | int | str, message: str = "") -> None:
        """``"ok"``, ``"error"`` or ``"unset"`` (or a :class:`~agenttrace.model.Status`)."""
        if isinstance(status, str):
            status = {"unset": 0, "ok": 1, "error": 2}.get(status.lower(), 0)
        self.status = int(status)
        if message:
            self._x()["status_message"] = _mask_text(message)

    def set_input(self, value: Any) -> None:
        """Record a preview of the input (truncated, masked, or skipped when content capture is off)."""
        text = _preview(value, self)
        if text is not None:
            self._x()["input_preview"] = text

    def set_output(self, value: Any) -> None:
        """Record a preview of the output (truncated, masked, or skipped when content capture is off)."""
        text = _preview(value, self)
        if text is not None:
            self._x()["output_preview"] = text

    def set_model(self, model: str, provider: str | None = None) -> None:
        extra = self._x()
        extra["model"] = model
        if provider is not None:
            extra["provider"] = provider

    def set_usage(
        self,
        usage: Usage | None = None,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        cost_usd: float | None = None,
        service_tier: str | None = None,
    ) -> None:
        """Record token counts (``input_tokens`` includes cache reads and writes;
        ``reasoning_tokens`` is part of ``output_tokens``), and optionally the cost the
        provider reported and the service tier used."""
        extra = self._x()
        if usage is None:
            # Clamped here already (the collector would clamp and count them anyway).
            usage = Usage(
                clamp_tokens(int(input_tokens)),
                clamp_tokens(int(output_tokens)),
                clamp_tokens(int(cache_read_tokens)),
                clamp_tokens(int(cache_write_tokens)),
                clamp_tokens(int(reasoning_tokens)),
                clamp_tokens(int(cache_write_1h_tokens)),
            )
        extra["usage"] = usage
        if cost_usd is not None:
            cost = float(cost_usd)
            if 0.0 <= cost <= MAX_COST_USD:  # NaN, inf and negatives are no cost at all
                extra["cost_usd"] = cost
        if service_tier:
            extra["service_tier"] = str(service_tier)

    def record_anthropic(self, response: Any) -> None:
        """Set model, provider, usage and service tier from an Anthropic ``Message``."""
        from agenttrace.sdk.integrations.anthropic import record_anthropic

        record_anthropic(self, response)

    def record_openai(self, response: Any) -> None:
        """Set model, provider, usage and service tier from an OpenAI chat completion or response."""
        from agenttrace.sdk.integrations.openai import record_openai

        record_openai(self, response)

    @property
    def trace_id(self) -> int:
        return self.trace[T_ID]

    @property
    def traceparent(self) -> str:
        """This span as a W3C ``traceparent`` header value (once started)."""
        from agenttrace.sdk.context import format_traceparent

        return format_traceparent(self.trace[T_ID], self.span_id, self.trace[T_SAMPLED])


class NoopSpan:
    """What span helpers return when AgentTrace is disabled: every method does nothing."""

    __slots__ = ()
    name = ""
    kind = "custom"
    status = 0
    attributes: Mapping[str, Any] = {}

    def __enter__(self) -> NoopSpan:
        return self

    def __exit__(self, *exc: object) -> bool:
        return False

    async def __aenter__(self) -> NoopSpan:
        return self

    async def __aexit__(self, *exc: object) -> bool:
        return False

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return fn

    def _begin(self) -> None:
        pass

    def _end(self, exc_type: Any = None, exc: Any = None) -> None:
        pass

    def _noop(self, *args: Any, **kwargs: Any) -> None:
        return None

    set_attribute = set_attributes = add_event = set_status = set_input = set_output = _noop
    set_model = set_usage = record_anthropic = record_openai = _noop
    traceparent = None


NOOP_SPAN = NoopSpan()


# --- queueing (slow paths of __exit__) ----------------------------------------------------


def _enqueue(s: LiveSpan) -> None:
    n = len(_q)
    if n < _qmax:
        _q.append(s)
        if n == _flush_at:
            _wake()
    else:
        _count("queue_full", 1)


def _end_unsampled(s: LiveSpan) -> None:
    trace = s.trace
    if s.status == Status.ERROR:
        # An error keeps the whole trace: release what waited and send the rest directly.
        trace[T_SAMPLED] = True
        pending, trace[T_PENDING] = trace[T_PENDING], None
        for p in pending or ():
            _enqueue(p)
        _enqueue(s)
        return
    pending = trace[T_PENDING]
    if s.span_id == trace[T_ROOT]:
        trace[T_PENDING] = None
        _count("sampled_out", 1 + (len(pending) if pending else 0))
    elif pending is None:  # the root already ended without an error
        _count("sampled_out", 1)
    elif len(pending) < MAX_PENDING_PER_TRACE:
        pending.append(s)
    else:
        _count("sample_buffer_full", 1)


def _mask_text(text: str) -> str:
    mask = _mask
    if mask is None:
        return text
    try:
        out = mask(text)
        return out if isinstance(out, str) else str(out)
    except Exception:
        # Never leak what the mask was meant to hide.
        return "[mask failed]"


def _preview(value: Any, s: LiveSpan) -> str | None:
    if not _capture:
        return None
    if isinstance(value, str):
        text = value
    else:
        try:
            import msgspec

            text = msgspec.json.encode(value, enc_hook=repr).decode()
        except Exception:
            try:
                text = repr(value)
            except Exception:
                text = f"<unprintable {type(value).__name__}>"
    text = _mask_text(text)
    limit = _max_preview
    if len(text) > limit:
        text = text[: limit - 1] + "…" if limit > 0 else ""
        s.attributes["agenttrace.preview_truncated"] = True
    return text


# --- factories ------------------------------------------------------------------------------


def span(
    name: str, /, kind: str = "custom", *, traceparent: str | RemoteParent | None = None, **attributes: Any
) -> Any:
    """A span as a context manager (``with`` / ``async with``) or decorator.

    ``traceparent`` (a header string or :func:`agenttrace.extract_traceparent`'s result)
    makes the span a child of a span in another process. Other keyword arguments become
    attributes (``name`` too; set attributes called ``kind`` or ``traceparent`` with
    ``s.set_attribute``).
    """
    if _mode != 1:
        if _mode == 0:
            _setup()
        if _mode != 1:
            return NOOP_SPAN
    # Same as LiveSpan(name, kind, attributes) without the __init__ frame (~25% of this call).
    s = _new(LiveSpan)
    s.name = name
    s.kind = kind
    s.attributes = attributes
    s.status = 0
    s._extra = None
    if traceparent is None:
        s._remote = None
    else:
        s._remote = traceparent if isinstance(traceparent, RemoteParent) else parse_traceparent(traceparent)
    return s


def _make(name: str, kind: str, attributes: Mapping[str, Any] | None, extra: Mapping[str, Any] | None) -> Any:
    if _mode != 1:
        if _mode == 0:
            _setup()
        if _mode != 1:
            return NOOP_SPAN
    s = LiveSpan(name, kind, dict(attributes) if attributes else {})
    if extra:
        s._extra = {k: v for k, v in extra.items() if k in ("model", "provider")}
    return s


def llm(name: str, /, *, model: str = "", provider: str = "", **attributes: Any) -> Any:
    """A model call. Inside, record tokens with ``g.set_usage(...)`` or
    ``g.record_anthropic(response)`` / ``g.record_openai(response)``.

    >>> import agenttrace as at
    >>> with at.llm("answer", model="claude-sonnet-4-5", provider="anthropic") as g:
    ...     g.set_usage(input_tokens=1200, output_tokens=80, cache_read_tokens=1000)
    """
    s = span(name, "llm", **attributes)
    if s is not NOOP_SPAN and (model or provider):
        s._extra = {"model": model, "provider": provider}
    return s


def tool(name: str, /, **attributes: Any) -> Any:
    """A tool call (``kind="tool"``)."""
    return span(name, "tool", **attributes)


def agent(name: str, /, **attributes: Any) -> Any:
    """One run of an agent (``kind="agent"``), usually the root of a trace."""
    return span(name, "agent", **attributes)


def retrieval(name: str, /, **attributes: Any) -> Any:
    """A retrieval step (``kind="retrieval"``): vector search, document lookup."""
    return span(name, "retrieval", **attributes)


def current_span() -> Any:
    """The span active in this context, or ``None``."""
    return _current_get()


def observe(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    kind: str = "custom",
    capture: bool = False,
    **attributes: Any,
) -> Any:
    """Trace every call of a function: ``@at.observe`` or ``@at.observe(name=, kind=)``.

    Works on plain, ``async``, generator and async-generator functions; a generator's
    span covers its whole iteration. Exceptions mark the span as an error and propagate
    unchanged. ``capture=True`` records the arguments as the input preview and (for
    plain and async functions) the return value as the output preview, subject to
    ``capture_content``, ``mask`` and ``max_preview_chars``.
    """
    if fn is None:
        return lambda f: _wrap(f, name, kind, attributes, None, capture)
    return _wrap(fn, name, kind, attributes, None, capture)


def _wrap(
    fn: Callable[..., Any],
    name: str | None,
    kind: str,
    attributes: Mapping[str, Any] | None,
    extra: Mapping[str, Any] | None,
    capture: bool = False,
) -> Callable[..., Any]:
    span_name = name or getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "call")
    attrs = dict(attributes) if attributes else None
    extra = dict(extra) if extra else None

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            s = _make(span_name, kind, attrs, extra)
            agen = fn(*args, **kwargs)
            if capture:
                s.set_input(_call_args(args, kwargs))
            s._begin()
            to_send: Any = None
            to_throw: BaseException | None = None
            try:
                while True:
                    token = _current_set(s) if s is not NOOP_SPAN else None
                    try:
                        if to_throw is not None:
                            exc, to_throw = to_throw, None
                            item = await agen.athrow(exc)
                        else:
                            item = await agen.asend(to_send)
                    except StopAsyncIteration:
                        break
                    finally:
                        if token is not None:
                            _current_reset(token)
                    try:
                        to_send = yield item
                    except GeneratorExit:
                        raise
                    except BaseException as exc:
                        to_throw = exc
            except GeneratorExit:
                try:
                    await agen.aclose()
                finally:
                    s._end()
                raise
            except BaseException as exc:
                s._end(type(exc), exc)
                raise
            s._end()

        return agen_wrapper

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            s = _make(span_name, kind, attrs, extra)
            gen = fn(*args, **kwargs)
            if capture:
                s.set_input(_call_args(args, kwargs))
            s._begin()
            to_send: Any = None
            to_throw: BaseException | None = None
            try:
                while True:
                    token = _current_set(s) if s is not NOOP_SPAN else None
                    try:
                        if to_throw is not None:
                            exc, to_throw = to_throw, None
                            item = gen.throw(exc)
                        else:
                            item = gen.send(to_send)
                    except StopIteration as stop:
                        result = stop.value
                        break
                    finally:
                        if token is not None:
                            _current_reset(token)
                    try:
                        to_send = yield item
                    except GeneratorExit:
                        raise
                    except BaseException as exc:
                        to_throw = exc
            except GeneratorExit:
                try:
                    gen.close()
                finally:
                    s._end()
                raise
            except BaseException as exc:
                s._end(type(exc), exc)
                raise
            s._end()
            return result

        return gen_wrapper

    if inspect.iscoroutinefunction(fn):
        if capture:

            @functools.wraps(fn)
            async def async_capture_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _make(span_name, kind, attrs, extra) as s:
                    s.set_input(_call_args(args, kwargs))
                    result = await fn(*args, **kwargs)
                    s.set_output(result)
                    return result

            return async_capture_wrapper

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with _make(span_name, kind, attrs, extra):
                return await fn(*args, **kwargs)

        return async_wrapper

    if capture:

        @functools.wraps(fn)
        def capture_wrapper(*args: Any, **kwargs: Any) -> Any:
            with _make(span_name, kind, attrs, extra) as s:
                s.set_input(_call_args(args, kwargs))
                result = fn(*args, **kwargs)
                s.set_output(result)
                return result

        return capture_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _make(span_name, kind, attrs, extra):
            return fn(*args, **kwargs)

    return wrapper


def _call_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not kwargs:
        return list(args)
    return {"args": list(args), "kwargs": kwargs}
