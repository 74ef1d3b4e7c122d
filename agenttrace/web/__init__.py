"""The web dashboard served by the collector at ``/`` (user doc: ``docs/dashboard.md``).

``agenttrace/web/static/`` holds the page (plain ES modules, no build step, uPlot
vendored); :mod:`agenttrace.web.routes` serves it and :mod:`agenttrace.web.api` adds
the ``/api/v1`` routes it reads beyond the query API (overview, session search,
facets, unpriced models, the live span stream). The collector mounts both with::

    handlers += build_routers(query_engine, api_key=api_key)
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_routers"]


def build_routers(query_engine: Any, *, api_key: str | None = None) -> list[Any]:
    """The dashboard's page router and its ``/api/v1`` routes, ready for ``Litestar(route_handlers=...)``."""
    from agenttrace.web.api import build_dashboard_router
    from agenttrace.web.routes import build_page_router

    return [build_page_router(), build_dashboard_router(query_engine, api_key=api_key)]
