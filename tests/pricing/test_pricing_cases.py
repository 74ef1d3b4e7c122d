"""Hand-computed bills from providers' published prices (USD per 1M tokens).

Each case: the model string a span carries, its provider field and service tier, the
usage in AgentTrace's convention (input includes cache reads and writes; reasoning is
part of output), and the dollars a provider would bill, worked out by hand in the
comment. Each case runs through the real shipped catalogue and the real CostStage, so
a wrong catalogue price, a wrong match or wrong arithmetic all fail here.

Where the catalogue (LiteLLM 1.109.1 + our supplement) differs from the provider's
published price the comment says so ("NOTE").
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from agenttrace.model import Span, Usage
from agenttrace.pricing import CostStage, PriceOverride, breakdown
from agenttrace.sdk.integrations.anthropic import usage_from_anthropic
from agenttrace.sdk.integrations.openai import usage_from_openai

MICRO = Decimal("0.000001")


def U(inp: int = 0, out: int = 0, cr: int = 0, cw: int = 0, cw1h: int = 0, rsn: int = 0) -> Usage:
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=cr,
        cache_write_tokens=cw,
        cache_write_1h_tokens=cw1h,
        reasoning_tokens=rsn,
    )


# (id, model, provider, service_tier, usage, expected USD, expected catalogue entry)
CASES = [
    # --- OpenAI ------------------------------------------------------------------------
    # gpt-4o: in 2.50, out 10.00 -> 1,000*2.5/1M = 0.0025 + 500*10/1M = 0.005
    ("gpt-4o", "gpt-4o", "", "", U(1_000, 500), "0.0075", "gpt-4o"),
    # gpt-4o cached 1.25: fresh 6,000*2.5 = 0.015 + cached 4,000*1.25 = 0.005 + out 1,000*10 = 0.01
    ("gpt-4o-cached", "gpt-4o", "openai", "", U(10_000, 1_000, cr=4_000), "0.030", "gpt-4o"),
    # gpt-4o-mini 0.15/0.60, cached 0.075: 150,000*0.15 = 0.0225 + 50,000*0.075 = 0.00375 + 10,000*0.6 = 0.006
    ("gpt-4o-mini-cached", "gpt-4o-mini", "", "", U(200_000, 10_000, cr=50_000), "0.03225", "gpt-4o-mini"),
    # gpt-4o Batch API 1.25/5.00: 100,000*1.25 = 0.125 + 20,000*5 = 0.1
    ("gpt-4o-batch", "gpt-4o", "", "batch", U(100_000, 20_000), "0.225", "gpt-4o"),
    # o1 15/60; 2,500 reasoning tokens are part of the 3,000 output and bill at the output price:
    # 5,000*15 = 0.075 + 3,000*60 = 0.18
    ("o1-reasoning", "o1", "", "", U(5_000, 3_000, rsn=2_500), "0.255", "o1"),
    # o3 2/8, cached 0.5: fresh 10,000*2 = 0.02 + 2,000*0.5 = 0.001 + out (6,000 reasoning incl.) 8,000*8 = 0.064
    ("o3-reasoning-cached", "o3", "", "", U(12_000, 8_000, cr=2_000, rsn=6_000), "0.085", "o3"),
    # o3 Flex 1/4, cached 0.25: 10,000*1 = 0.01 + 2,000*0.25 = 0.0005 + 8,000*4 = 0.032
    ("o3-flex", "o3-2025-04-16", "", "flex", U(12_000, 8_000, cr=2_000, rsn=6_000), "0.0425", "o3-2025-04-16"),
    # o4-mini 1.10/4.40: 1,000,000*1.1 = 1.1 + 100,000*4.4 = 0.44
    ("o4-mini", "o4-mini", "", "", U(1_000_000, 100_000, rsn=80_000), "1.54", "o4-mini"),
    # gpt-4.1 2/8, cached 0.50: fresh 10,000*2 = 0.02 + 40,000*0.5 = 0.02 + 2,000*8 = 0.016
    ("gpt-4.1-cached", "gpt-4.1", "", "", U(50_000, 2_000, cr=40_000), "0.056", "gpt-4.1"),
    # gpt-4.1 Batch 1/4; NOTE: the catalogue has no batch cached-input price for gpt-4.1, so the
    # standard cached price 0.50 applies (LiteLLM's fallback; OpenAI's batch page may be lower):
    # 10,000*1 = 0.01 + 40,000*0.5 = 0.02 + 2,000*4 = 0.008
    ("gpt-4.1-batch-cached", "gpt-4.1", "", "batch", U(50_000, 2_000, cr=40_000), "0.038", "gpt-4.1"),
    # gpt-5 1.25/10, cached 0.125: 12,000*1.25 = 0.015 + 8,000*0.125 = 0.001 + 5,000*10 = 0.05
    ("gpt-5", "gpt-5", "", "", U(20_000, 5_000, cr=8_000, rsn=4_000), "0.066", "gpt-5"),
    # gpt-5 Priority 2.50/20, cached 0.25: 12,000*2.5 = 0.03 + 8,000*0.25 = 0.002 + 5,000*20 = 0.1
    ("gpt-5-priority", "gpt-5", "", "priority", U(20_000, 5_000, cr=8_000, rsn=4_000), "0.132", "gpt-5"),
    # gpt-5.4 2.50/15 up to 272k input: exactly 272,000 is not above: 272,000*2.5 = 0.68 + 1,000*15 = 0.015
    ("gpt-5.4-at-272k", "gpt-5.4", "", "", U(272_000, 1_000), "0.695", "gpt-5.4"),
    # gpt-5.4 above 272k: every token at 5/22.50: 272,001*5 = 1.360005 + 1,000*22.5 = 0.0225
    ("gpt-5.4-above-272k", "gpt-5.4", "", "", U(272_001, 1_000), "1.382505", "gpt-5.4"),
    # gpt-5.4 >272k with cache (cached 0.50): fresh 200,000*5 = 1.0 + 100,000*0.5 = 0.05 + 10,000*22.5 = 0.225
    ("gpt-5.4-272k-cached", "gpt-5.4", "", "", U(300_000, 10_000, cr=100_000), "1.275", "gpt-5.4"),
    # gpt-5.4 Batch >272k 2.50/11.25, cached 0.25: 200,000*2.5 = 0.5 + 100,000*0.25 = 0.025 + 10,000*11.25 = 0.1125
    ("gpt-5.4-272k-batch", "gpt-5.4", "", "batch", U(300_000, 10_000, cr=100_000), "0.6375", "gpt-5.4"),
    # gpt-5.4 Priority 5/30 at 272,000 input: 272,000*5 = 1.36 + 1,000*30 = 0.03
    ("gpt-5.4-priority-at-272k", "gpt-5.4", "", "priority", U(272_000, 1_000), "1.39", "gpt-5.4"),
    # Priority above 272k: the catalogue has no priority long-context price; the higher of priority
    # (5/30) and long-context (5/22.50) applies per kind, so output stays 30 (LiteLLM would use 22.50
    # and bill less for a longer prompt): 272,001*5 = 1.360005 + 1,000*30 = 0.03
    ("gpt-5.4-priority-above-272k", "gpt-5.4", "", "priority", U(272_001, 1_000), "1.390005", "gpt-5.4"),
    # text-embedding-3-small 0.02: 1,234,567*0.02/1M = 0.02469134 -> 0.024691
    ("embedding", "text-embedding-3-small", "openai", "", U(1_234_567), "0.02469134", "text-embedding-3-small"),
    # --- Anthropic (direct API) --------------------------------------------------------
    # claude-sonnet-4-5 3/15: 10,000*3 = 0.03 + 2,000*15 = 0.03
    ("sonnet-4.5", "claude-sonnet-4-5", "anthropic", "", U(10_000, 2_000), "0.06", "claude-sonnet-4-5"),
    # Anthropic usage: input_tokens=2,000 uncached, cache_read 50,000, cache_creation 10,000 of which
    # 1h 4,000 -> our input 62,000. fresh 2,000*3 = 0.006 + read 50,000*0.30 = 0.015
    # + 5m write 6,000*3.75 = 0.0225 + 1h write 4,000*6 = 0.024 + out 1,500*15 = 0.0225
    (
        "sonnet-4.5-cache-5m-1h",
        "claude-sonnet-4-5-20250929",
        "anthropic",
        "",
        # as the SDK converts Anthropic's own usage object
        usage_from_anthropic(
            {
                "input_tokens": 2_000,
                "output_tokens": 1_500,
                "cache_read_input_tokens": 50_000,
                "cache_creation_input_tokens": 10_000,
                "cache_creation": {"ephemeral_5m_input_tokens": 6_000, "ephemeral_1h_input_tokens": 4_000},
            }
        ),
        "0.09",
        "claude-sonnet-4-5-20250929",
    ),
    # Sonnet 4.5 above 200k input (1M context): 6/22.50, read 0.60. NOTE: LiteLLM 1.109.1 lists this tier
    # for Bedrock/Vertex but not the direct API; our supplement patches in Anthropic's published price.
    # fresh 150,000*6 = 0.9 + 100,000*0.6 = 0.06 + 5,000*22.5 = 0.1125
    ("sonnet-4.5-200k", "claude-sonnet-4-5", "", "", U(250_000, 5_000, cr=100_000), "1.0725", "claude-sonnet-4-5"),
    # exactly 200,000 input is not above the threshold: 200,000*3 = 0.6 + 1,000*15 = 0.015
    ("sonnet-4.5-at-200k", "claude-sonnet-4-5", "", "", U(200_000, 1_000), "0.615", "claude-sonnet-4-5"),
    # Message Batches 1.50/7.50: 100,000*1.5 = 0.15 + 10,000*7.5 = 0.075
    ("sonnet-4.5-batch", "claude-sonnet-4-5", "", "batch", U(100_000, 10_000), "0.225", "claude-sonnet-4-5"),
    # Batch cache read 0.15: fresh 40,000*1.5 = 0.06 + 60,000*0.15 = 0.009 + 10,000*7.5 = 0.075
    (
        "sonnet-4.5-batch-read",
        "claude-sonnet-4-5",
        "",
        "batch",
        U(100_000, 10_000, cr=60_000),
        "0.144",
        "claude-sonnet-4-5",
    ),
    # claude-opus-4-5 5/25, read 0.50, 1h write 10: fresh 5,000*5 = 0.025 + 20,000*0.5 = 0.01
    # + 1h write 5,000*10 = 0.05 + 3,000*25 = 0.075
    (
        "opus-4.5-1h",
        "claude-opus-4-5",
        "",
        "",
        U(30_000, 3_000, cr=20_000, cw=5_000, cw1h=5_000),
        "0.16",
        "claude-opus-4-5",
    ),
    # claude-opus-4-1 (supplement) 15/75, read 1.50, 5m write 18.75: fresh 2,000*15 = 0.03
    # + 8,000*1.5 = 0.012 + 2,000*18.75 = 0.0375 + 1,000*75 = 0.075
    ("opus-4.1", "claude-opus-4-1-20250805", "", "", U(12_000, 1_000, cr=8_000, cw=2_000), "0.1545", "claude-opus-4-1"),
    # claude-3-opus (supplement) 15/75 via the date-suffix rule: 1,000*15 = 0.015 + 1,000*75 = 0.075
    ("claude-3-opus", "claude-3-opus-20240229", "", "", U(1_000, 1_000), "0.09", "claude-3-opus"),
    # claude-sonnet-4 (supplement) above 200k: 300,000*6 = 1.8 + 2,000*22.5 = 0.045
    ("sonnet-4-200k", "claude-sonnet-4-20250514", "", "", U(300_000, 2_000), "1.845", "claude-sonnet-4"),
    # claude-haiku-4-5 1/5, read 0.10, write 1.25: fresh 0 + 90,000*0.1 = 0.009 + 10,000*1.25 = 0.0125
    # + 500*5 = 0.0025
    (
        "haiku-4.5-all-cached",
        "claude-haiku-4-5",
        "",
        "",
        U(100_000, 500, cr=90_000, cw=10_000),
        "0.024",
        "claude-haiku-4-5",
    ),
    # claude-3-5-haiku (supplement) 0.80/4: 10,000*0.8 = 0.008 + 1,000*4 = 0.004
    ("haiku-3.5", "claude-3-5-haiku-20241022", "", "", U(10_000, 1_000), "0.012", "claude-3-5-haiku"),
    # --- Google ------------------------------------------------------------------------
    # gemini-2.5-pro <=200k 1.25/10, cached 0.125 (thinking tokens bill as output):
    # fresh 60,000*1.25 = 0.075 + 40,000*0.125 = 0.005 + 5,000*10 = 0.05
    ("gemini-2.5-pro", "gemini-2.5-pro", "", "", U(100_000, 5_000, cr=40_000, rsn=3_000), "0.13", "gemini-2.5-pro"),
    # >200k 2.50/15, cached 0.25: fresh 200,000*2.5 = 0.5 + 50,000*0.25 = 0.0125 + 8,000*15 = 0.12
    ("gemini-2.5-pro-200k", "gemini-2.5-pro", "", "", U(250_000, 8_000, cr=50_000), "0.6325", "gemini-2.5-pro"),
    # Gemini API (provider google -> gemini/), Batch >200k 1.25/7.50, cached 0.25:
    # 200,000*1.25 = 0.25 + 50,000*0.25 = 0.0125 + 8,000*7.5 = 0.06
    (
        "gemini-2.5-pro-batch-200k",
        "gemini-2.5-pro",
        "google",
        "batch",
        U(250_000, 8_000, cr=50_000),
        "0.3225",
        "gemini/gemini-2.5-pro",
    ),
    # gemini-2.5-flash 0.30/2.50 (reasoning 2.50): 1,000,000*0.3 = 0.3 + 100,000*2.5 = 0.25
    ("gemini-2.5-flash", "gemini-2.5-flash", "", "", U(1_000_000, 100_000, rsn=60_000), "0.55", "gemini-2.5-flash"),
    # gemini-2.5-flash-lite 0.10/0.40, cached 0.01: 400,000*0.1 = 0.04 + 100,000*0.01 = 0.001 + 50,000*0.4 = 0.02
    (
        "gemini-flash-lite",
        "gemini-2.5-flash-lite",
        "",
        "",
        U(500_000, 50_000, cr=100_000),
        "0.061",
        "gemini-2.5-flash-lite",
    ),
    # gemini-2.5-flash Batch 0.15/1.25: 200,000*0.15 = 0.03 + 20,000*1.25 = 0.025
    ("gemini-flash-batch", "gemini-2.5-flash", "", "batch", U(200_000, 20_000), "0.055", "gemini-2.5-flash"),
    # --- AWS Bedrock ---------------------------------------------------------------------
    # us. (geo cross-region) profile is 10% above global: 3.30/16.50: 10,000*3.3 = 0.033 + 1,000*16.5 = 0.0165
    (
        "bedrock-us",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock",
        "",
        U(10_000, 1_000),
        "0.0495",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    # global. profile at the base price 3/15: 0.03 + 0.015
    (
        "bedrock-global",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "",
        "",
        U(10_000, 1_000),
        "0.045",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    # eu. 3.30/16.50, read 0.33, write 4.125: fresh 2,000*3.3 = 0.0066 + 10,000*0.33 = 0.0033
    # + 8,000*4.125 = 0.033 + 2,000*16.5 = 0.033
    (
        "bedrock-eu-cache",
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "",
        "",
        U(20_000, 2_000, cr=10_000, cw=8_000),
        "0.0759",
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    # us. above 200k 6.60/24.75, read 0.66: 150,000*6.6 = 0.99 + 100,000*0.66 = 0.066 + 2,000*24.75 = 0.0495
    (
        "bedrock-us-200k",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "",
        "",
        U(250_000, 2_000, cr=100_000),
        "1.1055",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    # An inference-profile ARN for us. Opus 4.5 5.50/27.50: 4,000*5.5 = 0.022 + 1,000*27.5 = 0.0275
    (
        "bedrock-arn",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-5-20251101-v1:0",
        "bedrock",
        "",
        U(4_000, 1_000),
        "0.0495",
        "us.anthropic.claude-opus-4-5-20251101-v1:0",
    ),
    # anthropic.claude-3-5-sonnet v2 on demand 3/15: 1,000,000*3 = 3 + 100,000*15 = 1.5
    (
        "bedrock-3.5-sonnet",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "bedrock",
        "",
        U(1_000_000, 100_000),
        "4.5",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
    ),
    # --- Azure OpenAI ----------------------------------------------------------------------
    # azure/gpt-4o 2.50/10, cached 1.25: 8,000*2.5 = 0.02 + 2,000*1.25 = 0.0025 + 1,000*10 = 0.01
    ("azure-gpt-4o", "azure/gpt-4o", "", "", U(10_000, 1_000, cr=2_000), "0.0325", "azure/gpt-4o"),
    # the span says provider azure and model gpt-4o: priced as azure/gpt-4o
    ("azure-hint", "gpt-4o", "azure", "", U(10_000, 1_000, cr=2_000), "0.0325", "azure/gpt-4o"),
    # a deployment name aliased (collector config) to the EU data-zone gpt-4o 2.75/11, cached 1.375:
    # 8,000*2.75 = 0.022 + 2,000*1.375 = 0.00275 + 1,000*11 = 0.011
    ("azure-alias", "prod-gpt4o-eu", "azure", "", U(10_000, 1_000, cr=2_000), "0.03575", "azure/eu/gpt-4o-2024-08-06"),
    # azure/o3 2/8 with reasoning: 10,000*2 = 0.02 + 10,000*8 = 0.08
    ("azure-o3", "azure/o3", "", "", U(10_000, 10_000, rsn=9_000), "0.1", "azure/o3"),
    # --- Mistral ---------------------------------------------------------------------------
    # mistral-large-latest (Large 3) 0.50/1.50: 100,000*0.5 = 0.05 + 10,000*1.5 = 0.015
    (
        "mistral-large",
        "mistral/mistral-large-latest",
        "",
        "",
        U(100_000, 10_000),
        "0.065",
        "mistral/mistral-large-latest",
    ),
    # provider hint mistral. NOTE: the catalogue prices mistral-small-latest at 0.15/0.60 (the newer
    # Small it now points at); Mistral Small 3.2 was published at 0.10/0.30.
    # 1,000,000*0.15 = 0.15 + 100,000*0.6 = 0.06
    (
        "mistral-small",
        "mistral-small-latest",
        "mistral",
        "",
        U(1_000_000, 100_000),
        "0.21",
        "mistral/mistral-small-latest",
    ),
    # --- DeepSeek --------------------------------------------------------------------------
    # deepseek-chat: cache miss 0.28, cache hit 0.028, out 0.42:
    # 20,000*0.28 = 0.0056 + 80,000*0.028 = 0.00224 + 2,000*0.42 = 0.00084
    ("deepseek-cache-hit", "deepseek-chat", "", "", U(100_000, 2_000, cr=80_000), "0.00868", "deepseek-chat"),
    # deepseek-reasoner with provider prefix: 10,000*0.28 = 0.0028 + 5,000*0.42 = 0.0021
    (
        "deepseek-reasoner",
        "deepseek/deepseek-reasoner",
        "",
        "",
        U(10_000, 5_000, rsn=4_000),
        "0.0049",
        "deepseek/deepseek-reasoner",
    ),
    # --- other names -----------------------------------------------------------------------
    # OpenRouter name with dots -> claude-3-5-sonnet (supplement 3/15): 1,000*3 = 0.003 + 100*15 = 0.0015
    (
        "openrouter",
        "openrouter/anthropic/claude-3.5-sonnet",
        "openrouter",
        "",
        U(1_000, 100),
        "0.0045",
        "claude-3-5-sonnet",
    ),
    # a user override for gpt-4o (negotiated 2/8, cached 1): 8,000*2 = 0.016 + 2,000*1 = 0.002 + 1,000*8 = 0.008
    ("override", "gpt-4o-override-me", "", "", U(10_000, 1_000, cr=2_000), "0.026", "gpt-4o-override-me"),
]

ALIASES = {"prod-gpt4o-eu": "azure/eu/gpt-4o-2024-08-06"}
OVERRIDES = {"gpt-4o-override-me": PriceOverride(input=2.0, output=8.0, cache_read=1.0)}


@pytest.fixture(scope="module")
def stage() -> CostStage:
    return CostStage(aliases=ALIASES, overrides=OVERRIDES)


def _span(model: str, provider: str, tier: str, usage: Usage) -> Span:
    return Span(
        trace_id=b"t" * 16,
        span_id=b"s" * 8,
        name="call",
        start_ns=0,
        end_ns=1,
        kind="llm",
        model=model,
        provider=provider,
        usage=usage,
        service_tier=tier,
    )


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("model", "provider", "tier", "usage", "expected", "entry"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bill(stage: CostStage, model: str, provider: str, tier: str, usage: Usage, expected: str, entry: str) -> None:
    m = stage.match(model, provider)
    assert m.found, f"{model} matched nothing"
    assert m.name == entry
    exact = breakdown(m.prices, usage, tier).total_usd
    assert exact.quantize(MICRO) == Decimal(expected).quantize(MICRO), breakdown(m.prices, usage, tier)
    span = _span(model, provider, tier, usage)
    stage([span])
    assert span.cost_source == ("override" if model == "gpt-4o-override-me" else "catalogue")
    assert round(span.cost_usd, 6) == float(Decimal(expected).quantize(MICRO))


def test_anthropic_cached_tokens_are_not_billed_twice(stage: CostStage) -> None:
    # Anthropic reports input_tokens WITHOUT the cache. Converted by the SDK, the 50,000 cached
    # tokens bill once, at 0.30: 2,000*3 + 50,000*0.3 per 1M = 0.021.
    prices = stage.match("claude-sonnet-4-5").prices
    usage = usage_from_anthropic({"input_tokens": 2_000, "cache_read_input_tokens": 50_000, "output_tokens": 0})
    assert usage.input_tokens == 52_000
    assert breakdown(prices, usage).total_usd == Decimal("0.021")


def test_openai_cached_tokens_are_not_billed_twice(stage: CostStage) -> None:
    # OpenAI's prompt_tokens already include cached_tokens: 10,000 prompt of which 4,000 cached,
    # and reasoning_tokens are inside completion_tokens: 6,000*2.5 + 4,000*1.25 + 1,000*10 per 1M.
    prices = stage.match("gpt-4o").prices
    chat = usage_from_openai(
        {
            "prompt_tokens": 10_000,
            "completion_tokens": 1_000,
            "prompt_tokens_details": {"cached_tokens": 4_000},
            "completion_tokens_details": {"reasoning_tokens": 600},
        }
    )
    responses = usage_from_openai(
        {
            "input_tokens": 10_000,
            "output_tokens": 1_000,
            "input_tokens_details": {"cached_tokens": 4_000},
            "output_tokens_details": {"reasoning_tokens": 600},
        }
    )
    assert chat == responses
    assert breakdown(prices, chat).total_usd == Decimal("0.03")
