"""The one API-key check of the collector's HTTP app: a Litestar guard for every route.

With ``[api] api_key`` set, :func:`api_key_guard` is installed on the whole app (and
on the query router, which is also served on its own), so a route is guarded unless
its handler says ``opt={"auth": "open"}`` (``/healthz``, ``/readyz``, ``/api/docs``,
``/metrics`` when ``metrics_require_key`` is false, and the OTLP export routes, which
check the same key with :func:`digest_matches` themselves because OTLP clients send it
in more ways and expect an OTLP status in answer). The key is compared in constant
time: ``hmac.compare_digest`` over SHA-256 digests, so not even its length leaks.
The key is never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException

__all__ = ["OPEN", "api_key_guard", "digest_matches", "key_digest", "key_matches"]

OPEN: dict[str, Any] = {"auth": "open"}  # handler opt of routes that need no key
_CHECKED = "agenttrace.api_key_ok"  # scope key: the app's and the router's guard check once


def key_digest(api_key: str) -> bytes:
    """What a presented key is compared with: its SHA-256 digest."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogateescape")).digest()


def digest_matches(presented: str | None, expected_digest: bytes) -> bool:
    """The one comparison every route makes (the OTLP routes too, which read the key from
    more headers): SHA-256 digests in constant time, so not even the length leaks."""
    given = key_digest(presented or "")
    return hmac.compare_digest(given, expected_digest) and presented is not None


def key_matches(authorization: str, expected_digest: bytes) -> bool:
    """True when the ``Authorization`` header value is ``Bearer <key>`` with the key whose
    SHA-256 digest is ``expected_digest``; the digests are always compared, even for a
    wrong scheme, so the time taken says nothing."""
    scheme, _sep, token = authorization.partition(" ")
    ok = digest_matches(token.strip(), expected_digest)
    return ok and scheme.lower() == "bearer"


def api_key_guard(api_key: str) -> Any:
    """A Litestar guard that refuses (401, ``WWW-Authenticate: Bearer``) every request
    without ``Authorization: Bearer <api_key>`` to a handler not marked :data:`OPEN`."""
    expected = key_digest(api_key)

    def guard(connection: ASGIConnection, handler: Any) -> None:
        if handler.opt.get("auth") == "open" or connection.scope.get(_CHECKED):  # type: ignore[misc]
            return
        if not key_matches(connection.headers.get("authorization", ""), expected):
            raise NotAuthorizedException(
                detail="this API needs a key: send 'Authorization: Bearer <api_key>'",
                headers={"WWW-Authenticate": 'Bearer realm="agenttrace"'},
            )
        connection.scope[_CHECKED] = True  # type: ignore[literal-required]

    return guard
