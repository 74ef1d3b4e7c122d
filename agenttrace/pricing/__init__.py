"""Cost attribution: the model price catalogue, the name matcher and the collector stage.

>>> from agenttrace.pricing import CostStage, default_catalogue, Matcher
>>> Matcher(default_catalogue()).match("openrouter/anthropic/claude-3.5-sonnet").name
'claude-3-5-sonnet'

Import cost matters (the collector imports this in every worker): the catalogue file is
read on first use, not at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

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


def unknown_models_in_store(
    data_dir: str | os.PathLike[str], config: PricingConfig | Mapping[str, object] | None = None
) -> list[tuple[str, int, int]]:
    """``(model, spans, tokens)`` for each model in the store at ``data_dir`` whose spans
    carry usage but match no price (with ``config``'s aliases and overrides), most spans
    first. Imported lazily: it needs the store, which the SDK side does not."""
    from agenttrace.pricing.store import unknown_models_in_store as impl

    return impl(data_dir, config)
