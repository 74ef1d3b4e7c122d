"""The collector's ASGI app (Litestar, served by uvicorn in the main process).

Routes: ``GET /metrics`` (Prometheus text format), ``GET /healthz`` (the process
answers), ``GET /readyz`` (receivers bound, every worker running with its store
open, the store writable; 503 with the failing checks otherwise),
``GET /api/v1/live`` (:class:`~agenttrace.collector.live.LiveSnapshot`), and the
query API's ``/api/v1/*`` router from :mod:`agenttrace.collector.api`. Each part is a
route factory in :data:`ROUTES`; add a part by appending one.

With an API key, one guard (:mod:`agenttrace.collector.auth`) covers the whole app: a
route a factory adds is guarded unless its handler says ``opt=OPEN``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, MediaType, Response, get
from litestar.types import ControllerRouterHandler
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from agenttrace import web
from agenttrace.collector.api import build_api_router, build_openapi_config
from agenttrace.collector.auth import OPEN, api_key_guard
from agenttrace.collector.metrics import CollectorState, PipelineCollector, read_totals
from agenttrace.ingest.otlp.http import otlp_route_handlers
from agenttrace.ingest.otlp.metrics import IngestCollector
from agenttrace.query import QueryEngine, open_engine

__all__ = ["ROUTES", "AppContext", "RouteFactory", "create_app", "readiness"]


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


@dataclass(frozen=True)
class AppContext:
    """What a route factory may use to build its handlers."""

    state: CollectorState  # read at request time, never copied
    api_key: str | None
    metrics_require_key: bool
    query_engine: QueryEngine


RouteFactory = Callable[[AppContext], Sequence[ControllerRouterHandler]]


def metrics_routes(ctx: AppContext) -> list[ControllerRouterHandler]:
    """``GET /metrics``: the Prometheus text format, behind the key unless ``metrics_require_key`` is off."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(ctx.state))
    registry.register(IngestCollector(ctx.state))

    @get("/metrics", sync_to_thread=False, include_in_schema=False, opt=None if ctx.metrics_require_key else OPEN)
    def metrics() -> Response[bytes]:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [metrics]


def health_routes(ctx: AppContext) -> list[ControllerRouterHandler]:
    """``GET /healthz`` and ``GET /readyz``: never behind the key (load balancers ask them)."""
    state = ctx.state

    @get("/healthz", sync_to_thread=False, opt=OPEN)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", sync_to_thread=False, opt=OPEN)
    def readyz() -> Response[Any]:
        checks = readiness(state)
        ok = all(checks.values())
        body = {"status": "ready" if ok else "not ready", "checks": checks}
        return Response(body, status_code=200 if ok else 503, media_type=MediaType.JSON)

    return [healthz, readyz]


def live_routes(ctx: AppContext) -> list[ControllerRouterHandler]:
    """``GET /api/v1/live``: the collector's own snapshot of its counters."""
    state = ctx.state

    @get("/api/v1/live", sync_to_thread=False)
    def live() -> Response[Any]:
        if state.history is None:
            return Response({"detail": "collector starting"}, status_code=503, media_type=MediaType.JSON)
        return Response(state.history.snapshot())

    return [live]


def query_routes(ctx: AppContext) -> list[ControllerRouterHandler]:
    """``/api/v1/*`` answered by the query engine (:mod:`agenttrace.collector.api`)."""
    return [build_api_router(ctx.query_engine, api_key=ctx.api_key)]


# Every part of the app, in order. A new part (OTLP ingest, the dashboard, ...) appends
# one factory here: ``ROUTES.append(otlp_routes)``; each gets the same AppContext.
def otlp_routes(ctx: AppContext) -> list[ControllerRouterHandler]:
    """OTLP/HTTP ingest (``/v1/traces``, ``/v1/logs``, ``/v1/metrics``, Langfuse's path):
    :mod:`agenttrace.ingest.otlp`."""
    return otlp_route_handlers(ctx.state)


ROUTES: list[RouteFactory] = [metrics_routes, health_routes, live_routes, query_routes, otlp_routes]
ROUTES.append(web.dashboard_routes)  # the web dashboard: / and its /api/v1 routes (agenttrace/web)


def create_app(
    state: CollectorState,
    *,
    api_key: str | None = None,
    query_engine: QueryEngine | None = None,
    metrics_require_key: bool = True,
) -> Litestar:
    """Build the app over ``state`` (read at request time, never copied) from :data:`ROUTES`.

    With ``api_key`` set, ``/api/v1/*`` needs ``Authorization: Bearer <api_key>``, and so
    does ``/metrics`` unless ``metrics_require_key`` is False (its series name services and
    models and add up their spend). ``/healthz`` and ``/readyz`` stay open for health checks,
    and so does the API's description under ``/api/docs``. Without ``query_engine`` the
    app opens one over ``state.data_dir``."""
    ctx = AppContext(
        state=state,
        api_key=api_key,
        metrics_require_key=metrics_require_key,
        query_engine=query_engine if query_engine is not None else open_engine(state.data_dir),
    )
    handlers = [handler for factory in ROUTES for handler in factory(ctx)]
    openapi_config = build_openapi_config()
    guards = [api_key_guard(api_key)] if api_key else None
    app = Litestar(
        route_handlers=handlers, openapi_config=openapi_config, guards=guards, debug=False, logging_config=None
    )
    # The browsable API description (/api/docs: page, openapi.json, assets) holds no
    # data and stays open, as before there was one guard; its "Authorize" takes the key.
    docs = openapi_config.path.rstrip("/")
    for route in app.routes:
        if route.path == docs or route.path.startswith(docs + "/"):
            for handler in getattr(route, "route_handlers", ()):
                handler.opt.update(OPEN)
    return app
