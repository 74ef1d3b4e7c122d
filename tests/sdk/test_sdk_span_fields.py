"""The SDK's one positional Span(...) (the emitter's hot path for a plain span) is pinned
to Span's field order: adding or moving a field of Span fails here, not in users' data."""

from __future__ import annotations

import agenttrace as at
from agenttrace.model import Span, Usage
from agenttrace.sdk.emitter import FAST_SPAN_FIELDS


def test_the_positional_constructor_follows_span_field_order() -> None:
    assert Span.__struct_fields__[: len(FAST_SPAN_FIELDS)] == FAST_SPAN_FIELDS


def test_a_plain_span_arrives_with_every_field_where_it_belongs(rec) -> None:
    rec.configure(session_id="sess-1", user_id="user-9", environment="staging", tags=["a", "b"])
    with at.span("outer", kind="agent"), at.span("inner", kind="tool", attempt=2):
        pass
    got = rec.by_name()
    inner, outer = got["inner"], got["outer"]
    assert (inner.name, inner.kind, inner.parent_id, inner.trace_id) == ("inner", "tool", outer.span_id, outer.trace_id)
    assert (inner.session_id, inner.user_id, inner.environment) == ("sess-1", "user-9", "staging")
    assert inner.tags == ["a", "b"]
    assert (inner.service, inner.attributes, inner.status) == ("tests", {"attempt": 2}, 0)
    assert (inner.model, inner.provider, inner.usage, inner.cost_usd, inner.events) == ("", "", None, None, [])
    assert 0 < inner.start_ns <= inner.end_ns
    assert len(inner.trace_id) == 16 and len(inner.span_id) == 8


def test_a_span_with_more_is_built_with_keywords_and_keeps_every_field(rec) -> None:
    with at.llm("chat", model="gpt-4o", provider="openai") as g:
        g.set_usage(input_tokens=10, output_tokens=3)
        g.add_event("retry", attempt=1)
    (span,) = rec.spans()
    assert (span.name, span.kind, span.model, span.provider) == ("chat", "llm", "gpt-4o", "openai")
    assert span.usage == Usage(input_tokens=10, output_tokens=3)
    assert [(e.name, e.attributes) for e in span.events] == [("retry", {"attempt": 1})]
