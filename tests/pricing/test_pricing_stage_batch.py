"""The cost stage prices a mixed batch exactly as ``cost_atto`` prices each span alone.

The stage looks prices up once per (model, provider, service_tier) of a batch and
inlines the arithmetic; these tests hold it to the reference function, float for float.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_pricing_property import MODELS, TIERS, usages

from agenttrace.model import Span, Usage
from agenttrace.pricing import CostStage, cost_atto
from agenttrace.pricing.calculate import ATTO
from agenttrace.pricing.stage import PriceOverride

_STAGE = CostStage(overrides={"my-model": PriceOverride(input=2.5, output=10.0)})


@st.composite
def spans(draw: st.DrawFn) -> Span:
    return Span(
        trace_id=b"t" * 16,
        span_id=b"s" * 8,
        name="chat",
        start_ns=0,
        end_ns=1,
        kind="llm",
        model=draw(st.sampled_from([*MODELS, "my-model", "no-such-model", ""])),
        service_tier=draw(st.sampled_from([*TIERS, "Priority ", "scale"])),
        usage=draw(st.one_of(st.none(), usages(), st.builds(Usage, *([st.integers(-5, 10**6)] * 6)))),
        cost_usd=draw(st.one_of(st.none(), st.none(), st.floats(0, 10))),
    )


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(spans(), max_size=30))
def test_a_batch_is_priced_as_each_span_alone(batch: list[Span]) -> None:
    want = []
    priced = unknown = 0
    for s in batch:
        if s.cost_usd is not None:
            want.append((s.cost_usd, s.cost_source or "sdk"))
        elif s.usage is None:
            want.append((None, s.cost_source))
        else:
            m = _STAGE.match(s.model, s.provider)
            if m.prices is None:
                want.append((None, "unknown"))
                unknown += 1
            else:
                priced += 1
                want.append((cost_atto(m.prices, s.usage, s.service_tier) / ATTO, m.source))
    before = dict(_STAGE.stats())
    _STAGE(batch)
    assert [(s.cost_usd, s.cost_source) for s in batch] == want
    after = _STAGE.stats()
    assert after["priced"] - before["priced"] == priced
    assert after["unknown"] - before["unknown"] == unknown


def test_long_context_tiers_apply_per_span_within_one_group() -> None:
    """Two spans of one model and tier, either side of a long-context threshold."""
    stage = CostStage()
    small = Span(
        trace_id=b"t" * 16,
        span_id=b"a" * 8,
        name="c",
        start_ns=0,
        end_ns=1,
        model="gemini-2.5-pro",
        usage=Usage(input_tokens=100_000, output_tokens=10),
    )
    large = Span(
        trace_id=b"t" * 16,
        span_id=b"b" * 8,
        name="c",
        start_ns=0,
        end_ns=1,
        model="gemini-2.5-pro",
        usage=Usage(input_tokens=300_000, output_tokens=10),
    )
    stage([small, large])
    prices = stage.match("gemini-2.5-pro").prices
    assert prices is not None and prices.thresholds
    assert small.cost_usd == cost_atto(prices, small.usage) / ATTO
    assert large.cost_usd == cost_atto(prices, large.usage) / ATTO
    assert large.cost_usd > 3 * small.cost_usd  # billed at the >200k price, not the small one's
