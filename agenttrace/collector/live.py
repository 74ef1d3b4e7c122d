"""The live view's contract: ``GET /api/v1/live`` returns one :class:`LiveSnapshot`.

The collector's main process samples its shared-memory counters once per second
into a small ring of samples (:class:`LiveHistory`); a request only encodes the
newest snapshot, so polling four times a second costs nothing measurable.

Rates are per second over ``window_s`` (the span between the two newest samples,
about one second); totals are since the collector started. ``history_spans_per_s``
holds up to 120 one-second rates, oldest first, for a sparkline.

    >>> import msgspec
    >>> snap = LiveSnapshot(time=0.0, uptime_s=0.0, window_s=1.0)
    >>> msgspec.json.decode(msgspec.json.encode(snap), type=LiveSnapshot).spans_per_s
    0.0
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from typing import Any

import msgspec

__all__ = ["TOKEN_TYPES", "LiveHistory", "LiveSnapshot", "LiveWorker", "TokenRates"]

TOKEN_TYPES: tuple[str, ...] = ("input", "output", "cache_read", "cache_write", "reasoning")


class TokenRates(msgspec.Struct, kw_only=True):
    """Tokens per second by type (same convention as :class:`agenttrace.model.Usage`)."""

    input: float = 0.0
    output: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0
    reasoning: float = 0.0


class LiveWorker(msgspec.Struct, kw_only=True):
    """One worker process as the supervisor sees it."""

    id: int
    pid: int | None = None
    alive: bool = False
    restarts: int = 0


class LiveSnapshot(msgspec.Struct, kw_only=True):
    """What ``agenttrace top`` shows; JSON of ``GET /api/v1/live``."""

    time: float  # Unix seconds when the newest sample was taken
    uptime_s: float
    window_s: float  # seconds between the two samples the rates come from
    spans_per_s: float = 0.0  # spans stored per second
    datagrams_per_s: float = 0.0  # datagrams received per second (all transports)
    stored_total: int = 0  # spans stored since start
    received_total: int = 0  # datagrams received since start
    dropped_total: int = 0  # datagrams dropped since start (all reasons)
    lost_total: int = 0  # datagrams lost (sender sequence gaps) since start
    dropped_by_reason: dict[str, int] = {}
    spans_per_s_by_kind: dict[str, float] = {}
    errors_per_s_by_kind: dict[str, float] = {}
    tokens_per_s: TokenRates = msgspec.field(default_factory=TokenRates)
    cost_per_min_by_model: dict[str, float] = {}  # USD per minute
    cost_total_usd: float = 0.0
    ring_fill: list[float] = []  # 0.0 .. 1.0 per worker
    workers: list[LiveWorker] = []
    store_bytes: int = 0
    segments: int = 0
    history_spans_per_s: list[float] = []  # up to 120 one-second rates, oldest first
    warnings: list[str] = []  # what the collector warned about at start (agenttrace status shows them)


class LiveHistory:
    """The last ``size`` one-second samples of the collector's totals, and the
    :class:`LiveSnapshot` computed from them. ``sample`` takes anything shaped like
    :class:`agenttrace.collector.metrics.Totals`."""

    def __init__(self, size: int = 121, *, started_at: float | None = None) -> None:
        self.size = size
        self.samples: deque[Any] = deque(maxlen=size)
        self.started_at = time.time() if started_at is None else started_at
        self.workers: list[LiveWorker] = []
        self._latest: LiveSnapshot | None = None
        self.warnings: list[str] = []

    def sample(self, totals: Any, workers: list[LiveWorker] | None = None) -> LiveSnapshot:
        self.samples.append(totals)
        if workers is not None:
            self.workers = workers
        self._latest = self._compute()
        return self._latest

    def snapshot(self) -> LiveSnapshot:
        if self._latest is None:
            return LiveSnapshot(
                time=time.time(), uptime_s=time.time() - self.started_at, window_s=0.0, warnings=list(self.warnings)
            )
        return self._latest

    def _compute(self) -> LiveSnapshot:
        cur = self.samples[-1]
        prev = self.samples[-2] if len(self.samples) > 1 else None
        window = (cur.time - prev.time) if prev is not None else 0.0

        def rate(a: float, b: float) -> float:
            return max(0.0, (a - b) / window) if window > 0 else 0.0

        by_kind, err_kind = _by_kind(cur)
        tokens = _tokens(cur)
        cost_model = _cost_by_model(cur)
        snap = LiveSnapshot(
            time=cur.time,
            uptime_s=cur.time - self.started_at,
            window_s=window,
            stored_total=cur.spans_stored,
            received_total=cur.received,
            dropped_total=cur.dropped,
            lost_total=cur.lost,
            dropped_by_reason={k: v for k, v in cur.dropped_by_reason.items() if v},
            cost_total_usd=sum(cost_model.values()),
            ring_fill=list(cur.ring_fill),
            workers=list(self.workers),
            store_bytes=cur.store_bytes,
            segments=cur.segments,
            warnings=list(self.warnings),
        )
        if prev is not None:
            snap.spans_per_s = rate(cur.spans_stored, prev.spans_stored)
            snap.datagrams_per_s = rate(cur.received, prev.received)
            p_kind, p_err = _by_kind(prev)
            snap.spans_per_s_by_kind = {k: rate(v, p_kind.get(k, 0)) for k, v in by_kind.items()}
            snap.errors_per_s_by_kind = {k: rate(v, p_err.get(k, 0)) for k, v in err_kind.items()}
            p_tok = _tokens(prev)
            snap.tokens_per_s = TokenRates(**{t: rate(tokens[t], p_tok[t]) for t in TOKEN_TYPES})
            p_cost = _cost_by_model(prev)
            snap.cost_per_min_by_model = {m: 60 * rate(v, p_cost.get(m, 0.0)) for m, v in cost_model.items()}
        samples = list(self.samples)
        snap.history_spans_per_s = [
            max(0.0, (b.spans_stored - a.spans_stored) / (b.time - a.time)) if b.time > a.time else 0.0
            for a, b in itertools.pairwise(samples)
        ][-120:]
        return snap


def _by_kind(t: Any) -> tuple[dict[str, int], dict[str, int]]:
    spans: dict[str, int] = {}
    errors: dict[str, int] = {}
    for (_service, kind, _model, status), n in t.spans.items():
        spans[kind] = spans.get(kind, 0) + n
        if status == "error":
            errors[kind] = errors.get(kind, 0) + n
    return spans, errors


def _tokens(t: Any) -> dict[str, int]:
    out = dict.fromkeys(TOKEN_TYPES, 0)
    for (_service, _model, typ), n in t.tokens.items():
        if typ in out:
            out[typ] += n
    return out


def _cost_by_model(t: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for (_service, model), usd in t.cost.items():
        out[model] = out.get(model, 0.0) + usd
    return out
