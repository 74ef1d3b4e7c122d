"""The API's browsable documentation (``/api/docs``), served offline.

Litestar's OpenAPI UI plugins load their JavaScript, CSS and favicon from public CDNs, so
on a machine without internet access (or behind a strict proxy) ``/api/docs`` is a blank
page. The collector ships Swagger UI itself: ``assets/`` holds the unmodified files of the
npm package ``swagger-ui-dist`` (Apache-2.0, see ``assets/LICENSE``; version in
:data:`SWAGGER_UI_VERSION`, source-map comments removed) and the plugin below points the
page at them, under ``/api/docs/assets/``. Updating: ``npm pack swagger-ui-dist@5`` and
copy the same five files.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

__all__ = ["ASSETS_DIR", "SWAGGER_UI_VERSION", "OfflineSwaggerPlugin"]

SWAGGER_UI_VERSION = "5.36.0"
ASSETS_DIR = Path(__file__).with_name("assets")


class OfflineSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI at the OpenAPI path, every asset served by the collector itself."""

    def __init__(self, *, docs_path: str = "/api/docs") -> None:
        base = f"{docs_path.rstrip('/')}/assets"
        super().__init__(
            version=SWAGGER_UI_VERSION,
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
            path="/",
            favicon=f"<link rel='icon' type='image/png' href='{base}/favicon-32x32.png'>",
        )

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        # Relative to the OpenAPI router's path: /api/docs/assets/<file>.
        router.register(
            create_static_files_router(
                path="/assets", directories=[ASSETS_DIR], include_in_schema=False, cache_control=None
            )
        )
