"""Ids as people paste them back: any form a face printed, or a unique prefix of one.

The CLI, the TUI and the API print trace ids in full (32 hex digits) or shortened
(``spans`` shows 12 digits, the TUI's waterfall title 16), and people paste ids from
other tools with a ``0x`` prefix, in capitals or with dashes. :func:`trace_tree` and
:func:`session_detail` take any of these, so every face accepts back what any face
printed:

    tree = trace_tree(engine, "0xAB12CD34EF")      # a unique prefix, any case
    detail = session_detail(engine, "chat-4f1c9a2e")  # exact, else a unique prefix

A prefix must have at least :data:`MIN_PREFIX` characters (shorter ones match too
much to be meant); one that matches several ids raises
:class:`~agenttrace.errors.AmbiguousIdError` with the candidates in ``.matches``.
"""

from __future__ import annotations

from agenttrace.errors import AmbiguousIdError, NotFoundError
from agenttrace.query.protocol import QueryEngine
from agenttrace.query.results import SessionDetail, TraceTree

__all__ = ["MIN_PREFIX", "clean_trace_id", "resolve_session_id", "resolve_trace_id", "session_detail", "trace_tree"]

MIN_PREFIX = 8
_HEX = frozenset("0123456789abcdef")


def clean_trace_id(text: str) -> str:
    """``text`` as lowercase hex digits: a ``0x`` prefix, dashes and spaces dropped.
    ``ValueError`` when what is left is not (part of) a trace id."""
    value = text.strip().lower().replace("-", "").replace(" ", "")
    if value.startswith("0x"):
        value = value[2:]
    if not value or len(value) > 32 or not set(value) <= _HEX:
        raise ValueError(f"{text!r} is not a trace id: a trace id is 32 hex digits (or at least {MIN_PREFIX} of them)")
    return value


def resolve_trace_id(engine: QueryEngine, text: str) -> str:
    """The full trace id ``text`` names: itself when complete, else the one trace id
    that starts with it."""
    value = clean_trace_id(text)
    if len(value) == 32:
        return value
    if len(value) < MIN_PREFIX:
        raise ValueError(f"{text!r} is too short to find a trace by: give at least {MIN_PREFIX} of its 32 hex digits")
    return engine.resolve("trace", value)


def trace_tree(engine: QueryEngine, text: str) -> TraceTree:
    """The trace ``text`` names (see :func:`resolve_trace_id`)."""
    return engine.trace(resolve_trace_id(engine, text))


def resolve_session_id(engine: QueryEngine, text: str) -> str:
    """For a ``--session`` filter: the session id ``text`` is, else the one it is a unique
    prefix of (8+ characters); an id no session has is returned as it is (the filter then
    matches nothing, which the listing says). Reads every session id: for a person's input."""
    value = text.strip()
    if len(value) < MIN_PREFIX:
        return value
    try:
        return engine.resolve("session", value)
    except AmbiguousIdError as exc:
        if value in exc.matches:  # an exact id wins over the longer ids it prefixes
            return value
        raise
    except NotFoundError:
        return value


def session_detail(engine: QueryEngine, text: str) -> SessionDetail:
    """The session whose id is ``text``, else the one session whose id starts with it
    (at least :data:`MIN_PREFIX` characters). An exact id wins over longer ids it prefixes."""
    value = text.strip()
    if not value:
        raise ValueError("an empty session id names no session")
    try:
        return engine.session(value)
    except NotFoundError:
        if len(value) < MIN_PREFIX:
            raise
    try:
        full = engine.resolve("session", value)
    except NotFoundError:
        raise NotFoundError(f"no session {value!r} (and no session id starts with it)") from None
    return engine.session(full)
