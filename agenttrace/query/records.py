"""How a span looks to everything outside the store: :class:`SpanRecord`.

The CLI's ``--json``, the HTTP API, the TUI and every export format use this one shape,
so a field name means the same thing everywhere. Ids are lowercase hex (W3C
``traceparent`` style), the status is a word, token counts are flat columns and times
are both Unix nanoseconds and an ISO-8601 UTC string.

    >>> from agenttrace.model import Span
    >>> rec = span_record(Span(trace_id=b"\\x01" * 16, span_id=b"\\x02" * 8, name="step",
    ...                        start_ns=1_000_000_000, end_ns=1_500_000_000, status=2))
    >>> (rec.trace_id[:8], rec.status, rec.duration_ms, rec.start_time)
    ('01010101', 'error', 500.0, '1970-01-01T00:00:01.000000Z')
"""

from __future__ import annotations

from typing import Any

import msgspec

from agenttrace.format import iso_utc
from agenttrace.model import Span

__all__ = ["STATUS_NAMES", "SpanRecord", "span_record", "status_code"]

STATUS_NAMES = {0: "unset", 1: "ok", 2: "error"}
_STATUS_CODES = {v: k for k, v in STATUS_NAMES.items()}


class SpanRecord(msgspec.Struct, kw_only=True):
    """One span with stable, self-describing field names (see the module docstring)."""

    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    kind: str
    status: str  # "unset", "ok" or "error"
    status_message: str = ""
    start_ns: int
    end_ns: int
    start_time: str  # ISO-8601 UTC
    duration_ms: float
    session_id: str = ""
    service: str = ""
    user_id: str = ""
    environment: str = ""
    tags: list[str] = []
    model: str = ""
    provider: str = ""
    service_tier: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None
    cost_source: str = ""
    input_preview: str = ""
    output_preview: str = ""
    attributes: dict[str, Any] = {}
    events: list[dict[str, Any]] = []


def status_code(name: str) -> int:
    """``"ok"`` → 1 and so on; raises ``ValueError`` naming the accepted words."""
    try:
        return _STATUS_CODES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown status {name!r}: use one of unset, ok, error") from None


def span_record(span: Span) -> SpanRecord:
    """The stable record of ``span``."""
    u = span.usage
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_id.hex(),
        name=span.name,
        kind=span.kind,
        status=STATUS_NAMES.get(span.status, str(span.status)),
        status_message=span.status_message,
        start_ns=span.start_ns,
        end_ns=span.end_ns,
        start_time=iso_utc(span.start_ns),
        duration_ms=(span.end_ns - span.start_ns) / 1e6,
        session_id=span.session_id,
        service=span.service,
        user_id=span.user_id,
        environment=span.environment,
        tags=list(span.tags),
        model=span.model,
        provider=span.provider,
        service_tier=span.service_tier,
        input_tokens=u.input_tokens if u else 0,
        output_tokens=u.output_tokens if u else 0,
        cache_read_tokens=u.cache_read_tokens if u else 0,
        cache_write_tokens=u.cache_write_tokens if u else 0,
        reasoning_tokens=u.reasoning_tokens if u else 0,
        total_tokens=(u.input_tokens + u.output_tokens) if u else 0,
        cost_usd=span.cost_usd,
        cost_source=span.cost_source,
        input_preview=span.input_preview,
        output_preview=span.output_preview,
        attributes=dict(span.attributes),
        events=[{"name": e.name, "time_ns": e.time_ns, "attributes": dict(e.attributes)} for e in span.events],
    )
