"""OTLP/HTTP routes (Litestar): ``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics`` and
``/api/public/otel/v1/traces`` (where the Langfuse SDK exports).

Answers as the OTLP specification says (``docs/otlp.md``): 200 with the export response
in the request's encoding (``partial_success`` when spans were rejected), 400 with a
``google.rpc.Status`` for an undecodable body, 413 over ``[otlp] max_body_bytes``
(compressed or not), 415 for another content type, 401 without the API key, and 503 with
``Retry-After`` when the rings are full (the exporters retry; nothing is dropped).

The routes read ``state.otlp`` (an :class:`~agenttrace.ingest.otlp.ingest.OtlpIngest`
the collector installs) at request time; without it they answer 503.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, post

from agenttrace.collector.auth import OPEN
from agenttrace.ingest.otlp import codec
from agenttrace.ingest.otlp.auth import authorized
from agenttrace.ingest.otlp.ingest import RingsFull

__all__ = ["otlp_route_handlers"]

TRANSPORT = "otlp_http"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# google.rpc.Code values
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAUTHENTICATED, _UNAVAILABLE = 3, 8, 16, 14


def _status(http_status: int, code: int, message: str, as_json: bool, headers: dict[str, str] | None = None):
    return Response(
        codec.status_body(code, message, as_json),
        status_code=http_status,
        media_type=JSON if as_json else PROTOBUF,
        headers=headers or {},
    )


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None once it passes ``limit`` bytes (the rest is not read)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _export(signal: str, request: Request, state: Any) -> Response:
    ingest = getattr(state, "otlp", None)
    content_type = request.headers.get("content-type", "")
    as_json = codec.is_json(content_type)
    if ingest is None:
        return _status(503, _UNAVAILABLE, "OTLP ingest is not running", as_json, {"Retry-After": "1"})
    client = request.client
    if not authorized(request.headers.get, client.host if client else None, ingest.api_key):
        ingest.stats.count_request_rejected(TRANSPORT, "unauthorized")
        return _status(
            401,
            _UNAUTHENTICATED,
            "missing or wrong API key: send 'Authorization: Bearer <api_key>', 'x-api-key', or Basic auth",
            as_json,
            {"WWW-Authenticate": "Bearer"},
        )
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in (PROTOBUF, JSON, "application/protobuf"):
        ingest.stats.count_request_rejected(TRANSPORT, "unsupported_media_type")
        return _status(415, _INVALID_ARGUMENT, f"Content-Type {media!r}: send {PROTOBUF} or {JSON}", as_json)
    limit = ingest.max_body_bytes
    body = await _read_body(request, limit)
    encoding = request.headers.get("content-encoding", "")

    def decode_and_export():
        if body is None:
            raise codec.BodyTooLarge(f"the body is over {limit} bytes ([otlp] max_body_bytes)")
        message = codec.decode_request(signal, codec.decompress(body, encoding, limit), content_type)
        return ingest.export(signal, message, TRANSPORT)

    try:
        # Decoding and mapping take milliseconds per request: off the event loop, so
        # /metrics, /healthz and the supervisor's loop stay responsive under OTLP load.
        outcome = await asyncio.to_thread(decode_and_export)
    except codec.BodyTooLarge as exc:
        ingest.stats.count_request_rejected(TRANSPORT, "body_too_large")
        return _status(413, _INVALID_ARGUMENT, str(exc), as_json)
    except codec.UndecodableBody as exc:
        ingest.stats.count_request_rejected(TRANSPORT, "undecodable")
        return _status(400, _INVALID_ARGUMENT, str(exc), as_json)
    except RingsFull as exc:
        return _status(503, _UNAVAILABLE, str(exc), as_json, {"Retry-After": str(exc.retry_after_s)})
    answer = codec.response(signal, outcome.rejected, outcome.message)
    return Response(codec.encode_message(answer, as_json), status_code=200, media_type=JSON if as_json else PROTOBUF)


def otlp_route_handlers(state: Any) -> list[Any]:
    """The OTLP/HTTP handlers over ``state`` (the collector's ``CollectorState``)."""
    # opt=OPEN: not the app's Bearer-only guard; _export checks the same key (auth.py) in
    # every form OTLP clients send it, and answers with an OTLP status.
    opts: dict[str, Any] = {
        "include_in_schema": False,
        "request_max_body_size": None,
        "status_code": 200,
        "opt": dict(OPEN),
    }

    @post("/v1/traces", **opts)
    async def traces(request: Request) -> Response:
        return await _export("traces", request, state)

    @post("/api/public/otel/v1/traces", **opts)
    async def langfuse_traces(request: Request) -> Response:
        return await _export("traces", request, state)

    @post("/v1/logs", **opts)
    async def logs(request: Request) -> Response:
        return await _export("logs", request, state)

    @post("/v1/metrics", **opts)
    async def metrics(request: Request) -> Response:
        return await _export("metrics", request, state)

    return [traces, langfuse_traces, logs, metrics]
