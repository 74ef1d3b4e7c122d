"""Properties: cost never decreases as any token count grows (under the token convention)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from agenttrace.model import Usage
from agenttrace.pricing import breakdown, cost_atto, default_catalogue

# Models with every kind of price: long-context tiers, batch/priority/flex, 1h writes, reasoning.
MODELS = [
    "gpt-5.4",
    "gpt-4o",
    "o3",
    "claude-sonnet-4-5",
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "deepseek-chat",
    "claude-3-opus",
]
TIERS = ["", "batch", "priority", "flex"]
N = st.integers(min_value=0, max_value=600_000)


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    cr, cw, fresh = draw(N), draw(N), draw(N)
    cw1h = draw(st.integers(0, cw))
    out = draw(N)
    return Usage(
        input_tokens=fresh + cr + cw,
        output_tokens=out,
        cache_read_tokens=cr,
        cache_write_tokens=cw,
        cache_write_1h_tokens=cw1h,
        reasoning_tokens=draw(st.integers(0, out)),
    )


def grow(u: Usage, part: str, k: int) -> Usage:
    """``u`` with ``k`` more tokens of ``part``, wholes grown with their parts (the convention)."""
    f = {name: getattr(u, name) for name in u.__struct_fields__}
    if part == "input_tokens":
        f["input_tokens"] += k
    elif part in ("cache_read_tokens", "cache_write_tokens"):
        f[part] += k
        f["input_tokens"] += k
    elif part == "cache_write_1h_tokens":
        f[part] += k
        f["cache_write_tokens"] += k
        f["input_tokens"] += k
    elif part == "output_tokens":
        f["output_tokens"] += k
    elif part == "reasoning_tokens":
        f["reasoning_tokens"] += k
        f["output_tokens"] += k
    return Usage(**f)


PARTS = [
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
]


@settings(max_examples=400, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    tier=st.sampled_from(TIERS),
    u=usages(),
    part=st.sampled_from(PARTS),
    k=st.integers(1, 300_000),
)
def test_cost_never_decreases(model: str, tier: str, u: Usage, part: str, k: int) -> None:
    prices = default_catalogue().get(model)
    assert prices is not None
    assert cost_atto(prices, grow(u, part, k), tier) >= cost_atto(prices, u, tier)


@settings(max_examples=200, deadline=None)
@given(model=st.sampled_from(MODELS), tier=st.sampled_from(TIERS), u=usages())
def test_breakdown_adds_up_and_bills_each_token_once(model: str, tier: str, u: Usage) -> None:
    prices = default_catalogue().get(model)
    b = breakdown(prices, u, tier)
    assert b.total_usd == Decimal(cost_atto(prices, u, tier)) / 10**18
    billed_in = sum(ln.tokens for ln in b.lines if ln.part in ("input", "cache_read", "cache_write", "cache_write_1h"))
    billed_out = sum(ln.tokens for ln in b.lines if ln.part in ("output", "reasoning"))
    assert (billed_in, billed_out) == (u.input_tokens, u.output_tokens)


def test_no_price_drops_above_a_threshold_for_any_model() -> None:
    # every model of the catalogue, every tier: a longer prompt never gets a cheaper token
    cat = default_catalogue()
    fields = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning")
    for name in cat.names():
        p = cat.get(name)
        for tier in ("", *p.tiers):
            prev = p.rates(0, tier)
            for t in sorted(p.thresholds):
                r = p.rates(t, tier)
                for f in fields:
                    assert getattr(r, f) >= getattr(prev, f), (name, tier, t, f)
                prev = r
