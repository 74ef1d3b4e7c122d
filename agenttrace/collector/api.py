"""The query API, ``/api/v1/*``, mounted in the collector's Litestar app.

The collector builds its app with::

    from agenttrace.collector.api import build_api_router, build_openapi_config
    app = Litestar(route_handlers=[..., build_api_router(engine, api_key=cfg.api.api_key or None)],
                   openapi_config=build_openapi_config())

Every route is one short handler of :class:`QueryAPI` that turns query parameters into
one call of the :class:`~agenttrace.query.QueryEngine` (injected as ``engine``) and
returns its Struct unchanged, so ``agenttrace costs --json`` and
``GET /api/v1/metrics/costs`` return the same document. Engine calls read files and
decode columns, so handlers run in Litestar's thread pool and never block the event
loop that also serves ``/metrics`` and ``/api/v1/live``.

With ``api_key`` set, every route requires ``Authorization: Bearer <api_key>``, checked
by the collector's one guard (:mod:`agenttrace.collector.auth`: constant time over
SHA-256 digests, never logged or echoed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from litestar import Controller, Router, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream
from litestar.routes import HTTPRoute

import agenttrace
from agenttrace.coding.gitlinks import (
    CommitCostReport,
    CommitReport,
    SessionActivity,
    commit_costs,
    commit_report,
    session_activity,
)
from agenttrace.collector.apidocs import OfflineSwaggerPlugin
from agenttrace.collector.auth import api_key_guard
from agenttrace.errors import AmbiguousIdError, NotFoundError, StoreError, error_message
from agenttrace.export import iter_csv, iter_jsonl
from agenttrace.query import (
    CostReport,
    ErrorReport,
    PerformanceReport,
    QueryEngine,
    SessionDetail,
    SessionList,
    SpanFilter,
    SpanPage,
    Summary,
    TraceList,
    TraceTree,
    status_code,
)
from agenttrace.query.ids import resolve_trace_id, session_detail, trace_tree
from agenttrace.query.timeparse import BadTimeError, parse_time

__all__ = ["API_PREFIX", "SECURITY_SCHEME", "QueryAPI", "build_api_router", "build_openapi_config"]

API_PREFIX = "/api/v1"
SECURITY_SCHEME = "BearerAuth"

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")


class AmbiguousIdException(HTTPException):
    """409: an id prefix matched several ids; ``extra.candidates`` lists them."""

    status_code = 409


_ERRORS = [ValidationException, NotFoundException]
_ID_ERRORS = [*_ERRORS, AmbiguousIdException]

# --- query parameters shared by several routes --------------------------------

Since = Annotated[
    str | None,
    QueryParameter(description="Spans that started at or after this: 15m, 24h, 7d, today, yesterday, now, ISO time."),
]
Until = Annotated[str | None, QueryParameter(description="Spans that started before this (same forms as since).")]
Service = Annotated[str | None, QueryParameter(description="Only this service.")]
Kind = Annotated[str | None, QueryParameter(description="Only this span kind (llm, tool, agent, ...).")]
Model = Annotated[str | None, QueryParameter(description="Only this model.")]
StatusQ = Annotated[Literal["unset", "ok", "error"] | None, QueryParameter(description="Only this status.")]
SessionQ = Annotated[str | None, QueryParameter(name="session", description="Only this session id.")]
Name = Annotated[str | None, QueryParameter(description="Only span names containing this, any case.")]
CostBy = Annotated[Literal["model", "service", "kind", "day"], QueryParameter()]
LatencyBy = Annotated[Literal["kind", "model", "service"], QueryParameter()]
User = Annotated[str | None, QueryParameter(description="Only this user id.")]
TraceQ = Annotated[
    str | None, QueryParameter(description="Only this trace id (32 hex digits, or a unique prefix of 8+).")
]
Cursor = Annotated[str | None, QueryParameter(description="The next_cursor of the previous page.")]
Recent = Annotated[int, QueryParameter(ge=0, le=1000, description="How many latest failed spans.")]
ExportFormat = Annotated[Literal["jsonl", "csv"], QueryParameter()]
# The engine the router provides to every handler (build_api_router).
Engine = NamedDependency[QueryEngine]


def build_openapi_config() -> OpenAPIConfig:
    """OpenAPI settings for the collector's app: document and UI under ``/api/docs``
    (``/api/docs/openapi.json``), with the bearer scheme the API key uses. The UI's assets
    are the collector's own (:mod:`agenttrace.collector.apidocs`): no CDN, works offline."""
    return OpenAPIConfig(
        title="AgentTrace API",
        version=agenttrace.__version__,
        description="Sessions, traces, spans, costs and latency from the AgentTrace store.",
        path="/api/docs",
        render_plugins=[OfflineSwaggerPlugin(docs_path="/api/docs")],
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="http", scheme="bearer", description="The collector's [api] api_key."
                )
            }
        ),
    )


