"""The ``/api/v1`` routes the dashboard added: overview, session search, facets,
unpriced models and the live span stream.

They are public API like the rest of ``/api/v1`` (documented in the same OpenAPI
document, tag ``dashboard``) and answer from the same query engine; the dashboard
reads nothing else. Engine calls run in Litestar's thread pool.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, get
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.params import PathParameter, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from agenttrace.collector.auth import api_key_guard
from agenttrace.errors import NotFoundError, StoreError
from agenttrace.query import (
    STATUS_NAMES,
    CostRow,
    SessionSummary,
    SkippedSegment,
    SpanFilter,
    SpanRecord,
    Summary,
    TokenTotals,
    span_record,
)
from agenttrace.query.ids import resolve_trace_id
from agenttrace.query.timeparse import BadTimeError, parse_time
from agenttrace.web.columns import ReadAgain, column_chunks, trace_columns
from agenttrace.web.stream import SpanTail, StreamFilter

__all__ = [
    "COMMIT_ATTRIBUTE",
    "WINDOWS",
    "AttributeCostReport",
    "FacetList",
    "Overview",
    "SessionPage",
    "TraceOutline",
    "UnpricedModels",
    "build_dashboard_router",
]

# window name -> (seconds, bucket): ~15..720 points per chart
WINDOWS: dict[str, tuple[int, str]] = {
    "15m": (15 * 60, "minute"),
    "1h": (3600, "minute"),
    "6h": (6 * 3600, "minute"),
    "24h": (24 * 3600, "hour"),
    "7d": (7 * 86400, "hour"),
    "30d": (30 * 86400, "day"),
}
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_BUCKET_S = {"minute": 60, "hour": 3600, "day": 86400}
_SORTS = {
    "last_seen": lambda s: s.last_seen_ns,
    "first_seen": lambda s: s.first_seen_ns,
    "duration": lambda s: s.duration_ms,
    "spans": lambda s: s.spans,
    "traces": lambda s: s.traces,
    "errors": lambda s: s.errors,
    "cost": lambda s: s.cost_usd,
    "tokens": lambda s: s.tokens.total_tokens,
}
PRICING_HINT = (
    "Spans of these models carry tokens but matched no price. Price them in the collector's "
    'TOML, [pricing.overrides."MODEL"] input = USD per 1M input tokens, output = ..., or map '
    'the name to a known model with [pricing.aliases] "MODEL" = "gpt-4o"; then '
    "`systemctl reload agenttrace-collector` (SIGHUP). New spans are priced from then on."
)


# --- results -----------------------------------------------------------------------


class Series(msgspec.Struct, kw_only=True):
    """One value per bucket, aligned with ``t`` (the bucket's start, Unix seconds)."""

    t: list[int]
    spans: list[int]
    spans_per_s: list[float]
    errors: list[int]
    error_rate: list[float]
    cost_usd: list[float]
    p95_ms: list[float | None]


class Overview(msgspec.Struct, kw_only=True):
    """Everything the dashboard's overview charts over one window."""

    window: str
    bucket: str
    bucket_s: int
    since_ns: int
    until_ns: int
    series: Series
    totals: Summary
    cost_by_model: list[CostRow]
    cost_by_service: list[CostRow]
    skipped_segments: list[SkippedSegment] = []


class SessionPage(msgspec.Struct, kw_only=True):
    """One page of the sessions matching a search, in the order asked for."""

    sessions: list[SessionSummary]
    total: int  # sessions matching, over all pages
    offset: int
    limit: int
    sort: str
    order: str
    since_ns: int | None
    until_ns: int | None
    skipped_segments: list[SkippedSegment] = []


class OutlineColumns(msgspec.Struct, kw_only=True):
    """What waterfall rows and the agent graph need of each span (no content, attributes
    or events), as columns: position ``i`` of every list is the ``i``-th span by start
    time. Columns, not one object per span: a 10,000-span trace is half the bytes and a
    fraction of the work on both ends."""

    span_id: list[str]
    parent_id: list[str]  # "" for a root
    name: list[str]
    kind: list[str]
    status: list[str]
    status_message: list[str]
    start_ns: list[int]
    end_ns: list[int]
    service: list[str]
    model: list[str]
    total_tokens: list[int]
    cost_usd: list[float | None]


class TraceOutline(msgspec.Struct, kw_only=True):
    """A trace's tree for drawing it: the fields of ``TraceTree`` with light spans.
    The full record of one span is ``GET /api/v1/traces/{trace_id}/spans/{span_id}``."""

    trace_id: str
    spans: OutlineColumns  # by start time
    root_ids: list[str]
    children: dict[str, list[str]]
    orphan_ids: list[str]
    span_count: int
    errors: int
    tokens: TokenTotals
    cost_usd: float
    start_ns: int
    end_ns: int
    duration_ms: float
    services: list[str]
    session_id: str
    skipped_segments: list[SkippedSegment] = []


class FacetList(msgspec.Struct, kw_only=True):
    """Distinct services, kinds and models seen in a range (for filter menus)."""

    services: list[str]
    kinds: list[str]
    models: list[str]


class UnpricedModel(msgspec.Struct, kw_only=True):
    model: str
    provider: str
    spans: int
    input_tokens: int
    output_tokens: int


class UnpricedModels(msgspec.Struct, kw_only=True):
    """Models whose spans the collector could not price (``cost_source`` = unknown)."""

    models: list[UnpricedModel]
    how_to_price: str
    since_ns: int | None
    until_ns: int | None


# --- helpers -------------------------------------------------------------------------


def _time(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except BadTimeError as exc:
        raise ValidationException(detail=f"{name}: {exc}") from None


def _store_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except NotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    except StoreError as exc:
        raise ServiceUnavailableException(detail=str(exc)) from None
    except ValueError as exc:
        raise ValidationException(detail=str(exc)) from None


def overview(engine: Any, window: str, service: str | None, *, now_ns: int | None = None) -> Overview:
    """The overview of the last ``window`` (a key of :data:`WINDOWS`), buckets filled with zeros."""
    seconds, bucket = WINDOWS[window]
    step = _BUCKET_S[bucket]
    now = time.time_ns() if now_ns is None else now_ns
    # Whole buckets, the last one holding "now": charts never end in a half-empty bucket
    # that reads as a drop.
    end_s = (now // 1_000_000_000 // step + 1) * step
    start_s = end_s - (seconds // step) * step
    lo, hi = start_s * 1_000_000_000, end_s * 1_000_000_000
    where = SpanFilter(service=service) if service else None
    agg = _store_call(engine.aggregate, [bucket], since_ns=lo, until_ns=hi, where=where, latency=True)
    by_t = {row.group[bucket] // 1_000_000_000: row for row in agg.rows}
    ts = list(range(start_s, end_s, step))
    rows = [by_t.get(t) for t in ts]
    series = Series(
        t=ts,
        spans=[r.count if r else 0 for r in rows],
        spans_per_s=[r.count / step if r else 0.0 for r in rows],
        errors=[r.errors if r else 0 for r in rows],
        error_rate=[r.errors / r.count if r and r.count else 0.0 for r in rows],
        cost_usd=[r.cost_usd if r else 0.0 for r in rows],
        p95_ms=[r.p95_ms if r else None for r in rows],
    )
    totals = _store_call(engine.summary, lo, hi, where)
    by_model = _store_call(engine.costs, "model", lo, hi, where)
    by_service = _store_call(engine.costs, "service", lo, hi, where)
    return Overview(
        window=window,
        bucket=bucket,
        bucket_s=step,
        since_ns=lo,
        until_ns=hi,
        series=series,
        totals=totals,
        cost_by_model=by_model.rows,
        cost_by_service=by_service.rows,
        skipped_segments=agg.skipped_segments,
    )


def _sessions_with(
    engine: Any, since_ns: int | None, until_ns: int | None, environment: str | None, tag: str | None
) -> set[str]:
    """Ids of the sessions with a span in range carrying ``environment`` and ``tag``
    (the query engine's session summaries do not keep either)."""
    names = ["session_id", "start_ns", *(["environment"] if environment else []), *(["tags"] if tag else [])]
    found: set[str] = set()
    for c in column_chunks(engine, names, since_ns, until_ns):
        for i, sid in enumerate(c["session_id"]):
            if not sid or sid in found:
                continue
            st = c["start_ns"][i]
            if (since_ns is not None and st < since_ns) or (until_ns is not None and st >= until_ns):
                continue
            if environment and c["environment"][i] != environment:
                continue
            if tag and tag not in c["tags"][i]:
                continue
            found.add(sid)
    return found


def session_page(
    engine: Any,
    *,
    since_ns: int | None,
    until_ns: int | None,
    q: str | None = None,
    service: str | None = None,
    user: str | None = None,
    environment: str | None = None,
    tag: str | None = None,
    errors: bool = False,
    min_cost: float | None = None,
    sort: str = "last_seen",
    order: str = "desc",
    offset: int = 0,
    limit: int = 50,
) -> SessionPage:
    """Sessions filtered, sorted and cut into a page on the server."""
    found = _store_call(engine.sessions, since_ns, until_ns, service=service, user_id=user, limit=1 << 62)
    rows = found.sessions
    if q:
        needle = q.lower()
        rows = [
            s
            for s in rows
            if needle in s.session_id.lower()
            or needle in s.user_id.lower()
            or needle in s.service.lower()
            or any(needle in m.lower() for m in s.models)
        ]
    if environment or tag:
        keep = _sessions_with(engine, since_ns, until_ns, environment, tag)
        rows = [s for s in rows if s.session_id in keep]
    if errors:
        rows = [s for s in rows if s.errors]
    if min_cost is not None:
        rows = [s for s in rows if s.cost_usd >= min_cost]
    key = _SORTS[sort]
    rows = sorted(rows, key=lambda s: (key(s), s.session_id), reverse=order == "desc")
    return SessionPage(
        sessions=rows[offset : offset + limit],
        total=len(rows),
        offset=offset,
        limit=limit,
        sort=sort,
        order=order,
        since_ns=since_ns,
        until_ns=until_ns,
        skipped_segments=found.skipped_segments,
    )


def unpriced_models(engine: Any, since_ns: int | None, until_ns: int | None) -> UnpricedModels:
    """Models with token usage that the collector stored as unpriced, most spans first.

    Read from the spans' own ``cost_source`` (decided by the worker with the pricing
    configuration it had), not re-matched here against a catalogue this process may
    not share."""
    names = ["model", "provider", "cost_source", "input_tokens", "output_tokens", "start_ns"]
    acc: dict[tuple[str, str], list[int]] = {}
    for c in column_chunks(engine, names, since_ns, until_ns):
        for i, src in enumerate(c["cost_source"]):
            if src != "unknown":
                continue
            st = c["start_ns"][i]
            if (since_ns is not None and st < since_ns) or (until_ns is not None and st >= until_ns):
                continue
            row = acc.setdefault((c["model"][i] or "(none)", c["provider"][i]), [0, 0, 0])
            row[0] += 1
            row[1] += c["input_tokens"][i]
            row[2] += c["output_tokens"][i]
    models = [
        UnpricedModel(model=m, provider=p, spans=n, input_tokens=i, output_tokens=o)
        for (m, p), (n, i, o) in sorted(acc.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    return UnpricedModels(models=models, how_to_price=PRICING_HINT, since_ns=since_ns, until_ns=until_ns)


_TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


def _trace_id(engine: Any, value: str) -> str:
    """The full trace id ``value`` names: any printed form, or a unique prefix of 8+ digits
    (an ambiguous one is a 400 that lists the candidates)."""
    if _HEX32.match(value):
        return value.lower()
    return _store_call(resolve_trace_id, engine, value)


_OUTLINE_COLUMNS = [
    "span_id",
    "parent_id",
    "name",
    "kind",
    "status",
    "status_message",
    "start_ns",
    "end_ns",
    "service",
    "model",
    "session_id",
    "cost_usd",
    *_TOKEN_FIELDS,
]


def trace_outline(engine: Any, trace_id: str) -> TraceOutline:
    """The span tree of one trace with light spans: what opening a 10,000-span trace
    needs, without decoding or sending 10,000 full records."""
    for attempt in range(3):
        try:
            c, skipped = _store_call(trace_columns, engine, trace_id, _OUTLINE_COLUMNS)
            break
        except ReadAgain:
            if attempt == 2:
                raise ServiceUnavailableException(detail="the store is being compacted; try again") from None
    n = len(c["span_id"])
    if not n:
        raise NotFoundException(detail=f"no trace {trace_id}")
    order = sorted(range(n), key=lambda i: (c["start_ns"][i], c["span_id"][i]))
    ids = set(c["span_id"])
    sid_hex = [c["span_id"][i].hex() for i in order]
    parents = [c["parent_id"][i] for i in order]
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    orphans: list[str] = []
    for sid, parent in zip(sid_hex, parents, strict=True):
        if parent and parent in ids:
            children.setdefault(parent.hex(), []).append(sid)
        else:
            roots.append(sid)
            if parent:
                orphans.append(sid)
    sessions: Counter[str] = Counter(s for s in c["session_id"] if s)
    statuses = [c["status"][i] for i in order]
    errors = statuses.count(2)

    def col(name: str) -> list[Any]:
        values = c[name]
        return [values[i] for i in order]

    columns = OutlineColumns(
        span_id=sid_hex,
        parent_id=[p.hex() for p in parents],
        name=col("name"),
        kind=col("kind"),
        status=[STATUS_NAMES.get(v, str(v)) for v in statuses],
        status_message=col("status_message"),
        start_ns=col("start_ns"),
        end_ns=col("end_ns"),
        service=col("service"),
        model=col("model"),
        total_tokens=[c["input_tokens"][i] + c["output_tokens"][i] for i in order],
        cost_usd=col("cost_usd"),
    )
    tok = {f: sum(c[f]) for f in _TOKEN_FIELDS}
    start, end = min(c["start_ns"]), max(c["end_ns"])
    return TraceOutline(
        trace_id=trace_id,
        spans=columns,
        root_ids=roots,
        children=children,
        orphan_ids=orphans,
        span_count=n,
        errors=errors,
        tokens=TokenTotals(**tok, total_tokens=tok["input_tokens"] + tok["output_tokens"]),
        cost_usd=sum(v or 0.0 for v in c["cost_usd"]),
        start_ns=start,
        end_ns=end,
        duration_ms=(end - start) / 1e6,
        services=sorted({s for s in c["service"] if s}),
        session_id=sessions.most_common(1)[0][0] if sessions else "",
        skipped_segments=skipped,
    )


def trace_span(engine: Any, trace_id: str, span_id: str) -> SpanRecord:
    """The full record of one span of a trace."""
    want = span_id.lower()
    spans, _ = _store_call(engine.trace_spans, trace_id)
    for s in spans:
        if s.span_id.hex() == want:
            return span_record(s)
    raise NotFoundException(detail=f"no span {span_id} in trace {trace_id}")


COMMIT_ATTRIBUTE = "vcs.ref.head.revision"  # OpenTelemetry's VCS convention for a commit id


class AttributeCostReport(msgspec.Struct, kw_only=True):
    """Tokens and cost of whole traces grouped by the value one of their spans gives an
    attribute (a commit, a branch, a tenant); traces without it are left out."""

    attribute: str
    since_ns: int | None
    until_ns: int | None
    rows: list[CostRow]  # by cost, highest first
    total_cost_usd: float
    traces: int  # traces that carried the attribute
    skipped_segments: list[SkippedSegment] = []


def cost_by_attribute(
    engine: Any, attribute: str, since_ns: int | None, until_ns: int | None, service: str | None = None
) -> AttributeCostReport:
    """Group traces by ``attribute`` (set on any of their spans, usually the root) and add
    up the tokens and cost of all their spans in range."""
    names = ["trace_id", "start_ns", "attributes", "cost_usd", *_TOKEN_FIELDS, *(["service"] if service else [])]
    value_of: dict[bytes, str] = {}
    per_trace: dict[bytes, list[float]] = {}  # spans, cost, then the five token counts
    skipped: list[SkippedSegment] = []
    for c in column_chunks(engine, names, since_ns, until_ns, skipped):
        for i, tid in enumerate(c["trace_id"]):
            st = c["start_ns"][i]
            if (since_ns is not None and st < since_ns) or (until_ns is not None and st >= until_ns):
                continue
            if service and c["service"][i] != service:
                continue
            v = c["attributes"][i].get(attribute) if c["attributes"][i] else None
            if v is not None and v != "":
                value_of[tid] = str(v)
            acc = per_trace.get(tid)
            if acc is None:
                acc = per_trace[tid] = [0.0] * (2 + len(_TOKEN_FIELDS))
            acc[0] += 1
            acc[1] += c["cost_usd"][i] or 0.0
            for k, f in enumerate(_TOKEN_FIELDS):
                acc[2 + k] += c[f][i]
    groups: dict[str, list[float]] = {}
    for tid, value in value_of.items():
        acc = per_trace[tid]
        g = groups.setdefault(value, [0.0] * len(acc))
        for k, x in enumerate(acc):
            g[k] += x
    total = sum(g[1] for g in groups.values())
    rows = []
    for value, g in sorted(groups.items(), key=lambda kv: (-kv[1][1], kv[0])):
        tok = {f: int(g[2 + k]) for k, f in enumerate(_TOKEN_FIELDS)}
        rows.append(
            CostRow(
                key=value,
                spans=int(g[0]),
                tokens=TokenTotals(**tok, total_tokens=tok["input_tokens"] + tok["output_tokens"]),
                cost_usd=g[1],
                share=g[1] / total if total else 0.0,
            )
        )
    return AttributeCostReport(
        attribute=attribute,
        since_ns=since_ns,
        until_ns=until_ns,
        rows=rows,
        total_cost_usd=total,
        traces=len(value_of),
        skipped_segments=skipped,
    )


def _sse(event: str, payload: Any) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=event, data=msgspec.json.encode(payload).decode())


# --- the router ----------------------------------------------------------------------

Since = Annotated[str | None, QueryParameter(description="From: 15m, 24h, 7d, today, ISO time (start time).")]
Until = Annotated[str | None, QueryParameter(description="Before (same forms as since).")]
Service = Annotated[str | None, QueryParameter(description="Only this service.")]


def build_dashboard_router(
    query_engine: Any, *, api_key: str | None = None, poll_s: float = 0.5, keepalive_s: float = 15.0
) -> Router:
    """The dashboard's ``/api/v1`` routes over ``query_engine``; with ``api_key``, each
    needs ``Authorization: Bearer <api_key>`` (the stream included)."""
    engine = query_engine
    errs = [ValidationException, NotFoundException, *([NotAuthorizedException] if api_key else [])]

    @get("/overview", sync_to_thread=True, raises=errs, summary="Rates, cost, errors and p95 over a window")
    def overview_route(
        window: Annotated[Literal["15m", "1h", "6h", "24h", "7d", "30d"], QueryParameter()] = "1h",
        service: Service = None,
    ) -> Overview:
        return overview(engine, window, service)

    @get("/traces/{trace_id:str}/outline", sync_to_thread=True, raises=errs, summary="A trace's tree, light spans")
    def outline(trace_id: Annotated[str, PathParameter()]) -> TraceOutline:
        return trace_outline(engine, _trace_id(engine, trace_id))

    @get(
        "/traces/{trace_id:str}/spans/{span_id:str}",
        sync_to_thread=True,
        raises=errs,
        summary="One span of a trace, in full",
    )
    def one_span(trace_id: Annotated[str, PathParameter()], span_id: Annotated[str, PathParameter()]) -> SpanRecord:
        return trace_span(engine, _trace_id(engine, trace_id), span_id)

    @get("/session-search", sync_to_thread=True, raises=errs, summary="Sessions searched, sorted, paginated")
    def session_search(
        since: Since = None,
        until: Until = None,
        q: Annotated[
            str | None, QueryParameter(description="Text in the session id, user, service or a model name.")
        ] = None,
        service: Service = None,
        user: Annotated[str | None, QueryParameter(description="Only this user id.")] = None,
        environment: Annotated[
            str | None, QueryParameter(description="Only sessions with a span in this environment.")
        ] = None,
        tag: Annotated[str | None, QueryParameter(description="Only sessions with a span carrying this tag.")] = None,
        errors: Annotated[bool, QueryParameter(description="Only sessions with an error.")] = False,
        min_cost: Annotated[float | None, QueryParameter(ge=0, description="Only sessions costing this much.")] = None,
        sort: Annotated[
            Literal["last_seen", "first_seen", "duration", "spans", "traces", "errors", "cost", "tokens"],
            QueryParameter(),
        ] = "last_seen",
        order: Annotated[Literal["asc", "desc"], QueryParameter()] = "desc",
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> SessionPage:
        return session_page(
            engine,
            since_ns=_time(since, "since"),
            until_ns=_time(until, "until"),
            q=q,
            service=service,
            user=user,
            environment=environment,
            tag=tag,
            errors=errors,
            min_cost=min_cost,
            sort=sort,
            order=order,
            offset=offset,
            limit=limit,
        )

    @get("/facets", sync_to_thread=True, raises=errs, summary="Services, kinds and models seen in a range")
    def facets(since: Since = None, until: Until = None) -> FacetList:
        lo, hi = _time(since, "since"), _time(until, "until")
        out: dict[str, list[str]] = {}
        for dim in ("service", "kind", "model"):
            agg = _store_call(engine.aggregate, [dim], since_ns=lo, until_ns=hi, latency=False)
            out[dim] = sorted({str(r.group[dim]) for r in agg.rows if r.group[dim]})
        return FacetList(services=out["service"], kinds=out["kind"], models=out["model"])

    @get(
        "/costs/by-attribute",
        sync_to_thread=True,
        raises=errs,
        summary="Tokens and cost of traces grouped by an attribute (default: the commit)",
    )
    def costs_by_attribute(
        key: Annotated[
            str, QueryParameter(description="The span attribute to group traces by.", min_length=1, max_length=200)
        ] = COMMIT_ATTRIBUTE,
        since: Since = None,
        until: Until = None,
        service: Service = None,
    ) -> AttributeCostReport:
        return cost_by_attribute(engine, key, _time(since, "since"), _time(until, "until"), service)

    @get("/costs/unpriced", sync_to_thread=True, raises=errs, summary="Models with tokens but no price")
    def unpriced(since: Since = None, until: Until = None) -> UnpricedModels:
        return unpriced_models(engine, _time(since, "since"), _time(until, "until"))

    @get(
        "/stream",
        raises=errs,
        summary="New spans as server-sent events",
        description=(
            "text/event-stream. First an `event: hello` (the filters), then an `event: spans` whose data "
            "is a JSON array of SpanRecord (oldest first) each time workers seal new spans (about every "
            "second), and a `: keepalive` comment when idle. Only spans stored after the request. With an "
            "API key, send it as a Bearer header (read the stream with fetch(), not EventSource)."
        ),
    )
    async def stream(
        service: Service = None,
        kind: Annotated[str | None, QueryParameter(description="Only this span kind.")] = None,
        session: Annotated[str | None, QueryParameter(description="Only this session id.")] = None,
    ) -> ServerSentEvent:
        flt = StreamFilter(service=service, kind=kind, session=session)
        tail = await asyncio.to_thread(_store_call, SpanTail, engine, flt)

        async def events() -> AsyncIterator[ServerSentEventMessage | str]:
            yield _sse("hello", {"service": service, "kind": kind, "session": session, "poll_s": poll_s})
            idle = 0.0
            told_skipped = 0
            while True:
                await asyncio.sleep(poll_s)
                try:
                    batch = await asyncio.to_thread(tail.poll)
                except StoreError as exc:
                    yield _sse("error", {"detail": str(exc)})
                    continue
                if batch:
                    idle = 0.0
                    yield _sse("spans", batch)
                    if tail.skipped > told_skipped:  # spans left out by the per-poll cap, so far
                        told_skipped = tail.skipped
                        yield ServerSentEventMessage(event="skipped", data=json.dumps({"skipped": tail.skipped}))
                else:
                    idle += poll_s
                    if idle >= keepalive_s:
                        idle = 0.0
                        yield ServerSentEventMessage(comment="keepalive")

        return ServerSentEvent(events(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return Router(
        path="/api/v1",
        route_handlers=[
            overview_route,
            outline,
            one_span,
            session_search,
            facets,
            costs_by_attribute,
            unpriced,
            stream,
        ],
        guards=[api_key_guard(api_key)] if api_key else None,
        security=[{"BearerAuth": []}] if api_key else None,
        tags=["dashboard"],
    )
