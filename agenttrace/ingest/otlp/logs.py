"""OTLP logs -> spans: each LogRecord becomes one span (pure functions, no I/O).

A record is first flattened into a plain dict (:func:`record_dict`), the input every
mapper takes::

    {"time_unix_nano": int, "observed_time_unix_nano": int, "event_name": str,
     "severity_text": str, "body": str | None, "attributes": dict, "resource": dict,
     "trace_id": bytes (16 or b""), "span_id": bytes (8 or b"")}

Agent-specific mappers (Claude Code's ``api_request`` -> an llm span, ...) are plugged in
by appending to :data:`LOG_MAPPERS`; the first that returns a Span wins, and
:func:`log_record_to_span` (kind ``event``) maps the rest.

    >>> span = log_record_to_span({"time_unix_nano": 5, "observed_time_unix_nano": 6,
    ...     "event_name": "", "severity_text": "INFO", "body": "hello",
    ...     "attributes": {"event.name": "user_prompt", "session.id": "s1"},
    ...     "resource": {"service.name": "claude-code"}, "trace_id": b"", "span_id": b""})
    >>> span.kind, span.name, span.session_id, span.service, span.start_ns
    ('event', 'user_prompt', 's1', 'claude-code', 5)
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from agenttrace.coding.telemetry import coding_span_from_log
from agenttrace.ingest.otlp.mapping import (
    CONTENT_DROPPED_ATTR,
    DEFAULT_POLICY,
    ContentPolicy,
    MappingResult,
    any_value,
    attributes_to_dict,
    mask_text,
)
from agenttrace.model import Span

__all__ = ["LOG_MAPPERS", "log_record_to_span", "record_dict", "request_to_spans"]

log = logging.getLogger("agenttrace.ingest.otlp")

# Mappers tried before the generic one, in order; each returns a Span or None ("not mine").
# Coding agents' events (Claude Code, Codex, Gemini CLI): docs/coding-agents.md.
LOG_MAPPERS: list[Callable[[dict], Span | None]] = [coding_span_from_log]

BODY_ATTR = "log.body"
_ERROR_SEVERITIES = ("ERROR", "FATAL", "CRITICAL")


def _derived_id(record: dict, size: int, salt: bytes) -> bytes:
    """A deterministic id for a record that has none: the same record always maps to
    the same span, so a retried export is recognisable."""
    h = hashlib.blake2b(digest_size=size, person=salt)
    h.update(msgspec.msgpack.encode([record.get(k) for k in sorted(record)], enc_hook=repr))
    out = h.digest()
    return out if any(out) else b"\x01" * size


def log_record_to_span(record: dict) -> Span:
    """The generic mapping: kind ``event``, named by ``event_name`` (else the ``event.name``
    attribute, else the severity), session from ``session.id``, every attribute kept."""
    attrs: dict[str, Any] = dict(record.get("attributes") or {})
    resource: dict[str, Any] = record.get("resource") or {}
    t = record.get("time_unix_nano") or record.get("observed_time_unix_nano") or 0
    trace_id = record.get("trace_id") or b""
    parent = record.get("span_id") or b""
    if len(trace_id) != 16:
        trace_id, parent = _derived_id(record, 16, b"at-log-trace"), b""
    if len(parent) != 8:
        parent = b""
    severity = str(record.get("severity_text") or "")
    name = record.get("event_name") or attrs.get("event.name") or severity or "log"
    body = record.get("body")
    if body is not None:
        attrs[BODY_ATTR] = body
    if severity:
        attrs["log.severity"] = severity
    for key, value in resource.items():
        attrs[f"resource.{key}"] = value
    lookup = {**resource, **attrs}
    return Span(
        trace_id=trace_id,
        span_id=_derived_id(record, 8, b"at-log-span"),
        name=str(name),
        start_ns=t,
        end_ns=t,
        parent_id=parent,
        kind="event",
        status=2 if severity.upper().startswith(_ERROR_SEVERITIES) else 0,
        session_id=str(lookup.get("session.id") or ""),
        service=str(resource.get("service.name") or ""),
        user_id=str(lookup.get("user.id") or ""),
        environment=str(lookup.get("deployment.environment.name") or lookup.get("deployment.environment") or ""),
        output_preview=body if isinstance(body, str) else "",
        attributes=attrs,
    )


def record_dict(lr: Any, resource: dict[str, Any]) -> dict:
    """A ``LogRecord`` message as the plain dict the mappers take."""
    body: Any = None
    if lr.HasField("body"):
        value = any_value(lr.body)
        body = value if isinstance(value, str) or value is None else json.dumps(value, default=str)
    return {
        "time_unix_nano": lr.time_unix_nano,
        "observed_time_unix_nano": lr.observed_time_unix_nano,
        "event_name": getattr(lr, "event_name", ""),
        "severity_text": lr.severity_text,
        "body": body,
        "attributes": attributes_to_dict(lr.attributes),
        "resource": resource,
        "trace_id": bytes(lr.trace_id) if len(lr.trace_id) == 16 else b"",
        "span_id": bytes(lr.span_id) if len(lr.span_id) == 8 else b"",
    }


def map_record(record: dict) -> Span:
    for mapper in LOG_MAPPERS:
        try:
            span = mapper(record)
        except Exception:
            # A mapper's bug must not lose the record: the generic mapping still keeps it.
            log.exception("log mapper %r failed; using the generic mapping", mapper)
            continue
        if span is not None:
            return span
    return log_record_to_span(record)


def _apply_policy(span: Span, policy: ContentPolicy) -> Span:
    if policy.capture and policy.mask is None:
        return span
    attrs = dict(span.attributes)
    if not policy.capture:
        if attrs.pop(BODY_ATTR, None) is not None or span.input_preview or span.output_preview:
            attrs[CONTENT_DROPPED_ATTR] = True
        return msgspec.structs.replace(span, input_preview="", output_preview="", attributes=attrs)
    mask = policy.mask
    assert mask is not None
    if isinstance(attrs.get(BODY_ATTR), str):
        attrs[BODY_ATTR] = mask_text(attrs[BODY_ATTR], mask)
    return msgspec.structs.replace(
        span,
        input_preview=mask_text(span.input_preview, mask),
        output_preview=mask_text(span.output_preview, mask),
        attributes=attrs,
    )


def request_to_spans(request: Any, policy: ContentPolicy = DEFAULT_POLICY) -> MappingResult:
    """An ``ExportLogsServiceRequest`` -> :class:`MappingResult` (one span per record)."""
    result = MappingResult()
    for rl in request.resource_logs:
        resource = attributes_to_dict(rl.resource.attributes)
        for sl in rl.scope_logs:
            for lr in sl.log_records:
                span = map_record(record_dict(lr, resource))
                if len(span.trace_id) != 16 or len(span.span_id) != 8:
                    result.rejected["invalid_id"] = result.rejected.get("invalid_id", 0) + 1
                    continue
                result.spans.append(_apply_policy(span, policy))
    return result
