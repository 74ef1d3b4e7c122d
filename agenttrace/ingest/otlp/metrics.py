"""Prometheus series of the ways in, read at scrape time from :class:`IngestStats` and the
receivers: spans received by transport, spans rejected by reason and transport."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from agenttrace.ingest.otlp.submit import TRANSPORTS

__all__ = ["IngestCollector"]


class IngestCollector(Collector):
    """Registered beside the pipeline collector; ``state.otlp`` may be None (no OTLP)."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[Any]:
        ingest = getattr(self.state, "otlp", None)
        stats = ingest.stats if ingest is not None else None
        received: dict[str, int] = dict.fromkeys(TRANSPORTS, 0) if stats is not None else {}
        for transport, receiver in getattr(self.state, "receivers", []):
            # Receivers count spans from the datagram headers they accept.
            n = receiver.stats().get("spans")
            if n is not None:
                received[transport] = received.get(transport, 0) + n
        if stats is not None:
            for transport, n in stats.received.items():
                received[transport] = received.get(transport, 0) + n
        c = CounterMetricFamily(
            "agenttrace_spans_received", "Spans accepted into the rings, by transport.", labels=["transport"]
        )
        for transport, n in sorted(received.items()):
            c.add_metric([transport], n)
        yield c
        c = CounterMetricFamily(
            "agenttrace_spans_rejected",
            "Spans refused at a way in (OTLP), by reason and transport; the sender was told.",
            labels=["reason", "transport"],
        )
        c2 = CounterMetricFamily(
            "agenttrace_otlp_requests_rejected",
            "OTLP requests refused whole (undecodable, too large, unauthorized), by reason and transport.",
            labels=["reason", "transport"],
        )
        c3 = CounterMetricFamily(
            "agenttrace_otlp_metric_points_received",
            "OTLP metric data points received (counted, not stored).",
            labels=["transport"],
        )
        if stats is not None:
            for transport in TRANSPORTS:
                c.add_metric(["ring_full", transport], stats.rejected.get(("ring_full", transport), 0))
            for (reason, transport), n in sorted(stats.rejected.items()):
                if reason != "ring_full":
                    c.add_metric([reason, transport], n)
            for (reason, transport), n in sorted(stats.requests_rejected.items()):
                c2.add_metric([reason, transport], n)
            for transport, n in sorted(stats.metric_points.items()):
                c3.add_metric([transport], n)
        yield c
        yield c2
        yield c3
