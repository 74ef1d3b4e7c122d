"""CostStage: which spans get a cost, where it came from, unknown models counted."""

from __future__ import annotations

import msgspec
import pytest

from agenttrace.errors import ConfigError
from agenttrace.model import Span, Usage
from agenttrace.pricing import CostStage, PriceOverride, PricingConfig, load_pricing_config
from agenttrace.pricing.stage import UNKNOWN_MODELS_MAX


def span(model: str = "gpt-4o", usage: Usage | None = None, **kw: object) -> Span:
    return Span(
        trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=0, end_ns=1, kind="llm", model=model, usage=usage, **kw
    )


def test_usage_gets_a_catalogue_cost() -> None:
    s = span(usage=Usage(input_tokens=1_000_000, output_tokens=1_000_000))
    CostStage()([s])
    assert s.cost_usd == 12.5  # 2.50 + 10.00 per 1M
    assert s.cost_source == "catalogue"


def test_sdk_cost_is_kept() -> None:
    s = span(usage=Usage(input_tokens=1_000_000), cost_usd=0.42)
    stage = CostStage()
    stage([s])
    assert (s.cost_usd, s.cost_source) == (0.42, "sdk")
    assert stage.stats() == {"priced": 0, "sdk": 1, "unknown": 0}


def test_sdk_cost_without_usage_is_marked_sdk() -> None:
    s = span(model="", cost_usd=0.01)
    CostStage()([s])
    assert s.cost_source == "sdk"


def test_no_usage_no_cost() -> None:
    s = span()
    CostStage()([s])
    assert (s.cost_usd, s.cost_source) == (None, "")


def test_unknown_model_is_never_a_silent_zero() -> None:
    stage = CostStage()
    spans = [span("acme-llm-7", Usage(input_tokens=10)) for _ in range(3)] + [span("", Usage(output_tokens=1))]
    stage(spans)
    assert all(s.cost_usd is None and s.cost_source == "unknown" for s in spans)
    assert stage.unknown_models == {"acme-llm-7": 3, "(none)": 1}
    assert stage.stats()["unknown"] == 4


def test_unknown_models_counter_is_capped() -> None:
    stage = CostStage()
    stage([span(f"m-{i}", Usage(input_tokens=1)) for i in range(UNKNOWN_MODELS_MAX + 5)])
    assert len(stage.unknown_models) == UNKNOWN_MODELS_MAX + 1
    assert stage.unknown_models["other"] == 5


def test_zero_token_usage_costs_zero_but_is_priced() -> None:
    s = span(usage=Usage())
    CostStage()([s])
    assert (s.cost_usd, s.cost_source) == (0.0, "catalogue")


def test_override_and_alias_from_config_dict() -> None:
    # the collector hands the [pricing] table over as a dict
    stage = CostStage.from_config(
        {
            "aliases": {"prod-chat": "in-house"},
            "overrides": {"in-house": {"input": 1, "output": 2}},
        }
    )
    s = span("prod-chat", Usage(input_tokens=1_000_000, output_tokens=500_000, cache_read_tokens=200_000))
    stage([s])
    # cache reads fall back to the input price: 800k*1 + 200k*1 + 500k*2 per 1M
    assert (s.cost_usd, s.cost_source) == (2.0, "override")


def test_override_fallbacks() -> None:
    o = PriceOverride(input=4, output=10, cache_write=5, reasoning=20).to_prices("x")
    r = o.rates()
    assert (r.cache_read, r.cache_write, r.cache_write_1h, r.reasoning) == (
        4 * 10**12,
        5 * 10**12,
        5 * 10**12,
        20 * 10**12,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"overrides": {"m": {"input": -1, "output": 1}}},
        {"overrides": {"m": {"output": 1}}},
        {"overrides": {"m": {"input": 1, "output": 1, "cache_reed": 1}}},
        {"aliasses": {}},
    ],
)
def test_bad_config_is_a_config_error(bad: dict) -> None:
    with pytest.raises(ConfigError):
        CostStage.from_config(bad)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(bad, PricingConfig, strict=False)


def test_catalogue_path_in_config(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"pricing\.catalogue"):
        CostStage.from_config({"catalogue": str(tmp_path / "missing.json")})


def test_load_pricing_config_from_toml(tmp_path) -> None:
    p = tmp_path / "collector.toml"
    p.write_text(
        '[collector]\nworkers = 2\n\n[pricing.aliases]\n"prod-gpt4o" = "azure/gpt-4o"\n\n'
        '[pricing.overrides."gpt-4o"]\ninput = 2.0\noutput = 8.0\n'
    )
    cfg = load_pricing_config(p)
    assert cfg.aliases == {"prod-gpt4o": "azure/gpt-4o"}
    assert cfg.overrides["gpt-4o"].output == 8.0


def test_service_tier_aliases() -> None:
    std = span(usage=Usage(input_tokens=1_000_000))
    batch = span(usage=Usage(input_tokens=1_000_000), service_tier="Batch")
    weird = span(usage=Usage(input_tokens=1_000_000), service_tier="scale")
    CostStage()([std, batch, weird])
    assert (std.cost_usd, batch.cost_usd, weird.cost_usd) == (2.5, 1.25, 2.5)
