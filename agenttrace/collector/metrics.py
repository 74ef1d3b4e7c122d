"""``GET /metrics``: a prometheus_client custom collector that reads the counters at scrape time.

Nothing is counted in the HTTP process itself. At each scrape :func:`read_totals`
sums the receivers' ``stats()`` (received, header drops, sequence-gap losses), the
rings' fill, and each worker's shared-memory :class:`~agenttrace.collector.counters.CounterBlock`
(stored, payload drops, WAL/seal latency, domain series); the live view samples
the same function once a second.

Accounting identity (each datagram counted exactly once)::

    datagrams sent = received + lost
    received       = stored + dropped{reason}      (once the rings are drained)

``agenttrace_kernel_dropped_datagrams_total`` (SO_RXQ_OVFL) is shown for tuning
the receive buffer, but those datagrams are already inside ``lost`` (the sender's
sequence has a gap), so it is not added again.

User-supplied label values (service, model) are capped at ``metrics.max_label_values``
per label in each worker and again here over the union: the first values seen keep
their own series, later ones are reported as ``other``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from agenttrace.bounds import REJECT_REASONS, SANITIZE_KEYS
from agenttrace.collector.counters import (
    DURATION_BUCKETS,
    LATENCY_BUCKETS,
    SEAL_HIST,
    WAL_HIST,
    WORKER_DROP_REASONS,
    DomainSnapshot,
)
from agenttrace.guards.stage import metric_labels
from agenttrace.labels import LabelCap

__all__ = ["CollectorState", "PipelineCollector", "Totals", "read_totals"]

RECEIVER_DROP_REASONS = {
    "dropped_ring_full": "ring_full",
    "dropped_oversize": "oversize",
    "dropped_bad_magic": "bad_magic",
    "dropped_unknown_version": "unknown_version",
    "dropped_truncated": "truncated",
    "dropped_bad_payload": "bad_payload",
    "dropped_not_allowed": "not_allowed",  # source outside [receive] allow
}


@dataclass
class CollectorState:
    """What the HTTP app reads; filled in by :mod:`agenttrace.collector.main`."""

    supervisor: Any = None
    receivers: list[tuple[str, Any]] = field(default_factory=list)  # (transport, Receiver)
    data_dir: str = ""
    started_at: float = field(default_factory=time.time)
    max_label_values: int = 64
    receivers_bound: bool = False
    stopping: bool = False
    history: Any = None  # live.LiveHistory
    caps: dict[str, LabelCap] = field(default_factory=dict)
    otlp: Any = None  # agenttrace.ingest.otlp.ingest.OtlpIngest, read by the OTLP routes and /metrics
    postgres: Any = None  # agenttrace.store.postgres.sink.PostgresSink when [postgres] dsn is set


@dataclass
class Totals:
    """All counters summed over receivers and workers at one instant."""

    time: float = 0.0
    received_by_transport: dict[str, int] = field(default_factory=dict)
    bytes_by_transport: dict[str, int] = field(default_factory=dict)
    kernel_dropped: int = 0
    lost: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    datagrams_stored: int = 0
    spans_stored: int = 0
    ring_fill: list[float] = field(default_factory=list)
    segments: int = 0
    store_bytes: int = 0
    wal_bytes: list[int] = field(default_factory=list)
    wal_hist: list[int] = field(default_factory=list)
    wal_sum_s: float = 0.0
    seal_hist: list[int] = field(default_factory=list)
    seal_sum_s: float = 0.0
    store_writable: bool = True
    restarts: list[int] = field(default_factory=list)
    alive: list[bool] = field(default_factory=list)
    spans: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    tokens: dict[tuple[str, str, str], int] = field(default_factory=dict)
    cost: dict[tuple[str, str], float] = field(default_factory=dict)
    durations: dict[str, list[int]] = field(default_factory=dict)
    duration_sum: dict[str, float] = field(default_factory=dict)
    unknown_models: dict[str, int] = field(default_factory=dict)
    sanitized: dict[tuple[str, str], int] = field(default_factory=dict)  # (field, reason) -> spans
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> spans
    guard_findings: dict[tuple[str, str], int] = field(default_factory=dict)  # (guard, kind) -> findings

    @property
    def received(self) -> int:
        return sum(self.received_by_transport.values())

    @property
    def dropped(self) -> int:
        return sum(self.dropped_by_reason.values())


def _add(d: dict[Any, Any], key: Any, n: Any) -> None:
    d[key] = d.get(key, 0) + n


def _merge_hist(acc: list[int], h: list[int]) -> list[int]:
    return [a + b for a, b in zip(acc, h, strict=True)] if acc else list(h)


def read_totals(state: CollectorState) -> Totals:
    """Read every counter once (cheap: a few hundred u64 loads and one small decode per worker)."""
    t = Totals(time=time.time())
    for reason in (*RECEIVER_DROP_REASONS.values(), *WORKER_DROP_REASONS):
        t.dropped_by_reason.setdefault(reason, 0)
    for transport, receiver in state.receivers:
        st = receiver.stats()
        _add(t.received_by_transport, transport, st.get("received", 0))
        _add(t.bytes_by_transport, transport, st.get("bytes", 0))
        t.kernel_dropped += st.get("kernel_dropped", 0)
        # A datagram that arrives after a later one of its sender was first counted
        # in a gap; it was received after all.
        t.lost += max(0, st.get("lost", 0) - st.get("reordered", 0))
        for key, reason in RECEIVER_DROP_REASONS.items():
            _add(t.dropped_by_reason, reason, st.get(key, 0))
    sup = state.supervisor
    if sup is None:
        return t
    service_cap = state.caps.setdefault("service", LabelCap(state.max_label_values))
    model_cap = state.caps.setdefault("model", LabelCap(state.max_label_values))
    for slot in sup.slots:
        v = slot.block.values()
        t.restarts.append(slot.restarts)
        t.alive.append(slot.alive)
        try:
            t.ring_fill.append(float(slot.ring.fill()))
        except Exception:  # a closed ring during shutdown
            t.ring_fill.append(0.0)
        t.datagrams_stored += v["datagrams_stored"]
        t.spans_stored += v["spans_stored"]
        for reason in WORKER_DROP_REASONS:
            _add(t.dropped_by_reason, reason, v[f"dropped_{reason}"])
        for key in SANITIZE_KEYS:
            _add(t.sanitized, key, v[f"sanitized_{key[0]}_{key[1]}"])
        for reason in REJECT_REASONS:
            _add(t.rejected, reason, v[f"rejected_{reason}"])
        t.segments += v["segments"]
        t.store_bytes += v["store_bytes"]
        t.wal_bytes.append(v["wal_bytes"])
        t.wal_hist = _merge_hist(t.wal_hist, slot.block.histogram(WAL_HIST))
        t.seal_hist = _merge_hist(t.seal_hist, slot.block.histogram(SEAL_HIST))
        t.wal_sum_s += v["wal_sum_ns"] / 1e9
        t.seal_sum_s += v["seal_sum_ns"] / 1e9
        if slot.alive and v["ready"] and not v["store_writable"]:
            t.store_writable = False
        snap: DomainSnapshot = slot.block.read_snapshot()
        for service, kind, model, status, n in snap.spans:
            _add(t.spans, (service_cap(service), kind, model_cap(model), status), n)
        for service, model, typ, n in snap.tokens:
            _add(t.tokens, (service_cap(service), model_cap(model), typ), n)
        for service, model, usd in snap.cost:
            _add(t.cost, (service_cap(service), model_cap(model)), usd)
        for kind, buckets, total in snap.durations:
            t.durations[kind] = _merge_hist(t.durations.get(kind, []), buckets)
            _add(t.duration_sum, kind, total)
        for model, n in snap.unknown_models:
            _add(t.unknown_models, model_cap(model), n)
        for guard, kind, n in snap.guard_findings:
            _add(t.guard_findings, metric_labels(f"{guard}:{kind}"), n)
    return t


def _histogram(name: str, doc: str, bounds: tuple[float, ...], counts: list[int], total: float, labels=None):
    fam = HistogramMetricFamily(name, doc, labels=list(labels or {}))
    cum, buckets = 0, []
    for bound, n in zip((*bounds, float("inf")), counts or [0] * (len(bounds) + 1), strict=True):
        cum += n
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), cum))
    fam.add_metric(list((labels or {}).values()), buckets, total)
    return fam


class PipelineCollector(Collector):
    """Registered on a private ``CollectorRegistry``; reads :class:`CollectorState` per scrape."""

    def __init__(self, state: CollectorState) -> None:
        self.state = state

    def collect(self) -> Iterator[Any]:
        t = read_totals(self.state)
        c = CounterMetricFamily(
            "agenttrace_datagrams_received", "Datagrams received, by transport.", labels=["transport"]
        )
        for transport, n in sorted(t.received_by_transport.items()):
            c.add_metric([transport], n)
        yield c
        c = CounterMetricFamily("agenttrace_bytes_received", "Bytes received, by transport.", labels=["transport"])
        for transport, n in sorted(t.bytes_by_transport.items()):
            c.add_metric([transport], n)
        yield c
        yield CounterMetricFamily(
            "agenttrace_datagrams_stored", "Datagrams whose spans were appended to the store.", value=t.datagrams_stored
        )
        yield CounterMetricFamily("agenttrace_spans_stored", "Spans appended to the store.", value=t.spans_stored)
        c = CounterMetricFamily(
            "agenttrace_datagrams_dropped", "Datagrams received but not stored, by reason.", labels=["reason"]
        )
        for reason, n in sorted(t.dropped_by_reason.items()):
            c.add_metric([reason], n)
        yield c
        c = CounterMetricFamily(
            "agenttrace_spans_sanitized",
            "Spans with a value out of its documented range, brought into range, by field and reason.",
            labels=["field", "reason"],
        )
        for (fld, reason), n in sorted(t.sanitized.items()):
            c.add_metric([fld, reason], n)
        yield c
        c = CounterMetricFamily(
            "agenttrace_spans_dropped",
            "Spans a worker did not store: a value no clamp can repair, by reason.",
            labels=["reason"],
        )
        for reason, n in sorted(t.rejected.items()):
            c.add_metric([reason], n)
        yield c
        yield CounterMetricFamily(
            "agenttrace_datagrams_lost", "Datagrams never received: gaps in senders' sequence numbers.", value=t.lost
        )
        yield CounterMetricFamily(
            "agenttrace_kernel_dropped_datagrams",
            "Datagrams the kernel dropped for a full receive buffer (SO_RXQ_OVFL); already part of lost.",
            value=t.kernel_dropped,
        )
        g = GaugeMetricFamily("agenttrace_ring_fill_ratio", "How full each worker's ring is (0..1).", labels=["worker"])
        for i, fill in enumerate(t.ring_fill):
            g.add_metric([str(i)], fill)
        yield g
        g = GaugeMetricFamily("agenttrace_wal_bytes", "Bytes in each worker's write-ahead log.", labels=["worker"])
        for i, n in enumerate(t.wal_bytes):
            g.add_metric([str(i)], n)
        yield g
        c = CounterMetricFamily("agenttrace_worker_restarts", "Worker processes restarted.", labels=["worker"])
        for i, n in enumerate(t.restarts):
            c.add_metric([str(i)], n)
        yield c
        yield GaugeMetricFamily("agenttrace_workers_running", "Worker processes alive.", value=sum(t.alive))
        yield _histogram(
            "agenttrace_wal_append_seconds",
            "Time to append one popped batch to the store (one WAL write + column builders).",
            LATENCY_BUCKETS,
            t.wal_hist,
            t.wal_sum_s,
        )
        yield _histogram(
            "agenttrace_segment_seal_seconds", "Time to seal one segment.", LATENCY_BUCKETS, t.seal_hist, t.seal_sum_s
        )
        yield CounterMetricFamily("agenttrace_segments_sealed", "Segments sealed.", value=t.segments)
        yield CounterMetricFamily(
            "agenttrace_store_written_bytes", "Bytes of sealed segments written.", value=t.store_bytes
        )
        # --- domain series ---
        c = CounterMetricFamily(
            "agenttrace_spans", "Spans stored, by service, kind, model and status.",
            labels=["service", "kind", "model", "status"],
        )  # fmt: skip
        for key, n in sorted(t.spans.items()):
            c.add_metric(list(key), n)
        yield c
        c = CounterMetricFamily(
            "agenttrace_tokens", "Tokens by service, model and type (input includes cache reads and writes).",
            labels=["service", "model", "type"],
        )  # fmt: skip
        for key, n in sorted(t.tokens.items()):
            c.add_metric(list(key), n)
        yield c
        c = CounterMetricFamily("agenttrace_cost_usd", "Cost in US dollars.", labels=["service", "model"])
        for key, usd in sorted(t.cost.items()):
            c.add_metric(list(key), usd)
        yield c
        c = CounterMetricFamily(
            "agenttrace_cost_unknown_model",
            "Spans with token usage whose model matched no price (their cost is unknown), by model.",
            labels=["model"],
        )
        for model, n in sorted(t.unknown_models.items()):
            c.add_metric([model], n)
        yield c
        c = CounterMetricFamily(
            "agenttrace_guard_findings",
            "Guard findings in stored spans, by guard (secret, pii, injection, loop) and kind; never what matched.",
            labels=["guard", "kind"],
        )
        for key, n in sorted(t.guard_findings.items()):
            c.add_metric(list(key), n)
        yield c
        h = HistogramMetricFamily("agenttrace_span_duration_seconds", "Span duration, by kind.", labels=["kind"])
        for kind, counts in sorted(t.durations.items()):
            cum, buckets = 0, []
            for bound, n in zip((*DURATION_BUCKETS, float("inf")), counts, strict=True):
                cum += n
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cum))
            h.add_metric([kind], buckets, t.duration_sum.get(kind, 0.0))
        yield h
        if self.state.postgres is not None:  # [postgres] dsn: the WAL sink's figures and backlog
            from agenttrace.collector.postgres import sink_metrics

            yield from sink_metrics(self.state.postgres)
