"""Hand-kept prices the source file lacks.

Two kinds of entry, both merged by ``agenttrace pricing update`` into the catalogue:

- **models** the source no longer lists but agents (and our demo seeds) still name,
  e.g. ``claude-3-opus`` or ``claude-sonnet-4``; dated names such as
  ``claude-sonnet-4-20250514`` reach these through the matcher's date-suffix rule;
- **patches**: prices the source omits for a model it does list (Anthropic's direct
  API bills Sonnet 4.5 above 200k input tokens at the long-context price, which the
  source has for Bedrock and Vertex but not for ``claude-sonnet-4-5`` itself).

Prices are USD per million tokens as the provider publishes them, with the date they
were last checked against the provider's price page. A source entry always wins over a
supplement *model* of the same name (the source is newer); a *patch* only adds keys the
source entry lacks.
"""

from __future__ import annotations

__all__ = ["CHECKED", "PATCHES", "SUPPLEMENT", "SupplementModel"]

from typing import TypedDict


class SupplementModel(TypedDict):
    provider: str
    mode: str
    checked: str  # YYYY-MM-DD the published price was last checked
    url: str
    prices: dict[str, str]  # price key (catalogue short form) -> USD per 1M tokens


CHECKED = "2025-10-01"
_ANTHROPIC = "https://www.anthropic.com/pricing#api"


def _anthropic(inp: str, out: str, cw: str, cw1h: str, cr: str, batch_in: str, batch_out: str) -> dict[str, str]:
    # Anthropic: 5-minute cache write 1.25x input, 1-hour write 2x input, cache read 0.1x
    # input; Message Batches API half price.
    return {"i": inp, "o": out, "cw": cw, "cw1h": cw1h, "cr": cr, "i/batch": batch_in, "o/batch": batch_out}


def _model(prices: dict[str, str], provider: str = "anthropic", url: str = _ANTHROPIC) -> SupplementModel:
    return {"provider": provider, "mode": "chat", "checked": CHECKED, "url": url, "prices": prices}


_SONNET = _anthropic("3", "15", "3.75", "6", "0.3", "1.5", "7.5")
# Sonnet 4 / 4.5 with the 1M-context beta: a request above 200k input tokens is billed
# entirely at these prices.
_SONNET_LONG = {"i>200k": "6", "o>200k": "22.5", "cw>200k": "7.5", "cw1h>200k": "12", "cr>200k": "0.6"}
_OPUS_4 = _anthropic("15", "75", "18.75", "30", "1.5", "7.5", "37.5")

SUPPLEMENT: dict[str, SupplementModel] = {
    "claude-3-opus": _model(_anthropic("15", "75", "18.75", "30", "1.5", "7.5", "37.5")),
    "claude-3-haiku": _model(_anthropic("0.25", "1.25", "0.3", "0.5", "0.03", "0.125", "0.625")),
    "claude-3-5-sonnet": _model(_SONNET),
    "claude-3-5-haiku": _model(_anthropic("0.8", "4", "1", "1.6", "0.08", "0.4", "2")),
    "claude-3-7-sonnet": _model(_SONNET),
    "claude-sonnet-4": _model({**_SONNET, **_SONNET_LONG}),
    "claude-opus-4": _model(_OPUS_4),
    "claude-opus-4-1": _model(_OPUS_4),
}

PATCHES: dict[str, dict[str, str]] = {
    "claude-sonnet-4-5": _SONNET_LONG,
    "claude-sonnet-4-5-20250929": _SONNET_LONG,
}
