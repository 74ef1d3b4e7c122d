"""OTLP request bodies in and answers out, shared by the HTTP and gRPC transports.

Protobuf with ``opentelemetry-proto``'s generated messages; JSON through
``google.protobuf.json_format`` after the two rewrites the OTLP/JSON encoding makes
(``docs/specification.md#json-protobuf-encoding`` of opentelemetry-proto): trace and
span ids are hex strings, not base64, and enums are integers (which json_format also
accepts). Keys may be lowerCamelCase or the proto names; unknown fields are ignored, as
the specification asks of receivers.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

__all__ = [
    "SIGNALS",
    "BodyTooLarge",
    "UndecodableBody",
    "decode_request",
    "decompress",
    "encode_message",
    "is_json",
    "response",
    "status_body",
]

SIGNALS: dict[str, tuple[type, type]] = {
    "traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
    "logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse),
    "metrics": (metrics_service_pb2.ExportMetricsServiceRequest, metrics_service_pb2.ExportMetricsServiceResponse),
}

# Fields holding ids, hex in OTLP/JSON (bytes are base64 in plain proto3 JSON).
_ID_KEYS = frozenset(("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"))


class UndecodableBody(ValueError):
    """The body is not a valid OTLP message in its declared encoding (HTTP 400)."""


class BodyTooLarge(ValueError):
    """The body, or what it decompresses to, is over the configured limit (HTTP 413)."""


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate or none), refusing more than ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise UndecodableBody(f"unsupported Content-Encoding {encoding!r} (gzip, deflate or none)")
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise UndecodableBody(f"the body does not decompress as {encoding}: {exc}") from None
    if len(out) > limit or d.unconsumed_tail:
        raise BodyTooLarge(f"the decompressed body is over {limit} bytes")
    return out


def _hex_ids(node: Any) -> Any:
    """Rewrite OTLP/JSON's hex ids as the base64 json_format expects, in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    # Some exporters send plain proto3 JSON (base64 ids): take those as they are.
                    if not _is_base64_id(value):
                        raise UndecodableBody(f"{key} {value!r} is not a hex string") from None
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)
    return node


def _is_base64_id(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) in (8, 16)
    except ValueError:
        return False


def decode_request(signal: str, body: bytes, content_type: str) -> Any:
    """Parse an export request of ``signal`` ("traces", "logs", "metrics")."""
    request_cls = SIGNALS[signal][0]
    if is_json(content_type):
        try:
            tree = json.loads(body)
        except ValueError as exc:
            raise UndecodableBody(f"the body is not JSON: {exc}") from None
        if not isinstance(tree, dict):
            raise UndecodableBody("the body is not a JSON object")
        try:
            return json_format.ParseDict(_hex_ids(tree), request_cls(), ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise UndecodableBody(f"the body is not an OTLP {signal} request: {exc}") from None
    msg = request_cls()
    try:
        msg.ParseFromString(body)
    except Exception as exc:  # google.protobuf.message.DecodeError, and upb's own errors
        raise UndecodableBody(f"the body is not an OTLP {signal} request in protobuf: {exc}") from None
    return msg


def is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def encode_message(msg: Any, as_json: bool) -> bytes:
    if as_json:
        return json_format.MessageToJson(msg, indent=None).encode()
    return msg.SerializeToString()


def status_body(code: int, message: str, as_json: bool) -> bytes:
    """A ``google.rpc.Status`` (the body of OTLP/HTTP errors)."""
    from google.rpc import status_pb2

    status = status_pb2.Status(code=code, message=message)
    return encode_message(status, as_json)


def response(signal: str, rejected: int = 0, message: str = "") -> Any:
    """The export response, with ``partial_success`` when something was rejected."""
    resp = SIGNALS[signal][1]()
    if rejected:
        field = {"traces": "rejected_spans", "logs": "rejected_log_records", "metrics": "rejected_data_points"}[signal]
        setattr(resp.partial_success, field, rejected)
        resp.partial_success.error_message = message
    return resp
