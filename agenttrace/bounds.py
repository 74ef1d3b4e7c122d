"""The documented range of every numeric field of a Span, and the guard that enforces it.

A span is whatever a sender put in a datagram: msgpack carries integers from -2**63 to
2**64-1 and floats including NaN and ±inf. Left alone, one such value crashes a
counter snapshot (a token sum past 2**64), turns a cost series into NaN for good, or
breaks an export. So the collector's worker passes every decoded batch through
:func:`sanitize_batch` once, before enrichment, the WAL and the metrics; the WAL replay
does the same, so a replayed span is stored exactly as it was the first time.

Ranges (also the table in ``docs/format/wire.md``):

=====================================  ============================  ==========================
field                                  range                         outside it
=====================================  ============================  ==========================
``start_ns``                           0 ≤ t ≤ now + ``MAX_SKEW_NS`` span rejected
``end_ns``                             start_ns ≤ t ≤ now + skew     clamped to ``start_ns``
``usage.*_tokens``                     0 ≤ n ≤ ``MAX_TOKENS``        clamped to 0 / MAX_TOKENS
``cost_usd``                           finite, 0 ≤ c ≤ ``MAX_COST``  set to None (unknown)
``status``                             0, 1, 2                       set to 0 (unset)
``events[].time_ns``                   0 ≤ t ≤ now + skew            set to ``start_ns``
=====================================  ============================  ==========================

A clamped value is counted as ``(field, reason)``, a rejected span as ``reason``; the
collector publishes them as ``agenttrace_spans_sanitized_total{field,reason}`` and
``agenttrace_spans_dropped_total{reason}``.

>>> from agenttrace.model import Span, Usage
>>> s = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=10, end_ns=5,
...          usage=Usage(input_tokens=2**64 - 1), cost_usd=float("nan"))
>>> fixes = sanitize_batch([(b"", [s])], now_ns=100)
>>> s.end_ns, s.usage.input_tokens == MAX_TOKENS, s.cost_usd
(10, True, None)
>>> sorted(fixes.sanitized.items())
[(('cost_usd', 'not_finite'), 1), (('end_ns', 'end_before_start'), 1), (('input_tokens', 'too_large'), 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agenttrace.model import Span

__all__ = [
    "MAX_COST_USD",
    "MAX_SKEW_NS",
    "MAX_TOKENS",
    "REJECT_REASONS",
    "SANITIZE_KEYS",
    "TOKEN_FIELDS",
    "Fixes",
    "clamp_tokens",
    "sanitize_batch",
]

# 2**32 - 1 tokens in one span is far beyond any model call, and small enough that 2**31
# such spans still sum below 2**63: the rollups' signed 64-bit varints and the counter
# snapshot's u64 cannot overflow in practice.
MAX_TOKENS = 2**32 - 1
# No single model call costs a million dollars; a larger figure is a unit mistake or poison.
MAX_COST_USD = 1_000_000.0
# Clocks disagree; a day of skew is generous, more means a bogus timestamp.
MAX_SKEW_NS = 86_400 * 10**9

TOKEN_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cache_write_1h_tokens",
)

# Every (field, reason) a value can be sanitized for, in a fixed order (counter slots).
SANITIZE_KEYS: tuple[tuple[str, str], ...] = (
    *((f, r) for f in TOKEN_FIELDS for r in ("negative", "too_large")),
    ("cost_usd", "negative"),
    ("cost_usd", "too_large"),
    ("cost_usd", "not_finite"),
    ("end_ns", "end_before_start"),
    ("end_ns", "in_future"),
    ("status", "out_of_range"),
    ("event_time_ns", "out_of_range"),
)
REJECT_REASONS: tuple[str, ...] = ("start_negative", "start_in_future")


class Fixes:
    """What :func:`sanitize_batch` changed: ``sanitized[(field, reason)]`` and ``rejected[reason]`` counts."""

    __slots__ = ("rejected", "sanitized")

    def __init__(self) -> None:
        self.sanitized: dict[tuple[str, str], int] = {}
        self.rejected: dict[str, int] = {}

    def fix(self, field: str, reason: str) -> None:
        key = (field, reason)
        self.sanitized[key] = self.sanitized.get(key, 0) + 1

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


def clamp_tokens(n: int) -> int:
    """``n`` limited to ``0..MAX_TOKENS`` (the SDK uses it before it sends)."""
    return 0 if n < 0 else MAX_TOKENS if n > MAX_TOKENS else n


def sanitize_batch(good: Sequence[tuple[Any, list[Span]]], now_ns: int) -> Fixes | None:
    """Bring every span of a decoded batch into range, in place; return what was changed,
    or None when nothing was (the common case, which allocates nothing).

    ``good`` is ``decode_batch``'s list of ``(raw, spans)``; a rejected span is removed
    from its ``spans`` list."""
    max_t = now_ns + MAX_SKEW_NS
    max_tok = MAX_TOKENS
    max_cost = MAX_COST_USD
    fixes: Fixes | None = None
    for _, spans in good:
        reject_any = False
        for s in spans:
            # One chained test per span on the hot path: every comparison with NaN is
            # False, so a NaN cost falls through to the slow path as well.
            u = s.usage
            c = s.cost_usd
            if (
                0 <= s.start_ns <= s.end_ns <= max_t
                and 0 <= s.status <= 2
                and (
                    u is None
                    or (
                        0 <= u.input_tokens <= max_tok
                        and 0 <= u.output_tokens <= max_tok
                        and 0 <= u.cache_read_tokens <= max_tok
                        and 0 <= u.cache_write_tokens <= max_tok
                        and 0 <= u.reasoning_tokens <= max_tok
                        and 0 <= u.cache_write_1h_tokens <= max_tok
                    )
                )
                and (c is None or 0.0 <= c <= max_cost)
                and (not s.events or all(0 <= e.time_ns <= max_t for e in s.events))
            ):
                continue
            if fixes is None:
                fixes = Fixes()
            if not _fix_span(s, max_t, fixes):
                reject_any = True
        if reject_any:
            spans[:] = [s for s in spans if 0 <= s.start_ns <= max_t]
    return fixes


def _fix_span(s: Span, max_t: int, fixes: Fixes) -> bool:
    """The slow path: fix what is out of range; False when the span must be rejected."""
    start = s.start_ns
    if start < 0:
        fixes.reject("start_negative")
        return False
    if start > max_t:
        fixes.reject("start_in_future")
        return False
    if s.end_ns < start:
        s.end_ns = start
        fixes.fix("end_ns", "end_before_start")
    elif s.end_ns > max_t:
        s.end_ns = start
        fixes.fix("end_ns", "in_future")
    if not 0 <= s.status <= 2:
        s.status = 0
        fixes.fix("status", "out_of_range")
    u = s.usage
    if u is not None:
        for name in TOKEN_FIELDS:
            n = getattr(u, name)
            if n < 0:
                setattr(u, name, 0)
                fixes.fix(name, "negative")
            elif n > MAX_TOKENS:
                setattr(u, name, MAX_TOKENS)
                fixes.fix(name, "too_large")
    c = s.cost_usd
    if c is not None and not 0.0 <= c <= MAX_COST_USD:
        # Unknown rather than a made-up figure; the cost stage may still price the usage.
        s.cost_usd = None
        s.cost_source = ""
        fixes.fix("cost_usd", "not_finite" if c != c or c in (_INF, -_INF) else "negative" if c < 0 else "too_large")
    for ev in s.events:
        if not 0 <= ev.time_ns <= max_t:
            ev.time_ns = start
            fixes.fix("event_time_ns", "out_of_range")
    return True


_INF = float("inf")
