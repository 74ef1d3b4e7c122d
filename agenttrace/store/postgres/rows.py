"""A span as a row of the ``spans`` table, and back (the column order of 001_spans.sql)."""

from __future__ import annotations

from typing import Any

import msgspec

from agenttrace.model import Event, Span, Usage

__all__ = ["COLUMNS", "span_from_row", "span_row"]

COLUMNS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_id", "name", "start_ns", "end_ns", "kind", "status", "status_message",
    "session_id", "service", "user_id", "environment", "tags", "model", "provider", "has_usage",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
    "cache_write_1h_tokens", "cost_usd", "input_preview", "output_preview", "attributes", "events",
    "service_tier", "cost_source",
)  # fmt: skip

_json = msgspec.json.Encoder()


def _text(s: str) -> str:
    # PostgreSQL text cannot hold NUL; the segment store can. U+FFFD marks the spot.
    return s.replace("\x00", "\ufffd") if "\x00" in s else s


def _jsonb(value: Any) -> str:
    text = _json.encode(value).decode()
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def span_row(s: Span) -> tuple:
    u = s.usage
    events = [{"name": e.name, "time_ns": e.time_ns, "attributes": e.attributes} for e in s.events] if s.events else []
    return (
        s.trace_id, s.span_id, s.parent_id, _text(s.name), s.start_ns, s.end_ns, _text(s.kind), s.status,
        _text(s.status_message), _text(s.session_id), _text(s.service), _text(s.user_id), _text(s.environment),
        [_text(t) for t in s.tags], _text(s.model), _text(s.provider), u is not None,
        u.input_tokens if u else 0, u.output_tokens if u else 0, u.cache_read_tokens if u else 0,
        u.cache_write_tokens if u else 0, u.reasoning_tokens if u else 0, u.cache_write_1h_tokens if u else 0,
        s.cost_usd, _text(s.input_preview), _text(s.output_preview),
        _jsonb(s.attributes) if s.attributes else "{}", _jsonb(events) if events else "[]",
        _text(s.service_tier), _text(s.cost_source),
    )  # fmt: skip


_loads = msgspec.json.Decoder()


def span_from_row(r: Any) -> Span:
    """A ``spans`` row (a record with the COLUMNS) as the model Struct it was written from."""
    usage = (
        Usage(
            r["input_tokens"],
            r["output_tokens"],
            r["cache_read_tokens"],
            r["cache_write_tokens"],
            r["reasoning_tokens"],
            r["cache_write_1h_tokens"],
        )
        if r["has_usage"]
        else None
    )
    attrs = _loads.decode(r["attributes"]) if r["attributes"] not in (None, "{}") else {}
    events_raw = _loads.decode(r["events"]) if r["events"] not in (None, "[]") else []
    events = [Event(e["name"], e["time_ns"], e.get("attributes") or {}) for e in events_raw]
    return Span(
        trace_id=bytes(r["trace_id"]), span_id=bytes(r["span_id"]), name=r["name"], start_ns=r["start_ns"],
        end_ns=r["end_ns"], parent_id=bytes(r["parent_id"]), kind=r["kind"], status=r["status"],
        status_message=r["status_message"], session_id=r["session_id"], service=r["service"],
        user_id=r["user_id"], environment=r["environment"], tags=list(r["tags"]), model=r["model"],
        provider=r["provider"], usage=usage, cost_usd=r["cost_usd"], input_preview=r["input_preview"],
        output_preview=r["output_preview"], attributes=attrs, events=events, service_tier=r["service_tier"],
        cost_source=r["cost_source"],
    )  # fmt: skip
