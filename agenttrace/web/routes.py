"""The dashboard's page and files: ``GET /`` and ``GET /static/{path}``.

Everything is served from ``agenttrace/web/static/`` inside the package; the page
loads nothing from another host (its Content-Security-Policy says so too). Views are
hash routes (``/#/sessions?service=x``), so every view's URL reloads through ``/``.

Caching: ``index.html`` and the app's own files are sent with ``no-cache`` and an
ETag, so a browser revalidates them (a 304 costs a round trip, never a stale page
after an upgrade); files under ``static/vendor/<name>-<version>/`` never change under
their versioned path and are ``immutable`` for a year.

The page and its files are not secret and stay open when the API needs a key: the
page asks for the key and sends it to ``/api/v1`` only.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import Annotated

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter

from agenttrace.collector.auth import OPEN

__all__ = ["STATIC_DIR", "build_page_router"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


class _File:
    __slots__ = ("body", "etag", "media_type", "stamp")

    def __init__(self, path: Path) -> None:
        st = path.stat()
        self.stamp = (st.st_mtime_ns, st.st_size)
        self.body = path.read_bytes()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
        guessed = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.media_type = guessed + ("; charset=utf-8" if guessed.startswith("text/") else "")


_cache: dict[Path, _File] = {}


def _load(path: Path) -> _File:
    f = _cache.get(path)
    st = path.stat()
    if f is None or f.stamp != (st.st_mtime_ns, st.st_size):
        f = _cache[path] = _File(path)
    return f


def _serve(request: Request, path: Path, cache_control: str, extra: dict[str, str] | None = None) -> Response[bytes]:
    f = _load(path)
    headers = {**_COMMON, "Cache-Control": cache_control, "ETag": f.etag, **(extra or {})}
    if request.headers.get("if-none-match") == f.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(f.body, media_type=f.media_type, headers=headers)


def build_page_router(static_dir: Path = STATIC_DIR) -> Router:
    """``/`` (the page) and ``/static/*`` (its files)."""
    root = static_dir.resolve()

    # The page and its files are open (they hold no data); with a key, the page asks for it.
    @get("/", sync_to_thread=False, include_in_schema=False, opt=OPEN)
    def index(request: Request) -> Response[bytes]:
        return _serve(request, root / "index.html", "no-cache", {"Content-Security-Policy": _CSP})

    @get("/static/{path:path}", sync_to_thread=False, include_in_schema=False, opt=OPEN)
    def static(request: Request, path: Annotated[str, PathParameter()]) -> Response[bytes]:
        target = (root / path.lstrip("/")).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise NotFoundException(detail=f"no file {path}")
        immutable = target.is_relative_to(root / "vendor")
        return _serve(request, target, "public, max-age=31536000, immutable" if immutable else "no-cache")

    return Router(path="/", route_handlers=[index, static])