def _time(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse_time(value)
    except BadTimeError as exc:
        raise ValidationException(detail=f"{name}: {exc}") from None


def _range(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    return _time(since, "since"), _time(until, "until")


@contextmanager
def _answers() -> Iterator[None]:
    """The engine's errors as HTTP errors: unknown id → 404, bad input → 400, store failure → 503."""
    try:
        yield
    except NotFoundError as exc:
        raise NotFoundException(detail=error_message(exc)) from None
    except AmbiguousIdError as exc:  # before ValueError, which it also is
        raise AmbiguousIdException(detail=str(exc), extra={"candidates": exc.matches}) from None
    # The store itself failed (unreadable directory, disk error). Caught before ValueError,
    # which SegmentCorruptError also is: a damaged file is not the caller's bad input.
    except StoreError as exc:
        raise ServiceUnavailableException(detail=error_message(exc)) from None
    except ValueError as exc:
        raise ValidationException(detail=str(exc)) from None


def _where(service: str | None) -> SpanFilter | None:
    return SpanFilter(service=service) if service else None


def _trace_id(value: str | None) -> str | None:
    if value is None:
        return None
    if not _TRACE_ID.match(value):
        raise ValidationException(detail=f"{value!r} is not a trace id: a trace id is 32 hex digits")
    return value.lower()


def _span_filter(
    since: str | None,
    until: str | None,
    *,
    trace: str | None = None,
    status: str | None = None,
    **fields: Any,
) -> SpanFilter:
    """The SpanFilter of the /spans and /export query parameters (times parsed, ids checked)."""
    lo, hi = _range(since, until)
    return SpanFilter(
        since_ns=lo,
        until_ns=hi,
        trace_id=_trace_id(trace),
        status=status_code(status) if status is not None else None,
        **fields,
    )


class QueryAPI(Controller):
    """``/api/v1/*``: each handler asks the injected ``engine`` one question and returns its answer."""

    path = "/"

    @get("/sessions", sync_to_thread=True, raises=_ERRORS, summary="Sessions, most recently active first")
    def sessions(
        self,
        engine: Engine,
        since: Since = None,
        until: Until = None,
        service: Service = None,
        user: User = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 100,
    ) -> SessionList:
        lo, hi = _range(since, until)
        with _answers():
            return engine.sessions(lo, hi, service=service, user_id=user, limit=limit)

    @get(
        "/sessions/{session_id:str}",
        sync_to_thread=True,
        raises=_ID_ERRORS,
        summary="One session and its traces",
        description="The id, or a unique prefix of it (8+ characters); an ambiguous prefix answers 409.",
    )
    def session(self, engine: Engine, session_id: Annotated[str, PathParameter()]) -> SessionDetail:
        with _answers():
            return session_detail(engine, session_id)

    @get("/traces", sync_to_thread=True, raises=_ERRORS, summary="Traces, newest first")
    def traces(
        self,
        engine: Engine,
        since: Since = None,
        until: Until = None,
        service: Service = None,
        session: SessionQ = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
    ) -> TraceList:
        lo, hi = _range(since, until)
        with _answers():
            return engine.traces(SpanFilter(since_ns=lo, until_ns=hi, service=service, session_id=session, limit=limit))

    @get(
        "/traces/{trace_id:str}",
        sync_to_thread=True,
        raises=_ID_ERRORS,
        summary="One trace: span tree and totals",
        description="32 hex digits (any case, 0x or not) or a unique prefix of 8+; an ambiguous prefix answers 409.",
    )
    def trace(self, engine: Engine, trace_id: Annotated[str, PathParameter()]) -> TraceTree:
        with _answers():
            return trace_tree(engine, trace_id)

    @get("/spans", sync_to_thread=True, raises=_ID_ERRORS, summary="Spans by filter, newest first, paginated")
    def spans(
        self,
        engine: Engine,
        since: Since = None,
        until: Until = None,
        service: Service = None,
        kind: Kind = None,
        model: Model = None,
        status: StatusQ = None,
        session: SessionQ = None,
        name: Name = None,
        trace: TraceQ = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 100,
        cursor: Cursor = None,
    ) -> SpanPage:
        flt = _span_filter(
            since, until, status=status, service=service, kind=kind, model=model,
            session_id=session, name_contains=name, limit=limit, cursor=cursor,
        )  # fmt: skip
        with _answers():
            flt.trace_id = resolve_trace_id(engine, trace) if trace is not None else None
            return engine.spans(flt)

    @get("/metrics/summary", sync_to_thread=True, raises=_ERRORS, summary="Totals over a time range")
    def summary(self, engine: Engine, since: Since = None, until: Until = None, service: Service = None) -> Summary:
        lo, hi = _range(since, until)
        with _answers():
            return engine.summary(lo, hi, _where(service))

    @get("/metrics/costs", sync_to_thread=True, raises=_ERRORS, summary="Tokens and cost by model/service/kind/day")
    def costs(
        self,
        engine: Engine,
        by: CostBy = "model",
        since: Since = None,
        until: Until = None,
        service: Service = None,
    ) -> CostReport:
        lo, hi = _range(since, until)
        with _answers():
            return engine.costs(by, lo, hi, _where(service))

    @get("/metrics/performance", sync_to_thread=True, raises=_ERRORS, summary="p50/p95/p99 latency by group")
    def performance(
        self,
        engine: Engine,
        by: LatencyBy = "kind",
        since: Since = None,
        until: Until = None,
        service: Service = None,
    ) -> PerformanceReport:
        lo, hi = _range(since, until)
        with _answers():
            return engine.performance(by, lo, hi, _where(service))

    @get("/metrics/errors", sync_to_thread=True, raises=_ERRORS, summary="Error counts, rates, latest failures")
    def errors(
        self,
        engine: Engine,
        by: LatencyBy = "kind",
        since: Since = None,
        until: Until = None,
        service: Service = None,
        recent: Recent = 10,
    ) -> ErrorReport:
        lo, hi = _range(since, until)
        with _answers():
            return engine.errors(by, lo, hi, _where(service), recent=recent)

    @get(
        "/export",
        sync_to_thread=False,
        raises=_ERRORS,
        summary="Every matching span as JSON Lines or CSV, streamed",
        description="Content-Type application/x-ndjson (format=jsonl) or text/csv (format=csv).",
    )
    def export(
        self,
        engine: Engine,
        format: ExportFormat = "jsonl",
        since: Since = None,
        until: Until = None,
        service: Service = None,
        kind: Kind = None,
        model: Model = None,
        status: StatusQ = None,
        session: SessionQ = None,
        name: Name = None,
    ) -> Stream:
        flt = _span_filter(
            since, until, status=status, service=service, kind=kind, model=model, session_id=session,
            name_contains=name,
        )  # fmt: skip
        # iter_spans is a generator: the Stream pulls it in a worker thread as the client reads.
        spans = engine.iter_spans(flt)
        if format == "csv":
            headers = {"Content-Disposition": 'attachment; filename="spans.csv"'}
            return Stream(iter_csv(spans), media_type="text/csv", headers=headers)
        return Stream(iter_jsonl(spans), media_type="application/x-ndjson")

    @get(
        "/sessions/{session_id:str}/coding",
        sync_to_thread=True,
        raises=_ERRORS,
        summary="A coding session's files touched, commands run and commits",
    )
    def session_coding(self, engine: Engine, session_id: Annotated[str, PathParameter()]) -> SessionActivity:
        with _answers():
            return session_activity(engine, session_id)

    @get(
        "/costs/by-commit",
        sync_to_thread=True,
        raises=_ERRORS,
        summary="Tokens and cost of the model calls that led to each linked commit (as `costs --by commit`)",
    )
    def costs_by_commit(self, engine: Engine, since: Since = None, until: Until = None) -> CommitCostReport:
        lo, hi = _range(since, until)
        with _answers():
            return commit_costs(engine, lo, hi)

    @get(
        "/git-links/by-commit/{sha:str}",
        sync_to_thread=True,
        raises=_ERRORS,
        summary="The sessions, traces, tokens and cost that led to a commit",
    )
    def git_links_by_commit(self, engine: Engine, sha: Annotated[str, PathParameter()]) -> CommitReport:
        with _answers():
            return commit_report(engine, sha)


def build_api_router(query_engine: QueryEngine | None, *, api_key: str | None = None) -> Router:
    """Return the ``/api/v1`` router answering from ``query_engine``.

    With ``api_key`` set every route requires ``Authorization: Bearer <api_key>``; the
    collector passes it when it binds a non-loopback address.
    """

    def provide_engine() -> QueryEngine | None:
        return query_engine

    router = Router(
        path=API_PREFIX,
        route_handlers=[QueryAPI],
        dependencies={"engine": Provide(provide_engine, use_cache=True, sync_to_thread=False)},
        guards=[api_key_guard(api_key)] if api_key else None,
        security=[{SECURITY_SCHEME: []}] if api_key else None,
        tags=["query"],
    )
    if api_key:  # document the 401 the guard answers (these handlers are this router's own copies)
        for route in router.routes:
            for handler in route.route_handlers if isinstance(route, HTTPRoute) else ():
                handler.raises = [*(handler.raises or ()), NotAuthorizedException]
    return router
