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

import msgspec

__all__ = ["TOKEN_TYPES", "LiveSnapshot", "LiveWorker", "TokenRates"]

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
