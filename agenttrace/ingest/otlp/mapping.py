"""OTLP traces -> :class:`~agenttrace.model.Span`: pure functions, no I/O.

:func:`request_to_spans` turns an ``ExportTraceServiceRequest`` (the protobuf message of
``opentelemetry-proto``; the JSON encoding is parsed into the same message first) into
our spans, attribute by attribute as ``docs/otlp.md`` tabulates. The GenAI dialects in
use today are read side by side: OpenTelemetry's GenAI semantic conventions (current and
older names), OpenInference (Arize/Phoenix), Langfuse and OpenLLMetry (Traceloop).

Every source attribute is kept in ``Span.attributes`` (the resource's under
``resource.<key>``); the fields of our model are filled from them. Costs are left for
the collector's cost stage (``cost_usd`` stays ``None``); a cost the source sent is kept
as the attribute ``agenttrace.source_cost_usd``.

    >>> from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    >>> from google.protobuf.json_format import ParseDict
    >>> req = ParseDict({"resourceSpans": [{"scopeSpans": [{"spans": [{
    ...     "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
    ...     "name": "chat gpt-4o", "startTimeUnixNano": "1", "endTimeUnixNano": "2",
    ...     "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}]}]}]}]},
    ...     ExportTraceServiceRequest())
    >>> result = request_to_spans(req)
    >>> result.spans[0].kind, result.rejected
    ('llm', {})
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agenttrace.model import Event, Span, Usage

__all__ = [
    "DEFAULT_POLICY",
    "ContentPolicy",
    "MappingResult",
    "any_value",
    "attributes_to_dict",
    "map_span",
    "mask_text",
    "request_to_spans",
    "resource_spans_to_spans",
]

SOURCE_COST_ATTR = "agenttrace.source_cost_usd"
CONTENT_DROPPED_ATTR = "agenttrace.content_dropped"
PREVIEW_TRUNCATED_ATTR = "agenttrace.preview_truncated"


@dataclass(frozen=True)
class ContentPolicy:
    """What the SDK's ``capture_content``, ``mask`` and ``max_preview_chars`` do, on
    the collector's side (``[otlp]`` keys of the same names; ``mask_patterns`` are
    regular expressions whose matches become ``[masked]``)."""

    capture: bool = True
    max_preview_chars: int = 2000
    mask: Callable[[str], str] | None = None

    @classmethod
    def from_patterns(cls, *, capture: bool = True, max_preview_chars: int = 2000, patterns: Iterable[str] = ()):
        compiled = [re.compile(p) for p in patterns]
        if not compiled:
            return cls(capture=capture, max_preview_chars=max_preview_chars)

        def mask(text: str) -> str:
            for rx in compiled:
                text = rx.sub("[masked]", text)
            return text

        return cls(capture=capture, max_preview_chars=max_preview_chars, mask=mask)


DEFAULT_POLICY = ContentPolicy()


@dataclass
class MappingResult:
    spans: list[Span] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> spans

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


# --- AnyValue / KeyValue ----------------------------------------------------------------


def any_value(v: Any) -> Any:
    """An OTLP ``AnyValue`` as a plain Python value (bytes as hex, kvlists as dicts)."""
    which = v.WhichOneof("value")
    if which in _SCALARS:
        return getattr(v, which)
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return v.bytes_value.hex()
    return None


_SCALARS = frozenset(("string_value", "int_value", "double_value", "bool_value"))


def attributes_to_dict(kvs: Iterable[Any]) -> dict[str, Any]:
    """Repeated ``KeyValue`` -> dict (a repeated key keeps its last value, as OTLP says)."""
    return {kv.key: any_value(kv.value) for kv in kvs}


# --- the dialect tables (docs/otlp.md shows them) ----------------------------------------

GEN_AI_OPERATION_KINDS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
}
OPENINFERENCE_KINDS = {
    "LLM": "llm",
    "CHAIN": "chain",
    "TOOL": "tool",
    "AGENT": "agent",
    "RETRIEVER": "retrieval",
    "EMBEDDING": "embedding",
    "RERANKER": "rerank",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
    "PROMPT": "task",
}
LANGFUSE_KINDS = {
    "generation": "llm",
    "embedding": "embedding",
    "agent": "agent",
    "tool": "tool",
    "chain": "chain",
    "retriever": "retrieval",
    "evaluator": "evaluator",
    "guardrail": "guardrail",
    "event": "event",
}
TRACELOOP_KINDS = {"workflow": "chain", "task": "task", "agent": "agent", "tool": "tool"}
TRACELOOP_REQUEST_KINDS = {"chat": "llm", "completion": "llm", "embedding": "embedding", "rerank": "rerank"}
OTLP_SPAN_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}

MODEL_KEYS = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "langfuse.observation.model.name",
    "embedding.model_name",
)
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
REASONING_KEYS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
SESSION_KEYS = ("session.id", "langfuse.session.id", "gen_ai.conversation.id")
USER_KEYS = ("user.id", "langfuse.user.id", "enduser.id")
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment", "langfuse.environment")
INPUT_KEYS = ("gen_ai.input.messages", "input.value", "langfuse.observation.input", "gen_ai.prompt")
OUTPUT_KEYS = ("gen_ai.output.messages", "output.value", "langfuse.observation.output", "gen_ai.completion")
SOURCE_COST_KEYS = ("gen_ai.usage.cost", "llm.cost.total")
# Attributes that hold prompt or completion text: dropped when content capture is off,
# masked otherwise (exact keys, and prefixes of flattened lists).
CONTENT_KEYS = frozenset(
    (
        *INPUT_KEYS,
        *OUTPUT_KEYS,
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "langfuse.trace.input",
        "langfuse.trace.output",
    )
)
CONTENT_PREFIXES = ("gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages.")


def _first(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        v = attrs.get(k)
        if v is not None and v != "":
            return v
    return None


def _int(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> int:
    v = _first(attrs, keys)
    if v is None or isinstance(v, bool):
        return 0
    try:
        return max(0, int(v))
    except (TypeError, ValueError):
        return 0


def _kind(attrs: Mapping[str, Any], otlp_kind: int) -> str:
    op = attrs.get("gen_ai.operation.name")
    if op in GEN_AI_OPERATION_KINDS:
        return GEN_AI_OPERATION_KINDS[op]
    oi = attrs.get("openinference.span.kind")
    if isinstance(oi, str) and oi.upper() in OPENINFERENCE_KINDS:
        return OPENINFERENCE_KINDS[oi.upper()]
    lf = attrs.get("langfuse.observation.type")
    if isinstance(lf, str) and lf.lower() in LANGFUSE_KINDS:
        return LANGFUSE_KINDS[lf.lower()]
    tl = attrs.get("traceloop.span.kind")
    if tl in TRACELOOP_KINDS:
        return TRACELOOP_KINDS[tl]
    rt = attrs.get("llm.request.type")
    if rt in TRACELOOP_REQUEST_KINDS:
        return TRACELOOP_REQUEST_KINDS[rt]
    # No GenAI dialect: what OpenTelemetry's general conventions say about the span.
    if "db.system" in attrs or "db.system.name" in attrs:
        return "database"
    if "http.request.method" in attrs or "http.method" in attrs:
        return "http"
    if otlp_kind in (2, 3) and "rpc.system" in attrs:
        return "http"
    return "custom"


def _json_obj(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _langfuse_usage(details: Any) -> Usage | None:
    """Langfuse's ``usage_details``: its parts add up (``input`` excludes the cached
    ``input_cached_tokens``, ``output`` excludes ``output_reasoning_tokens``), so our
    totals are the sums and the parts are picked out by name."""
    details = _json_obj(details)
    if not isinstance(details, dict):
        return None
    inp = out = cache_read = cache_write = reasoning = 0
    for key, raw in details.items():
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            continue
        n = int(raw)
        k = key.lower()
        if k == "total" or k.endswith("total_tokens"):
            continue
        if "cache" in k and ("creation" in k or "write" in k):
            cache_write += n
            inp += n
        elif "cache" in k and ("read" in k or "cached" in k):
            cache_read += n
            inp += n
        elif "reasoning" in k:
            reasoning += n
            out += n
        elif k.startswith(("input", "prompt")):
            inp += n
        elif k.startswith(("output", "completion")):
            out += n
    if not (inp or out):
        return None
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


def _usage(attrs: Mapping[str, Any]) -> Usage | None:
    inp = _int(attrs, INPUT_TOKEN_KEYS)
    out = _int(attrs, OUTPUT_TOKEN_KEYS)
    cache_read = _int(attrs, CACHE_READ_KEYS)
    cache_write = _int(attrs, CACHE_WRITE_KEYS)
    reasoning = _int(attrs, REASONING_KEYS)
    if not (inp or out or cache_read or cache_write):
        return _langfuse_usage(attrs.get("langfuse.observation.usage_details"))
    # The GenAI conventions and OpenInference count cached tokens inside the input and
    # reasoning inside the output, as we do. A sender that did not (its input smaller
    # than its own cached part) is converted rather than trusted.
    if inp < cache_read + cache_write:
        inp += cache_read + cache_write
    if out < reasoning:
        out += reasoning
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


def _source_cost(attrs: Mapping[str, Any]) -> float | None:
    v = _first(attrs, SOURCE_COST_KEYS)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    details = _json_obj(attrs.get("langfuse.observation.cost_details"))
    if isinstance(details, dict):
        nums = {k: float(x) for k, x in details.items() if isinstance(x, (int, float)) and not isinstance(x, bool)}
        if "total" in nums:
            return nums["total"]
        if nums:
            return sum(nums.values())
    return None


def _tags(attrs: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("langfuse.trace.tags", "tag.tags"):
        v = attrs.get(key)
        if isinstance(v, str):
            parsed = _json_obj(v)
            v = parsed if isinstance(parsed, list) else [v]
        if isinstance(v, list):
            out.extend(str(t) for t in v if t not in out)
    return out


def _flattened_messages(attrs: Mapping[str, Any], prefix: str) -> list[dict[str, Any]] | None:
    """``gen_ai.prompt.0.role``/``.content`` (older GenAI, OpenLLMetry) and
    ``llm.input_messages.0.message.role`` (OpenInference) back into a message list."""
    msgs: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if not index.isdigit() or not rest:
            continue
        rest = rest.removeprefix("message.")
        msgs.setdefault(int(index), {})[rest] = value
    return [msgs[i] for i in sorted(msgs)] or None


def _content(attrs: Mapping[str, Any], keys: tuple[str, ...], prefixes: tuple[str, ...]) -> Any:
    v = _first(attrs, keys)
    if v is not None:
        return v
    for prefix in prefixes:
        msgs = _flattened_messages(attrs, prefix)
        if msgs:
            return msgs
    return None


def _preview(value: Any, policy: ContentPolicy, attrs: dict[str, Any]) -> str:
    if value is None or not policy.capture:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if policy.mask is not None:
        text = mask_text(text, policy.mask)
    limit = policy.max_preview_chars
    if len(text) > limit:
        text = text[: limit - 1] + "…" if limit > 0 else ""
        attrs[PREVIEW_TRUNCATED_ATTR] = True
    return text


def mask_text(text: str, mask: Callable[[str], str]) -> str:
    try:
        out = mask(text)
        return out if isinstance(out, str) else str(out)
    except Exception:
        return "[mask failed]"  # never leak what the mask was meant to hide


def _is_content_key(key: str) -> bool:
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


def _apply_content_policy(attrs: dict[str, Any], policy: ContentPolicy) -> None:
    if policy.capture and policy.mask is None:
        return
    dropped = False
    for key in [k for k in attrs if _is_content_key(k)]:
        if not policy.capture:
            del attrs[key]
            dropped = True
        elif isinstance(attrs[key], str):
            attrs[key] = mask_text(attrs[key], policy.mask)  # type: ignore[arg-type]
    if dropped:
        attrs[CONTENT_DROPPED_ATTR] = True


# --- spans --------------------------------------------------------------------------------


class ResourceContext:
    """What every span of one ``ResourceSpans`` shares, worked out once: the resource's
    attributes (plain and as ``resource.<key>``), service, environment, and the identity
    keys a span may inherit from it."""

    __slots__ = ("attrs", "environment", "identity", "prefixed", "service")

    def __init__(self, resource: Mapping[str, Any]) -> None:
        self.attrs = dict(resource)
        self.prefixed = {f"resource.{k}": v for k, v in resource.items()}
        self.service = str(resource.get("service.name") or "")
        self.environment = str(_first(resource, ENVIRONMENT_KEYS) or "")
        self.identity = {k: resource[k] for k in _INHERITED_KEYS if k in resource}


# Keys a span may take from its resource when its own attributes lack them.
_INHERITED_KEYS = (*SESSION_KEYS, *USER_KEYS, *ENVIRONMENT_KEYS, *MODEL_KEYS, *PROVIDER_KEYS, "langfuse.trace.tags")
# Any of these on a span means a GenAI dialect speaks; without them the lookups are skipped.
_DIALECT_PREFIXES = ("gen_ai.", "llm.", "langfuse.", "openinference.", "traceloop.", "input.", "output.", "embedding.")


def map_span(
    pb: Any,
    resource: Mapping[str, Any] | ResourceContext,
    *,
    scope_name: str = "",
    scope_version: str = "",
    policy: ContentPolicy = DEFAULT_POLICY,
) -> Span | str:
    """One OTLP ``Span`` message -> our Span, or the reason it is rejected (a str)."""
    ctx = resource if isinstance(resource, ResourceContext) else ResourceContext(resource)
    trace_id = pb.trace_id
    span_id = pb.span_id
    if len(trace_id) != 16 or trace_id == b"\0" * 16 or len(span_id) != 8 or span_id == b"\0" * 8:
        return "invalid_id"
    parent = pb.parent_span_id
    if len(parent) not in (0, 8):
        return "invalid_id"
    attrs = attributes_to_dict(pb.attributes)
    # What the span's own attributes do not say, its resource may (session.id, user.id, ...).
    lookup: Mapping[str, Any] = {**ctx.identity, **attrs} if ctx.identity else attrs
    start = pb.start_time_unix_nano
    end = max(pb.end_time_unix_nano, start)
    pb_status = pb.status
    status = pb_status.code
    if status not in (0, 1, 2):
        status = 0
    message = pb_status.message
    otlp_kind = pb.kind
    events = []
    if pb.events:
        for ev in pb.events:
            ev_attrs = attributes_to_dict(ev.attributes)
            if ev.name == "exception" and status == 2 and not message:
                etype, emsg = ev_attrs.get("exception.type", ""), ev_attrs.get("exception.message", "")
                message = f"{etype}: {emsg}" if etype and emsg else str(etype or emsg)
            events.append(Event(name=ev.name, time_ns=ev.time_unix_nano, attributes=ev_attrs))

    model = provider = usage = source_cost = input_value = output_value = None
    if any(k.startswith(_DIALECT_PREFIXES) for k in lookup):
        model = _first(lookup, MODEL_KEYS)
        provider = _first(lookup, PROVIDER_KEYS)
        usage = _usage(attrs)
        input_value = _content(attrs, INPUT_KEYS, ("gen_ai.prompt.", "llm.input_messages."))
        output_value = _content(attrs, OUTPUT_KEYS, ("gen_ai.completion.", "llm.output_messages."))
        if input_value is None and not parent:
            input_value = attrs.get("langfuse.trace.input")
        if output_value is None and not parent:
            output_value = attrs.get("langfuse.trace.output")
        source_cost = _source_cost(attrs)
    kind = _kind(attrs, otlp_kind)
    if kind == "custom" and model and usage is not None:
        kind = "llm"
    _apply_content_policy(attrs, policy)
    input_preview = _preview(input_value, policy, attrs)
    output_preview = _preview(output_value, policy, attrs)
    if otlp_kind:
        attrs["otel.span_kind"] = OTLP_SPAN_KINDS.get(otlp_kind, str(otlp_kind))
    if scope_name:
        attrs["otel.scope.name"] = scope_name
    if scope_version:
        attrs["otel.scope.version"] = scope_version
    if pb.links:
        attrs["otel.links"] = [
            {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(), **attributes_to_dict(link.attributes)}
            for link in pb.links
        ]
    trace_state = pb.trace_state
    if trace_state:
        attrs["otel.trace_state"] = trace_state
    if source_cost is not None:
        attrs[SOURCE_COST_ATTR] = source_cost
    attrs.update(ctx.prefixed)
    environment = _first(attrs, ENVIRONMENT_KEYS) or ctx.environment
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        name=pb.name,
        start_ns=start,
        end_ns=end,
        parent_id=parent,
        kind=kind,
        status=status,
        status_message=mask_text(message, policy.mask) if message and policy.mask else message,
        session_id=str(_first(lookup, SESSION_KEYS) or ""),
        service=ctx.service,
        user_id=str(_first(lookup, USER_KEYS) or ""),
        environment=str(environment or ""),
        tags=_tags(lookup) if "langfuse.trace.tags" in lookup or "tag.tags" in lookup else [],
        model=str(model or ""),
        provider=str(provider or "").lower(),
        usage=usage,
        input_preview=input_preview,
        output_preview=output_preview,
        attributes=attrs,
        events=events,
    )


def resource_spans_to_spans(rs: Any, policy: ContentPolicy = DEFAULT_POLICY, result: MappingResult | None = None):
    """One ``ResourceSpans`` -> spans appended to ``result`` (a new one when None)."""
    result = result if result is not None else MappingResult()
    ctx = ResourceContext(attributes_to_dict(rs.resource.attributes))
    out = result.spans
    rejected = result.rejected
    for ss in rs.scope_spans:
        scope = ss.scope
        scope_name, scope_version = scope.name, scope.version
        for pb in ss.spans:
            mapped = map_span(pb, ctx, scope_name=scope_name, scope_version=scope_version, policy=policy)
            if mapped.__class__ is str:
                rejected[mapped] = rejected.get(mapped, 0) + 1  # type: ignore[index]
            else:
                out.append(mapped)  # type: ignore[arg-type]
    return result


def request_to_spans(request: Any, policy: ContentPolicy = DEFAULT_POLICY) -> MappingResult:
    """An ``ExportTraceServiceRequest`` -> :class:`MappingResult` (spans, rejected by reason)."""
    result = MappingResult()
    for rs in request.resource_spans:
        resource_spans_to_spans(rs, policy, result)
    return result
