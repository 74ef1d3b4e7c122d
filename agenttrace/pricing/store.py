"""Models seen in the store, and which of them the pricing matches nothing for.

Used by ``agenttrace pricing check`` and by ``agenttrace costs --unknown``. The models
are re-matched with the *current* catalogue and config, so adding an alias or an
override makes a model leave the list at once (spans already stored keep the
``cost_source`` they were given when they arrived).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from agenttrace.pricing.stage import CostStage, PricingConfig

__all__ = ["ModelSeen", "models_in_store", "unknown_models_in_store"]

_COLUMNS = ("model", "provider", "has_usage", "input_tokens", "output_tokens")


class ModelSeen(NamedTuple):
    model: str
    provider: str
    spans: int  # spans naming this model
    usage_spans: int  # of which carried token usage (the ones that need a price)
    tokens: int  # input + output tokens over those spans


def models_in_store(data_dir: str | os.PathLike[str]) -> list[ModelSeen]:
    """Every distinct ``(model, provider)`` of the sealed segments under ``data_dir``,
    with span and token counts, most spans first. Corrupt segments are skipped (the
    query engine lists them; ``agenttrace status`` reports them)."""
    from agenttrace.errors import StoreError
    from agenttrace.store.compaction import live_segments
    from agenttrace.store.reader import SegmentReader

    acc: dict[tuple[str, str], list[int]] = {}
    for info in live_segments(data_dir):
        try:
            cols = SegmentReader(info.path).read_columns(list(_COLUMNS))
        except (ValueError, StoreError):  # corrupt (a ValueError) or gone meanwhile: skip it, as queries do
            continue
        models = cols["model"]
        for i, model in enumerate(models):
            has_usage = bool(cols["has_usage"][i])
            if not model and not has_usage:
                continue  # a tool or agent span: nothing to price
            key = (model, cols["provider"][i])
            row = acc.get(key)
            if row is None:
                row = acc[key] = [0, 0, 0]
            row[0] += 1
            if has_usage:
                row[1] += 1
                row[2] += int(cols["input_tokens"][i] or 0) + int(cols["output_tokens"][i] or 0)
    out = [ModelSeen(m, p, *v) for (m, p), v in acc.items()]
    out.sort(key=lambda r: (-r.spans, r.model, r.provider))
    return out


def unknown_models_in_store(
    data_dir: str | os.PathLike[str],
    config: PricingConfig | Mapping[str, object] | None = None,
) -> list[tuple[str, int, int]]:
    """``(model, spans, tokens)`` for each model in the store that carries token usage but
    matches no catalogue entry, alias or override, most spans first. ``spans`` counts the
    spans with usage; a span without a model string is listed as ``"(none)"``."""
    stage = CostStage.from_config(config)
    acc: dict[str, list[int]] = {}
    for seen in models_in_store(data_dir):
        if not seen.usage_spans or stage.match(seen.model, seen.provider).found:
            continue
        row = acc.setdefault(seen.model or "(none)", [0, 0])
        row[0] += seen.usage_spans
        row[1] += seen.tokens
    return sorted(((m, s, t) for m, (s, t) in acc.items()), key=lambda r: (-r[1], r[0]))
