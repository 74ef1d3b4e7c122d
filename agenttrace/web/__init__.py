"""The web dashboard served by the collector at ``/`` (user doc: ``docs/dashboard.md``).

``agenttrace/web/static/`` holds the page (plain ES modules, no build step, uPlot
vendored); :mod:`agenttrace.web.routes` serves it and :mod:`agenttrace.web.api` adds
the ``/api/v1`` routes it reads beyond the query API (overview, session search,
facets, trace outline, costs by commit, unpriced models, the live span stream). The
collector's app mounts both through its route factories (``collector/http.py``'s
``ROUTES``) with :func:`dashboard_routes`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_routers", "dashboard_routes"]


def build_routers(query_engine: Any, *, api_key: str | None = None) -> list[Any]:
    """The dashboard's page router and its ``/api/v1`` routes, ready for ``Litestar(route_handlers=...)``."""
    from agenttrace.web.api import build_dashboard_router
    from agenttrace.web.routes import build_page_router

    return [build_page_router(), build_dashboard_router(query_engine, api_key=api_key)]


def dashboard_routes(ctx: Any) -> list[Any]:
    """The route factory of ``agenttrace.collector.http.ROUTES``: ``ctx`` is its AppContext."""
    return build_routers(ctx.query_engine, api_key=ctx.api_key)
