"""The collector's ASGI app (Litestar, served by uvicorn in the main process).

Routes: ``GET /metrics`` (Prometheus text format), ``GET /healthz`` (the process
answers), ``GET /readyz`` (receivers bound, every worker running with its store
open, the store writable; 503 with the failing checks otherwise),
``GET /api/v1/live`` (:class:`~agenttrace.collector.live.LiveSnapshot`), and the
query API's ``/api/v1/*`` router from :mod:`agenttrace.collector.api` when the
store's query engine is installed.
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from agenttrace.collector.metrics import CollectorState, PipelineCollector, read_totals

__all__ = ["create_app", "readiness"]

log = logging.getLogger("agenttrace.collector.http")


def readiness(state: CollectorState) -> dict[str, bool]:
    """Each readiness check by name; ready when all are True."""
    sup = state.supervisor
    data_dir = state.data_dir
    store_ok = bool(data_dir) and os.path.isdir(data_dir) and os.access(data_dir, os.W_OK | os.X_OK)
    if store_ok and sup is not None:
        store_ok = read_totals(state).store_writable
    return {
        "receivers_bound": state.receivers_bound,
        "workers_running": sup is not None and sup.all_ready(),
        "store_writable": store_ok,
        "not_stopping": not state.stopping,
    }


def create_app(
    state: CollectorState, *, api_key: str | None = None, query_engine: Any = None, metrics_require_key: bool = True
) -> Litestar:
    """Build the app over ``state`` (read at request time, never copied).

    With ``api_key`` set, ``/api/v1/*`` needs ``Authorization: Bearer <api_key>``, and so
    does ``/metrics`` unless ``metrics_require_key`` is False (its series name services and
    models and add up their spend). ``/healthz`` and ``/readyz`` stay open for health checks."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(state))
    otlp_routes = _otlp_routes(state, registry)
    metrics_key = api_key if metrics_require_key else None

    @get("/metrics", sync_to_thread=False, include_in_schema=False)
    def metrics(request: Request) -> Response[bytes]:
        if metrics_key and not _authorized(request, metrics_key):
            return Response(
                b"missing or wrong API key: send 'Authorization: Bearer <api_key>'\n",
                status_code=401,
                media_type=MediaType.TEXT,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", sync_to_thread=False)
    def readyz() -> Response[Any]:
        checks = readiness(state)
        ok = all(checks.values())
        body = {"status": "ready" if ok else "not ready", "checks": checks}
        return Response(body, status_code=200 if ok else 503, media_type=MediaType.JSON)

    @get("/api/v1/live", sync_to_thread=False)
    def live(request: Request) -> Response[Any]:
        if api_key and not _authorized(request, api_key):
            return Response({"detail": "missing or wrong API key"}, status_code=401, media_type=MediaType.JSON)
        if state.history is None:
            return Response({"detail": "collector starting"}, status_code=503, media_type=MediaType.JSON)
        return Response(state.history.snapshot())

    handlers: list[Any] = [metrics, healthz, readyz, live, *otlp_routes]
    openapi_config = None
    try:
        from agenttrace.collector import api
    except ImportError:
        api = None  # the query API is a separate area; the app works without it
    if api is not None:
        if query_engine is None:
            try:
                from agenttrace.store.query import QueryEngine

                query_engine = QueryEngine(state.data_dir)
            except Exception:
                log.warning("the query engine is not available; /api/v1 serves /live only", exc_info=True)
        if query_engine is not None:
            handlers.append(api.build_api_router(query_engine, api_key=api_key))
            openapi_config = api.build_openapi_config()
    kwargs: dict[str, Any] = {"openapi_config": openapi_config} if openapi_config is not None else {}
    return Litestar(route_handlers=handlers, debug=False, logging_config=None, **kwargs)


def _otlp_routes(state: CollectorState, registry: CollectorRegistry) -> list[Any]:
    """OTLP/HTTP (``agenttrace.ingest.otlp``) and its series, when opentelemetry-proto is installed."""
    try:
        from agenttrace.ingest.otlp.http import otlp_route_handlers
        from agenttrace.ingest.otlp.metrics import IngestCollector
    except ImportError:
        return []
    registry.register(IngestCollector(state))
    return otlp_route_handlers(state)


def _authorized(request: Request, api_key: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())
