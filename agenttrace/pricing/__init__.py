"""Cost attribution: the model price catalogue, the name matcher and the collector stage.

>>> from agenttrace.pricing import CostStage, default_catalogue, Matcher
>>> Matcher(default_catalogue()).match("openrouter/anthropic/claude-3.5-sonnet").name
'claude-3-5-sonnet'

Import cost matters (the collector imports this in every worker): the catalogue file is
read on first use, not at import.
"""

from __future__ import annotations

from agenttrace.pricing.calculate import CostBreakdown, CostLine, breakdown, cost_atto, cost_usd, normalise_tier
from agenttrace.pricing.catalogue import Catalogue, ModelPrices, default_catalogue, load_catalogue
from agenttrace.pricing.match import RULES, Match, Matcher, candidates
from agenttrace.pricing.stage import CostStage, PriceOverride, PricingConfig, load_pricing_config

__all__ = [
    "RULES",
    "Catalogue",
    "CostBreakdown",
    "CostLine",
    "CostStage",
    "Match",
    "Matcher",
    "ModelPrices",
    "PriceOverride",
    "PricingConfig",
    "breakdown",
    "candidates",
    "cost_atto",
    "cost_usd",
    "default_catalogue",
    "load_catalogue",
    "load_pricing_config",
    "normalise_tier",
    "unknown_models_in_store",
]


def unknown_models_in_store(data_dir, config=None):  # type: ignore[no-untyped-def]
    """See :func:`agenttrace.pricing.store.unknown_models_in_store` (imported lazily: it
    needs the store)."""
    from agenttrace.pricing.store import unknown_models_in_store as impl

    return impl(data_dir, config)
