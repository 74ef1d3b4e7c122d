"""Hand converted spans to the collector's rings, from the main process.

Spans from OTLP (HTTP or gRPC) are packed into wire-v1 datagrams no bigger than the
rings' ``max_record`` (:func:`agenttrace.wire.batch`, which also cuts a span too big for
one record) and pushed into the same shared-memory rings the UDP and Unix receivers
feed; the rings take several producers in turn through their claim word
(``docs/format/ring.md``). From there the worker -> WAL -> store path and its
guarantees are the datagrams' own.

All or nothing per request: before pushing, the datagrams are placed on the rings by
their free space (each ring keeps one ``max_record`` of slack, what a receiver or a
wrap may need); if they do not all fit, nothing is pushed and :class:`RingsFull` tells
the transport to answer "retry later" (HTTP 503 + Retry-After, gRPC
RESOURCE_EXHAUSTED). A push can still fail when a receive thread filled a ring between
the check and the push; then the rest is also refused with :class:`RingsFull` (the
client retries the whole request, so the part already pushed may be stored twice:
better than losing it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agenttrace import wire
from agenttrace.model import Span

__all__ = ["TRANSPORTS", "IngestStats", "RingsFull", "SpanSubmitter"]

TRANSPORTS = ("otlp_http", "otlp_grpc")
RETRY_AFTER_S = 1


class RingsFull(Exception):
    """No room in the rings for a whole request; nothing (or only a part, see the module
    docstring) was pushed. ``retry_after_s`` is what the client is told to wait."""

    def __init__(self, spans: int, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(f"the collector's rings are full; {spans} spans not accepted, retry in {retry_after_s} s")
        self.spans = spans
        self.retry_after_s = retry_after_s


@dataclass
class IngestStats:
    """Counters of the OTLP transports, kept in the main process (where they happen)
    and read by ``/metrics``: spans received and rejected, requests refused whole."""

    received: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TRANSPORTS, 0))
    rejected: dict[tuple[str, str], int] = field(default_factory=dict)  # (reason, transport) -> spans
    requests_rejected: dict[tuple[str, str], int] = field(default_factory=dict)  # (reason, transport)
    metric_points: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TRANSPORTS, 0))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_received(self, transport: str, n: int) -> None:
        with self._lock:
            self.received[transport] = self.received.get(transport, 0) + n

    def count_rejected(self, transport: str, reason: str, n: int) -> None:
        if n:
            with self._lock:
                key = (reason, transport)
                self.rejected[key] = self.rejected.get(key, 0) + n

    def count_request_rejected(self, transport: str, reason: str) -> None:
        with self._lock:
            key = (reason, transport)
            self.requests_rejected[key] = self.requests_rejected.get(key, 0) + 1

    def count_metric_points(self, transport: str, n: int) -> None:
        with self._lock:
            self.metric_points[transport] = self.metric_points.get(transport, 0) + n


def _record_size(n: int) -> int:
    return (4 + n + 7) & ~7  # docs/format/ring.md


class SpanSubmitter:
    """Push spans into ``rings()`` (called per request: the supervisor owns the rings).

    ``rings`` returns the current list of rings (empty while the collector starts or
    stops: then every request is refused as full)."""

    def __init__(self, rings: Callable[[], Sequence[Any]], stats: IngestStats | None = None) -> None:
        self._rings = rings
        self.stats = stats if stats is not None else IngestStats()
        self._sender_id = int.from_bytes(os.urandom(8), "little")
        self._seq = 0
        self._next = 0
        self._lock = threading.Lock()

    def submit(self, spans: Sequence[Span], transport: str) -> int:
        """Push every span, or raise :class:`RingsFull` (counted as rejected ``ring_full``).
        Returns the number of spans accepted (all of them)."""
        if not spans:
            return 0
        rings = list(self._rings())
        if not rings:
            self.stats.count_rejected(transport, "ring_full", len(spans))
            raise RingsFull(len(spans))
        max_record = min(r.max_record for r in rings)
        cut: dict[str, int] = {}
        with self._lock:
            seq = self._seq
            grams = wire.batch(spans, max_record, sender_id=self._sender_id, seq=seq, compress=False, stats=cut)
            self._seq = (seq + len(grams)) & 0xFFFFFFFF
            start = self._next
            self._next = (start + 1) % len(rings)
        unsendable = cut.get("oversize", 0) + cut.get("unencodable", 0)
        sent_spans = len(spans) - unsendable
        plan = self._place(grams, rings, start)
        if plan is None:
            self.stats.count_rejected(transport, "ring_full", sent_spans)
            self.stats.count_rejected(transport, "oversize", unsendable)
            raise RingsFull(sent_spans)
        for i, (gram, ring_index) in enumerate(plan):
            if rings[ring_index].push(gram):
                continue
            # A receive thread took the room: try the others before giving up.
            if any(r.push(gram) for j, r in enumerate(rings) if j != ring_index):
                continue
            left = sum(wire.decode_header(g).span_count for g, _ in plan[i:])
            self.stats.count_received(transport, sent_spans - left)
            self.stats.count_rejected(transport, "ring_full", left)
            raise RingsFull(left)
        self.stats.count_received(transport, sent_spans)
        self.stats.count_rejected(transport, "oversize", unsendable)
        return sent_spans

    @staticmethod
    def _place(grams: list[bytes], rings: Sequence[Any], start: int) -> list[tuple[bytes, int]] | None:
        free = []
        for ring in rings:
            cap = ring.capacity
            # Keep one max-size record of slack: a receive thread needs that much to take
            # anything, and a wrap may skip up to that much at the end of the area.
            free.append(cap - int(ring.fill() * cap) - 2 * _record_size(ring.max_record))
        n = len(rings)
        plan = []
        k = start
        for gram in grams:
            need = _record_size(len(gram))
            for step in range(n):
                j = (k + step) % n
                if free[j] >= need:
                    free[j] -= need
                    plan.append((gram, j))
                    k = j + 1
                    break
            else:
                return None
        return plan
