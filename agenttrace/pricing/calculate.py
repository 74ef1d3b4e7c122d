"""Cost of one model call from its token usage and the model's prices.

Token convention (DESIGN.md): ``input_tokens`` counts every input token, so cache reads
and cache writes are *parts* of it, and ``reasoning_tokens`` is a part of
``output_tokens``. The bill is therefore::

    fresh input  = input - cache_read - cache_write          at the input price
    cache read   = cache_read                                at the cache-read price
    cache write  = cache_write - cache_write_1h              at the 5-minute write price
    1h write     = cache_write_1h                            at the 1-hour write price
    text output  = output - reasoning                        at the output price
    reasoning    = reasoning                                 at the reasoning price

Each token is billed exactly once (no double-billing of cached input). A request whose
``input_tokens`` exceed a long-context threshold of the model (200k, 272k, ...) is billed
entirely at that tier's prices. Arithmetic is in integers of atto-dollars (1e-18 USD), so
totals are exact; :func:`cost_usd` rounds to a float only at the end.

Usage that breaks the convention is read leniently rather than billed negative: parts
larger than their whole raise the whole (``input`` is taken as at least
``cache_read + cache_write``, ``output`` as at least ``reasoning``).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from agenttrace.model import Usage
from agenttrace.pricing.catalogue import TIER_ALIASES, ModelPrices, Rates

__all__ = [
    "ATTO",
    "CostBreakdown",
    "CostLine",
    "bill_atto",
    "breakdown",
    "cost_atto",
    "cost_usd",
    "normalise_tier",
    "rates_for",
]

ATTO = 10**18  # atto-dollars per dollar
_MILLION_ATTO = Decimal(10**12)  # atto-dollars per token in one USD per million tokens


def normalise_tier(service_tier: str) -> str:
    """A span's ``service_tier`` as a catalogue tier: ``"batch"``, ``"priority"``, ``"flex"``
    or ``""`` (standard). Unrecognised tiers are priced as standard."""
    if not service_tier:
        return ""
    tier = TIER_ALIASES.get(service_tier)
    return tier if tier is not None else TIER_ALIASES.get(service_tier.strip().lower(), "")


def _split(usage: Usage) -> tuple[int, int, int, int, int, int, int]:
    """(total input, fresh input, cache read, 5m write, 1h write, text output, reasoning).

    Written with conditionals rather than max(): this runs for every LLM span."""
    cr = usage.cache_read_tokens
    if cr < 0:
        cr = 0
    cw1h = usage.cache_write_1h_tokens
    if cw1h < 0:
        cw1h = 0
    cw = usage.cache_write_tokens
    if cw < cw1h:
        cw = cw1h
    total_in = usage.input_tokens
    if total_in < cr + cw:
        total_in = cr + cw
    rsn = usage.reasoning_tokens
    if rsn < 0:
        rsn = 0
    out = usage.output_tokens
    if out < rsn:
        out = rsn
    return total_in, total_in - cr - cw, cr, cw - cw1h, cw1h, out - rsn, rsn


def rates_for(prices: ModelPrices, usage: Usage, service_tier: str = "") -> Rates:
    """The :class:`Rates` a request with ``usage`` is billed at."""
    total_in = _split(usage)[0]
    return prices.rates(prices.threshold_for(total_in), normalise_tier(service_tier))


def cost_atto(prices: ModelPrices, usage: Usage, service_tier: str = "") -> int:
    """Exact cost in atto-dollars (1e-18 USD)."""
    return bill_atto(usage, prices, normalise_tier(service_tier))


def bill_atto(usage: Usage, prices: ModelPrices, tier: str, fixed: Rates | None = None) -> int:
    """The bill formula (the module docstring's), in atto-dollars: the one place cost is
    computed from tokens. ``tier`` is already normalised; ``fixed`` are the rates to use
    when the model has no long-context thresholds (the cost stage looks them up once per
    batch), else they are chosen by the input size.

    Runs for every LLM span a collector stores, so :func:`_split` is inlined here."""
    cr = usage.cache_read_tokens
    if cr < 0:
        cr = 0
    cw1h = usage.cache_write_1h_tokens
    if cw1h < 0:
        cw1h = 0
    cw = usage.cache_write_tokens
    if cw < cw1h:
        cw = cw1h
    total_in = usage.input_tokens
    if total_in < cr + cw:
        total_in = cr + cw
    rsn = usage.reasoning_tokens
    if rsn < 0:
        rsn = 0
    out = usage.output_tokens
    if out < rsn:
        out = rsn
    r = fixed if fixed is not None else prices.rates(prices.threshold_for(total_in), tier)
    return (
        (total_in - cr - cw) * r.input
        + cr * r.cache_read
        + (cw - cw1h) * r.cache_write
        + cw1h * r.cache_write_1h
        + (out - rsn) * r.output
        + rsn * r.reasoning
    )


def cost_usd(prices: ModelPrices, usage: Usage, service_tier: str = "") -> float:
    """Cost in US dollars as a float (exact up to the float's precision)."""
    return cost_atto(prices, usage, service_tier) / ATTO


class CostLine(msgspec.Struct):
    """One priced part of a bill."""

    part: str  # input, cache_read, cache_write, cache_write_1h, output, reasoning
    tokens: int
    usd_per_million: Decimal
    usd: Decimal
    price_key: str  # the catalogue key used, with the fallback that applied if any


class CostBreakdown(msgspec.Struct):
    """An itemised bill: what ``pricing show --usage`` and the tests print."""

    model: str
    total_usd: Decimal
    lines: list[CostLine]
    threshold_k: int  # long-context tier applied (0: none)
    service_tier: str  # tier priced ("" standard)


def breakdown(prices: ModelPrices, usage: Usage, service_tier: str = "") -> CostBreakdown:
    """Itemise the bill of one request; ``total_usd`` equals :func:`cost_atto` exactly."""
    total_in, fresh, cr, cw5, cw1h, text_out, rsn = _split(usage)
    r = prices.rates(prices.threshold_for(total_in), normalise_tier(service_tier))
    parts = (
        ("input", fresh, r.input, r.keys[0]),
        ("cache_read", cr, r.cache_read, r.keys[2]),
        ("cache_write", cw5, r.cache_write, r.keys[3]),
        ("cache_write_1h", cw1h, r.cache_write_1h, r.keys[4]),
        ("output", text_out, r.output, r.keys[1]),
        ("reasoning", rsn, r.reasoning, r.keys[5]),
    )
    lines = [
        CostLine(
            part=name,
            tokens=n,
            usd_per_million=Decimal(rate) / _MILLION_ATTO,
            usd=Decimal(n * rate) / ATTO,
            price_key=key,
        )
        for name, n, rate, key in parts
        if n
    ]
    total = sum((line.usd for line in lines), Decimal(0))
    return CostBreakdown(
        model=prices.name, total_usd=total, lines=lines, threshold_k=r.threshold_k, service_tier=r.tier
    )
