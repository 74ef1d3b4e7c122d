"""The OTLP ingest of one collector: settings, the span submitter and the counters,
shared by the HTTP routes and the gRPC server (the transports only decode and answer).

    export(signal, request, transport) -> Outcome(accepted, rejected, message)
        raises RingsFull when the spans cannot all be put in the rings now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agenttrace.ingest.otlp.logs import request_to_spans as logs_to_spans
from agenttrace.ingest.otlp.mapping import ContentPolicy
from agenttrace.ingest.otlp.mapping import request_to_spans as traces_to_spans
from agenttrace.ingest.otlp.submit import IngestStats, RingsFull, SpanSubmitter

__all__ = ["OtlpIngest", "Outcome", "RingsFull"]


@dataclass
class Outcome:
    accepted: int
    rejected: int = 0
    message: str = ""


class OtlpIngest:
    """Built once by the collector's main process (:meth:`from_config`)."""

    def __init__(
        self,
        rings: Callable[[], Sequence[Any]],
        *,
        policy: ContentPolicy | None = None,
        max_body_bytes: int = 16 << 20,
        api_key: str | None = None,
    ) -> None:
        self.stats = IngestStats()
        self.submitter = SpanSubmitter(rings, self.stats)
        self.policy = policy or ContentPolicy()
        self.max_body_bytes = max_body_bytes
        self.api_key = api_key or None

    @classmethod
    def from_config(cls, cfg: Any, rings: Callable[[], Sequence[Any]]) -> OtlpIngest:
        otlp = cfg.otlp
        policy = ContentPolicy.from_patterns(
            capture=otlp.capture_content, max_preview_chars=otlp.max_preview_chars, patterns=otlp.mask_patterns
        )
        return cls(rings, policy=policy, max_body_bytes=otlp.max_body_bytes, api_key=cfg.api.api_key or None)

    def export(self, signal: str, request: Any, transport: str) -> Outcome:
        if signal == "metrics":
            points = count_data_points(request)
            self.stats.count_metric_points(transport, points)
            return Outcome(accepted=points)
        result = traces_to_spans(request, self.policy) if signal == "traces" else logs_to_spans(request, self.policy)
        for reason, n in result.rejected.items():
            self.stats.count_rejected(transport, reason, n)
        accepted = self.submitter.submit(result.spans, transport)
        rejected = result.rejected_total + (len(result.spans) - accepted)
        message = ""
        if rejected:
            reasons = dict(result.rejected)
            if len(result.spans) > accepted:
                reasons["oversize"] = reasons.get("oversize", 0) + len(result.spans) - accepted
            message = "rejected: " + ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
            if "invalid_id" in reasons:
                message += " (trace ids must be 16 bytes, span ids 8, not all zero)"
        return Outcome(accepted=accepted, rejected=rejected, message=message)


def count_data_points(request: Any) -> int:
    """Data points in an ``ExportMetricsServiceRequest`` (metrics are counted, not stored)."""
    n = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                which = metric.WhichOneof("data")
                if which is not None:
                    n += len(getattr(metric, which).data_points)
    return n
