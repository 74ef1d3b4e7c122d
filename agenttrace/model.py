"""The span model shared by the SDK, the wire format, the collector and the store.

Every Struct here is ``array_like``: on the wire a span is a msgpack array whose
positions are the field order below. **Fields are only ever appended, each with a
default**, so an old collector reads a newer SDK's spans (it ignores the trailing
fields it does not know) and a new collector reads an old SDK's spans (the
missing trailing fields take their defaults). ``omit_defaults`` drops trailing
fields that still hold their default, which keeps small spans small.

Token convention (DESIGN.md): ``input_tokens`` counts every input token, cached or
not; ``cache_read_tokens`` and ``cache_write_tokens`` are parts of it;
``reasoning_tokens`` is a part of ``output_tokens``.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec

__all__ = [
    "SPAN_KINDS",
    "CostSource",
    "Event",
    "Span",
    "SpanKind",
    "Status",
    "Usage",
]


class SpanKind(enum.StrEnum):
    """What a span stands for. On the wire the value is a plain string, so a
    collector that predates a new kind stores it as-is instead of rejecting it."""

    AGENT = "agent"
    TASK = "task"
    CHAIN = "chain"
    LLM = "llm"
    EMBEDDING = "embedding"
    RERANK = "rerank"
    RETRIEVAL = "retrieval"
    TOOL = "tool"
    REASONING = "reasoning"
    MEMORY = "memory"
    FILE = "file"
    TERMINAL = "terminal"
    HTTP = "http"
    DATABASE = "database"
    CACHE = "cache"
    GUARDRAIL = "guardrail"
    HANDOFF = "handoff"
    VERIFICATION = "verification"
    EVALUATOR = "evaluator"
    EVENT = "event"
    CUSTOM = "custom"


SPAN_KINDS: tuple[str, ...] = tuple(k.value for k in SpanKind)


class Status(enum.IntEnum):
    """Span status, numbered as OpenTelemetry numbers it."""

    UNSET = 0
    OK = 1
    ERROR = 2


class CostSource(enum.StrEnum):
    """Where a span's ``cost_usd`` came from."""

    NONE = ""  # no usage, nothing to price
    SDK = "sdk"  # the agent supplied it
    CATALOGUE = "catalogue"  # priced by the collector from the model catalogue
    OVERRIDE = "override"  # priced from a user's price override
    UNKNOWN = "unknown"  # usage present but the model matched nothing


class Usage(msgspec.Struct, array_like=True, omit_defaults=True):
    """Token counts of one model call (see the module docstring for the convention)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    # The part of cache_write_tokens written with a 1-hour TTL (Anthropic prices it apart).
    cache_write_1h_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Event(msgspec.Struct, array_like=True, omit_defaults=True):
    """A point in time inside a span (an exception, a retry, a log line)."""

    name: str
    time_ns: int
    attributes: dict[str, Any] = {}


TraceId = Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]
SpanId = Annotated[bytes, msgspec.Meta(min_length=8, max_length=8)]
ParentId = Annotated[bytes, msgspec.Meta(max_length=8)]  # empty for a root span


class Span(msgspec.Struct, array_like=True, omit_defaults=True):
    """One finished unit of agent work.

    ``trace_id`` is 16 bytes, ``span_id`` and ``parent_id`` 8 (W3C sizes);
    ``parent_id`` is empty for a root span. Times are Unix nanoseconds.
    """

    trace_id: TraceId
    span_id: SpanId
    name: str
    start_ns: int
    end_ns: int
    parent_id: ParentId = b""
    kind: str = "custom"
    status: int = 0
    status_message: str = ""
    session_id: str = ""
    service: str = ""
    user_id: str = ""
    environment: str = ""
    tags: list[str] = []
    model: str = ""
    provider: str = ""
    usage: Usage | None = None
    cost_usd: float | None = None
    input_preview: str = ""
    output_preview: str = ""
    attributes: dict[str, Any] = {}
    events: list[Event] = []
    # --- appended after the first layout; keep appending below this line ---
    service_tier: str = ""  # "batch", "priority", "flex" when the call used one
    cost_source: str = ""  # a CostSource value, set by the collector's enrichment

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    @property
    def is_error(self) -> bool:
        return self.status == Status.ERROR
