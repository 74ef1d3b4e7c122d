"""The query API, ``/api/v1/*``, mounted in the collector's Litestar app.

The collector builds its app with::

    from agenttrace.collector.api import build_api_router, build_openapi_config
    app = Litestar(route_handlers=[..., build_api_router(engine, api_key=cfg.api.api_key)],
                   openapi_config=build_openapi_config())

Every route answers from the one :class:`~agenttrace.store.query.QueryEngine`.
(Skeleton: the routes land in following commits; the signatures are final.)
"""

from __future__ import annotations

from typing import Any

from litestar import Router, get
from litestar.openapi import OpenAPIConfig

import agenttrace

__all__ = ["API_PREFIX", "build_api_router", "build_openapi_config"]

API_PREFIX = "/api/v1"


def build_openapi_config() -> OpenAPIConfig:
    """OpenAPI settings for the collector's app: the document and UI live under ``/api/docs``."""
    return OpenAPIConfig(title="AgentTrace API", version=agenttrace.__version__, path="/api/docs")


def build_api_router(query_engine: Any, *, api_key: str | None = None) -> Router:
    """Return the ``/api/v1`` router answering from ``query_engine``.

    With ``api_key`` set every route requires ``Authorization: Bearer <api_key>``;
    the collector passes it when it binds a non-loopback address.
    """

    @get("/ping", sync_to_thread=False)
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    return Router(path=API_PREFIX, route_handlers=[ping])
