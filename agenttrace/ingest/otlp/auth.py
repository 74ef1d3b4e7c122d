"""Who may export over OTLP: the API key's holders, or (without a key) this machine only.

With ``[api] api_key`` set, a request must carry it as ``Authorization: Bearer KEY``,
``x-api-key: KEY``, or as the password of ``Authorization: Basic`` (what the Langfuse
SDK sends: ``public_key:secret_key``; the secret key is our API key, the public key is
not checked). Without a key, only loopback peers are accepted, as for the query API.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from agenttrace.collector.auth import digest_matches, key_digest
from agenttrace.collector.config import is_loopback

__all__ = ["authorized", "presented_key"]


def presented_key(get: Callable[[str], str | None]) -> str | None:
    """The key a request presents, from its headers (``get(name)``, lower-case names)."""
    header = (get("authorization") or "").strip()
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return value.strip()
    if scheme == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    key = get("x-api-key")
    return key.strip() if key else None


def authorized(get: Callable[[str], str | None], peer_host: str | None, api_key: str | None) -> bool:
    if not api_key:
        return peer_host is not None and (is_loopback(peer_host) or peer_host.startswith("::ffff:127."))
    # The collector's one comparison (SHA-256 digests, constant time).
    return digest_matches(presented_key(get), key_digest(api_key))
