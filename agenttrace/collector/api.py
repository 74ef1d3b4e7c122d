"""The query API, ``/api/v1/*``, mounted in the collector's Litestar app.

The collector builds its app with::

    from agenttrace.collector.api import build_api_router, build_openapi_config
    app = Litestar(route_handlers=[..., build_api_router(engine, api_key=cfg.api.api_key or None)],
                   openapi_config=build_openapi_config())

Every route answers from the one :class:`~agenttrace.store.query.QueryEngine`, through
the same report functions as the CLI (:mod:`agenttrace.commands.reports`), so
``agenttrace costs --json`` and ``GET /api/v1/metrics/costs`` return the same document.
Engine calls read files and decode columns, so handlers run in Litestar's thread pool
and never block the event loop that also serves ``/metrics`` and ``/api/v1/live``.

With ``api_key`` set, every route requires ``Authorization: Bearer <api_key>``. The
key is compared in constant time (``hmac.compare_digest`` over SHA-256 digests, so not
even its length leaks) and is never logged or echoed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, TypeVar

from litestar import Router, get
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream

import agenttrace
from agenttrace.collector.apidocs import OfflineSwaggerPlugin
from agenttrace.commands import reports
from agenttrace.commands._common import error_message
from agenttrace.commands.timeparse import BadTimeError, parse_time
from agenttrace.errors import NotFoundError, StoreError
from agenttrace.export import iter_csv, iter_jsonl, status_code
from agenttrace.store.results import SessionDetail, SessionList, SpanFilter, SpanPage, TraceTree

__all__ = ["API_PREFIX", "SECURITY_SCHEME", "build_api_router", "build_openapi_config"]

API_PREFIX = "/api/v1"
SECURITY_SCHEME = "BearerAuth"

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_ERRORS = [ValidationException, NotFoundException]

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

R = TypeVar("R")


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


def _bearer_guard(api_key: str) -> Any:
    expected = hashlib.sha256(api_key.encode()).digest()

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
        given = hashlib.sha256(token.strip().encode("utf-8", "surrogateescape")).digest()
        # Both sides always compared, even for a wrong scheme: no timing difference to learn from.
        ok = hmac.compare_digest(given, expected)
        if not (ok and scheme.lower() == "bearer"):
            raise NotAuthorizedException(
                detail="this API needs a key: send 'Authorization: Bearer <api_key>'",
                headers={"WWW-Authenticate": 'Bearer realm="agenttrace"'},
            )

    return guard


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


def build_api_router(query_engine: Any, *, api_key: str | None = None) -> Router:
    """Return the ``/api/v1`` router answering from ``query_engine``.

    With ``api_key`` set every route requires ``Authorization: Bearer <api_key>``; the
    collector passes it when it binds a non-loopback address.
    """
    engine = query_engine
    errs = [*_ERRORS, NotAuthorizedException] if api_key else _ERRORS

    @get("/sessions", sync_to_thread=True, raises=errs, summary="Sessions, most recently active first")
    def sessions(
        since: Since = None,
        until: Until = None,
        service: Service = None,
        user: Annotated[str | None, QueryParameter(description="Only this user id.")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 100,
    ) -> SessionList:
        lo, hi = _range(since, until)
        with _answers():
            return engine.sessions(lo, hi, service=service, user_id=user, limit=limit)

    @get("/sessions/{session_id:str}", sync_to_thread=True, raises=errs, summary="One session and its traces")
    def session(session_id: Annotated[str, PathParameter()]) -> SessionDetail:
        with _answers():
            return engine.session(session_id)

    @get("/traces", sync_to_thread=True, raises=errs, summary="Traces, newest first")
    def traces(
        since: Since = None,
        until: Until = None,
        service: Service = None,
        session: SessionQ = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
    ) -> reports.TraceList:
        lo, hi = _range(since, until)
        with _answers():
            flt = SpanFilter(since_ns=lo, until_ns=hi, service=service, session_id=session, limit=limit)
            return reports.list_traces(engine, flt)

    @get("/traces/{trace_id:str}", sync_to_thread=True, raises=errs, summary="One trace: span tree and totals")
    def trace(trace_id: Annotated[str, PathParameter()]) -> TraceTree:
        tid = _trace_id(trace_id)
        with _answers():
            return engine.trace(tid)

    def _filter(
        since: str | None,
        until: str | None,
        service: str | None,
        kind: str | None,
        model: str | None,
        status: str | None,
        session: str | None,
        name: str | None,
        trace: str | None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> SpanFilter:
        lo, hi = _range(since, until)
        return SpanFilter(
            since_ns=lo,
            until_ns=hi,
            service=service,
            kind=kind,
            model=model,
            status=status_code(status) if status is not None else None,
            session_id=session,
            name_contains=name,
            trace_id=_trace_id(trace),
            limit=limit,
            cursor=cursor,
        )

    @get("/spans", sync_to_thread=True, raises=errs, summary="Spans by filter, newest first, paginated")
    def spans(
        since: Since = None,
        until: Until = None,
        service: Service = None,
        kind: Kind = None,
        model: Model = None,
        status: StatusQ = None,
        session: SessionQ = None,
        name: Name = None,
        trace: Annotated[str | None, QueryParameter(description="Only this trace id (32 hex digits).")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 100,
        cursor: Annotated[str | None, QueryParameter(description="The next_cursor of the previous page.")] = None,
    ) -> SpanPage:
        flt = _filter(since, until, service, kind, model, status, session, name, trace, limit, cursor)
        with _answers():
            return engine.spans(flt)

    def _report(report: Callable[..., R], *by: str, since: str | None, until: str | None, service: str | None) -> R:
        """``report(engine, [by,] lo, hi, where)``: the metrics routes differ only in the report they ask for."""
        lo, hi = _range(since, until)
        with _answers():
            return report(engine, *by, lo, hi, _where(service))

    @get("/metrics/summary", sync_to_thread=True, raises=errs, summary="Totals over a time range")
    def summary(since: Since = None, until: Until = None, service: Service = None) -> reports.Summary:
        return _report(reports.summary_report, since=since, until=until, service=service)

    @get("/metrics/costs", sync_to_thread=True, raises=errs, summary="Tokens and cost by model/service/kind/day")
    def costs(
        by: CostBy = "model", since: Since = None, until: Until = None, service: Service = None
    ) -> reports.CostReport:
        return _report(reports.cost_report, by, since=since, until=until, service=service)

    @get("/metrics/performance", sync_to_thread=True, raises=errs, summary="p50/p95/p99 latency by group")
    def performance(
        by: LatencyBy = "kind", since: Since = None, until: Until = None, service: Service = None
    ) -> reports.PerformanceReport:
        return _report(reports.performance_report, by, since=since, until=until, service=service)

    @get("/metrics/errors", sync_to_thread=True, raises=errs, summary="Error counts, rates, latest failures")
    def errors(
        by: LatencyBy = "kind",
        since: Since = None,
        until: Until = None,
        service: Service = None,
        recent: Annotated[int, QueryParameter(ge=0, le=1000, description="How many latest failed spans.")] = 10,
    ) -> reports.ErrorReport:
        latest = functools.partial(reports.error_report, recent=recent)
        return _report(latest, by, since=since, until=until, service=service)

    @get(
        "/export",
        sync_to_thread=False,
        raises=errs,
        summary="Every matching span as JSON Lines or CSV, streamed",
        description="Content-Type application/x-ndjson (format=jsonl) or text/csv (format=csv).",
    )
    def export(
        format: Annotated[Literal["jsonl", "csv"], QueryParameter()] = "jsonl",
        since: Since = None,
        until: Until = None,
        service: Service = None,
        kind: Kind = None,
        model: Model = None,
        status: StatusQ = None,
        session: SessionQ = None,
        name: Name = None,
    ) -> Stream:
        flt = _filter(since, until, service, kind, model, status, session, name, None)
        # iter_spans is a generator: the Stream pulls it in a worker thread as the client reads.
        spans_iter = engine.iter_spans(flt)
        if format == "csv":
            return Stream(
                iter_csv(spans_iter),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="spans.csv"'},
            )
        return Stream(iter_jsonl(spans_iter), media_type="application/x-ndjson")

    return Router(
        path=API_PREFIX,
        route_handlers=[sessions, session, traces, trace, spans, summary, costs, performance, errors, export],
        guards=[_bearer_guard(api_key)] if api_key else None,
        security=[{SECURITY_SCHEME: []}] if api_key else None,
        tags=["query"],
    )
