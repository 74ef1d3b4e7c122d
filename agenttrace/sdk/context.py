"""Context propagation: the current span, sessions, threads and W3C ``traceparent``.

The current span lives in a :class:`contextvars.ContextVar`, so it is right across
``await``, ``asyncio.gather`` and ``asyncio.create_task`` (each task starts with a copy
of its creator's context). Plain threads start with an empty context; start them with
:func:`run_in_thread`, or wrap the callable with :func:`bind_context` before handing it
to an executor, so spans inside them get the right parent.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "RemoteParent",
    "Session",
    "bind_context",
    "current_span_var",
    "format_traceparent",
    "parse_traceparent",
    "run_in_thread",
    "session",
    "session_var",
]

P = ParamSpec("P")
R = TypeVar("R")

# The active span (a tracer.LiveSpan) or None. Module-level so the hot path binds its
# get/set/reset methods once.
current_span_var: contextvars.ContextVar[Any] = contextvars.ContextVar("agenttrace_span", default=None)
# The active Session, or None for the configured default.
session_var: contextvars.ContextVar[Session | None] = contextvars.ContextVar("agenttrace_session", default=None)

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$")


class RemoteParent:
    """A parent span in another process, read from a ``traceparent`` header."""

    __slots__ = ("sampled", "span_id", "trace_id")

    def __init__(self, trace_id: int, span_id: int, sampled: bool) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.sampled = sampled

    def __repr__(self) -> str:
        return f"RemoteParent({format_traceparent(self.trace_id, self.span_id, self.sampled)!r})"

    @property
    def traceparent(self) -> str:
        return format_traceparent(self.trace_id, self.span_id, self.sampled)


def format_traceparent(trace_id: int, span_id: int, sampled: bool) -> str:
    """``00-<32 hex trace id>-<16 hex span id>-<flags>`` (W3C Trace Context, version 00)."""
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"


def parse_traceparent(header: str | bytes | None) -> RemoteParent | None:
    """Parse a W3C ``traceparent`` header; ``None`` if absent or malformed (as the
    spec asks: an invalid header starts a new trace rather than failing the request).

    >>> parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").sampled
    True
    >>> parse_traceparent("garbage") is None
    True
    """
    if header is None:
        return None
    if isinstance(header, bytes):
        header = header.decode("ascii", "replace")
    if not isinstance(header, str):
        return None
    m = _TRACEPARENT.match(header.strip().lower())
    if m is None:
        return None
    version, trace_hex, span_hex, flags_hex = m.groups()
    if version == "ff" or (version == "00" and len(header.strip()) != 55):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0 or span_id == 0:
        return None
    return RemoteParent(trace_id, span_id, bool(int(flags_hex, 16) & 0x01))


class Session:
    """Who and what a trace belongs to: ``session_id``, ``user_id`` and ``tags``.
    ``None`` fields fall back to the configured defaults."""

    __slots__ = ("session_id", "tags", "user_id")

    def __init__(self, session_id: str | None = None, user_id: str | None = None, tags: Iterable[str] | None = None):
        self.session_id = session_id
        self.user_id = user_id
        self.tags = tuple(tags) if tags is not None else None


class session:  # lower-case: used like a function, ``with at.session("id"):``
    """Scope spans to a session (one agent instance, one conversation).

    Root spans started inside take this session id, user id and tags; their children
    inherit them. With no ``session_id`` a fresh random one is drawn.

    >>> import agenttrace as at
    >>> with at.session(user_id="alice") as sid:
    ...     len(sid)
    32
    """

    def __init__(self, session_id: str | None = None, *, user_id: str | None = None, tags: Iterable[str] | None = None):
        if session_id is None:
            from agenttrace.sdk.config import new_session_id

            session_id = new_session_id()
        self._session = Session(session_id, user_id, tags)
        self._tokens: list[contextvars.Token[Session | None]] = []

    @property
    def session_id(self) -> str:
        return self._session.session_id or ""

    def __enter__(self) -> str:
        self._tokens.append(session_var.set(self._session))
        return self.session_id

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError, RuntimeError, IndexError):
            session_var.reset(self._tokens.pop())

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)


def bind_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Return ``fn`` bound to a copy of the current context: spans it starts, in
    whatever thread runs it, get the current span as parent.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor() as pool:
    ...     pool.submit(bind_context(lambda: 42)).result()
    42
    """
    ctx = contextvars.copy_context()

    def bound(*args: P.args, **kwargs: P.kwargs) -> R:
        # A Context can be entered by one thread at a time; run a fresh copy each call
        # so the same bound callable may run concurrently.
        return ctx.copy().run(fn, *args, **kwargs)

    bound.__wrapped__ = fn  # type: ignore[attr-defined]
    return bound


def run_in_thread(
    fn: Callable[..., Any], *args: Any, name: str | None = None, daemon: bool | None = None, **kwargs: Any
) -> threading.Thread:
    """Start a thread running ``fn(*args, **kwargs)`` in a copy of the current context
    and return it (``join()`` it as usual)."""
    thread = threading.Thread(target=bind_context(fn), args=args, kwargs=kwargs, name=name, daemon=daemon)
    thread.start()
    return thread
