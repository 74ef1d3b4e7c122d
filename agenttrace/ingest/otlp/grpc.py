"""OTLP/gRPC: ``TraceService/Export``, ``LogsService/Export`` and ``MetricsService/Export``
on grpcio's asyncio server, in the collector's main event loop (``[otlp] grpc``, default
127.0.0.1:4317, ``""`` = off).

gzip request compression is grpcio's. Full rings answer ``RESOURCE_EXHAUSTED`` with a
``google.rpc.RetryInfo`` in the trailers (the OTLP exporters retry it after that delay);
a missing or wrong API key ``UNAUTHENTICATED``; rejected spans ``partial_success``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from agenttrace.ingest.otlp import codec
from agenttrace.ingest.otlp.auth import authorized
from agenttrace.ingest.otlp.ingest import OtlpIngest, RingsFull

__all__ = ["start_grpc_server"]

TRANSPORT = "otlp_grpc"


def _peer_host(peer: str) -> str | None:
    """``ipv4:127.0.0.1:5000`` / ``ipv6:[::1]:5000`` / ``unix:...`` -> the host part."""
    scheme, _, rest = peer.partition(":")
    if scheme == "ipv4":
        return rest.rpartition(":")[0]
    if scheme == "ipv6":
        return rest.rpartition(":")[0].strip("[]")
    if scheme == "unix":
        return "127.0.0.1"  # a Unix socket is this machine
    return None


class _Export:
    def __init__(self, ingest: OtlpIngest, signal: str) -> None:
        self.ingest = ingest
        self.signal = signal

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        ingest = self.ingest
        metadata = {k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        if not authorized(metadata.get, _peer_host(context.peer()), ingest.api_key):
            ingest.stats.count_request_rejected(TRANSPORT, "unauthorized")
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong API key (authorization metadata)")
        try:
            # Mapping takes milliseconds per request: off the event loop (see http.py).
            outcome = await asyncio.to_thread(ingest.export, self.signal, request, TRANSPORT)
        except RingsFull as exc:
            retry = RetryInfo(retry_delay=Duration(seconds=exc.retry_after_s))
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                str(exc),
                trailing_metadata=(("google.rpc.retryinfo-bin", retry.SerializeToString()),),
            )
        return codec.response(self.signal, outcome.rejected, outcome.message)


class _Traces(_Export, trace_service_pb2_grpc.TraceServiceServicer):
    pass


class _Logs(_Export, logs_service_pb2_grpc.LogsServiceServicer):
    pass


class _Metrics(_Export, metrics_service_pb2_grpc.MetricsServiceServicer):
    pass


async def start_grpc_server(ingest: OtlpIngest, host: str, port: int) -> tuple[grpc.aio.Server, int]:
    """Bind and start; returns the server and the port bound (``port`` 0 = any free one).
    Raises OSError when the address cannot be bound."""
    limit = ingest.max_body_bytes
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.so_reuseport", 0),
        ]
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(ingest, "traces"), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(ingest, "logs"), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(ingest, "metrics"), server)
    shown = f"[{host}]" if ":" in host else host
    try:
        bound = server.add_insecure_port(f"{shown}:{port}")
    except RuntimeError as exc:
        raise OSError(f"cannot bind OTLP/gRPC on {shown}:{port}: {exc}") from None
    if bound == 0:
        raise OSError(f"cannot bind OTLP/gRPC on {shown}:{port}")
    await server.start()
    return server, bound
