"""The price catalogue: the project's own compact file and its in-memory form.

File format (``catalogue.json``, ``format`` 1)::

    {
      "format": 1,
      "unit": "USD per 1M tokens",
      "kinds": {"i": "input", "o": "output", ...},        # short key -> price kind
      "source": {"file": ..., "litellm_version": ..., "sha256": ..., "entries": 4553},
      "built": "2026-11-22T02:30:00Z",
      "counts": {"models": ..., "from_source": ..., "supplement": ..., ...},
      "models": {
        "claude-sonnet-4-5": {"p": "anthropic", "m": "chat",
                              "c": {"i": "3", "o": "15", "cr": "0.3", "i/batch": "1.5", ...}},
        "claude-3-opus": {"p": "anthropic", "m": "chat", "c": {...},
                          "s": "supplement", "k": "2025-10-01"}
      }
    }

A price key is ``KIND[>THRESHOLD][/SERVICE_TIER]``: ``i`` is the input price,
``i>200k`` the input price of a request whose input exceeds 200,000 tokens,
``i/batch`` the batch-API input price, ``i>272k/priority`` both. Prices are
decimal strings in USD per million tokens, so ``"0.3"`` is exact (no float
rounding creeps into a bill). ``s``/``k`` mark entries that come from the
hand-kept supplement and the date their published price was checked.

The file is loaded lazily, once, with msgspec; prices are parsed into integers of
atto-dollars (1e-18 USD) per token only for the models that are actually matched.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from decimal import Decimal
from importlib import resources
from pathlib import Path

import msgspec

from agenttrace.paths import default_data_dir, system_config_dir

__all__ = [
    "CATALOGUE_FORMAT",
    "KINDS",
    "SERVICE_TIERS",
    "Catalogue",
    "CatalogueFile",
    "Entry",
    "ModelPrices",
    "Rates",
    "default_catalogue",
    "load_catalogue",
    "parse_price_key",
    "price_key",
    "update_target",
    "updated_catalogue_paths",
]

CATALOGUE_FORMAT = 1

# short key in the file -> the kind's name in the API, docs and `pricing show`
KINDS: dict[str, str] = {
    "i": "input",
    "o": "output",
    "cr": "cache_read",
    "cw": "cache_write",
    "cw1h": "cache_write_1h",
    "r": "reasoning",
    "ai": "audio_input",
    "ao": "audio_output",
    "acr": "audio_cache_read",
    "ii": "image_input",
    "io": "image_output",
}
KIND_KEYS: dict[str, str] = {v: k for k, v in KINDS.items()}
SERVICE_TIERS: tuple[str, ...] = ("batch", "priority", "flex")
# The names SDKs and providers use for a service tier, folded onto ours.
TIER_ALIASES: dict[str, str] = {
    "batch": "batch",
    "batches": "batch",
    "priority": "priority",
    "fast": "priority",
    "flex": "flex",
    "default": "",
    "standard": "",
    "auto": "",
    "on_demand": "",
    "": "",
}

# atto-dollars (1e-18 USD) per token in one USD per million tokens
_ATTO_PER_TOKEN_PER_MILLION = 10**12
_KEY_RE = re.compile(r"^(?P<kind>[a-z0-9]+)(?:>(?P<k>\d+)k)?(?:/(?P<tier>[a-z]+))?$")


def price_key(kind: str, threshold_k: int = 0, tier: str = "") -> str:
    """The file key of ``kind`` (short form) above ``threshold_k`` thousand tokens in ``tier``."""
    key = kind
    if threshold_k:
        key += f">{threshold_k}k"
    if tier:
        key += f"/{tier}"
    return key


def parse_price_key(key: str) -> tuple[str, int, str]:
    """Inverse of :func:`price_key`: ``"cr>200k/batch"`` -> ``("cr", 200, "batch")``."""
    m = _KEY_RE.match(key)
    if m is None or m["kind"] not in KINDS:
        raise ValueError(f"not a price key: {key!r}")
    return m["kind"], int(m["k"] or 0), m["tier"] or ""


class Entry(msgspec.Struct, omit_defaults=True):
    """One model as stored in the file."""

    c: dict[str, str]  # price key -> USD per 1M tokens, decimal string
    p: str = ""  # provider as the source names it (litellm_provider)
    m: str = ""  # mode: chat, embedding, completion, rerank, responses, ...
    s: str = ""  # "" = from the source file; "supplement" = hand-kept
    k: str = ""  # date the supplement's published price was checked


class CatalogueFile(msgspec.Struct, omit_defaults=True):
    """The whole file."""

    format: int
    models: dict[str, Entry]
    unit: str = "USD per 1M tokens"
    kinds: dict[str, str] = {}
    source: dict[str, str | int] = {}
    built: str = ""
    counts: dict[str, int] = {}
    supplement: dict[str, str] = {}


class Rates(msgspec.Struct, frozen=True, array_like=True):
    """The per-token prices (atto-dollars per token) one request is billed at, and the
    price key each came from (so ``pricing show`` can say which fallback applied)."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    cache_write_1h: int
    reasoning: int
    keys: tuple[str, str, str, str, str, str]
    threshold_k: int  # the long-context tier in force, 0 for none
    tier: str  # the service tier priced ("" for standard)


def _to_atto(per_million: str | Decimal) -> int:
    value = Decimal(per_million) * _ATTO_PER_TOKEN_PER_MILLION
    return int(value.to_integral_value())


class ModelPrices:
    """The prices of one model, with the fallback rules that turn them into :class:`Rates`.

    Fallbacks (documented in docs/pricing.md):
    - long-context tier: when the request's input tokens exceed a threshold the model
      has (strictly greater, as LiteLLM and the providers bill), every kind uses its
      ``>T`` price if it has one, else its ordinary price;
    - service tier: ``kind>T/tier``, then ``kind>T``, then ``kind/tier``, then ``kind``
      (LiteLLM's order: no discount is invented for a tier the source does not price),
      except that when ``kind>T/tier`` is missing but both ``kind>T`` and ``kind/tier``
      exist, the higher of the two applies;
    - above a threshold no kind costs less than below it (the source's gaps can suggest
      so; no provider bills that way): such a price is raised to the one below;
    - a kind with no price at all: cache read and cache write bill at the input price,
      the 1-hour cache write at the 5-minute one, reasoning at the output price.
    """

    __slots__ = ("_rates", "checked", "mode", "name", "prices", "provider", "source", "thresholds")

    def __init__(
        self,
        name: str,
        prices: dict[str, Decimal],
        *,
        provider: str = "",
        mode: str = "",
        source: str = "",
        checked: str = "",
    ) -> None:
        self.name = name
        self.prices = prices  # short price key -> USD per 1M tokens
        self.provider = provider
        self.mode = mode
        self.source = source
        self.checked = checked
        self.thresholds: tuple[int, ...] = tuple(
            sorted({parse_price_key(k)[1] for k in prices if ">" in k}, reverse=True)
        )
        self._rates: dict[tuple[int, str], Rates] = {}

    @classmethod
    def from_entry(cls, name: str, entry: Entry) -> ModelPrices:
        return cls(
            name,
            {k: Decimal(v) for k, v in entry.c.items()},
            provider=entry.p,
            mode=entry.m,
            source=entry.s,
            checked=entry.k,
        )

    def threshold_for(self, input_tokens: int) -> int:
        """The long-context threshold (thousands of tokens) a request of ``input_tokens`` falls
        above, 0 when none."""
        for t in self.thresholds:  # descending: the highest crossed threshold wins
            if input_tokens > t * 1000:
                return t
        return 0  # also when the model has no thresholds (most): the loop never runs

    def lookup(self, kind: str, threshold_k: int = 0, tier: str = "") -> tuple[Decimal, str] | None:
        """The price of ``kind`` (short key) with tier fallbacks, or None if the model has none."""
        get = self.prices.get
        if threshold_k and tier:
            key = price_key(kind, threshold_k, tier)
            if (price := get(key)) is not None:
                return price, key
            long_key, tier_key = price_key(kind, threshold_k), price_key(kind, 0, tier)
            long_price, tier_price = get(long_key), get(tier_key)
            if long_price is not None and tier_price is not None:
                # Neither says what this tier costs above the threshold. The higher of the
                # two keeps the bill from dropping as the input grows past the threshold
                # (gpt-5.4 priority is 30/1M output, its >272k standard price 22.50).
                if tier_price > long_price:
                    return tier_price, f"{tier_key} (no {kind}>{threshold_k}k/{tier} price; higher of two)"
                return long_price, f"{long_key} (no {kind}>{threshold_k}k/{tier} price; higher of two)"
        candidates = []
        if threshold_k:
            candidates.append(price_key(kind, threshold_k))
        if tier:
            candidates.append(price_key(kind, 0, tier))
        candidates.append(kind)
        for key in candidates:
            price = get(key)
            if price is not None:
                return price, key
        return None

    def rates(self, threshold_k: int = 0, tier: str = "") -> Rates:
        """Resolved per-token rates for a request in the given tiers (cached)."""
        cached = self._rates.get((threshold_k, tier))
        if cached is not None:
            return cached
        found: dict[str, tuple[Decimal, str]] = {}
        for kind in ("i", "o", "cr", "cw", "cw1h", "r"):
            hit = self.lookup(kind, threshold_k, tier)
            if hit is not None:
                found[kind] = hit
        zero = (Decimal(0), "none")
        inp = found.get("i", zero)
        out = found.get("o", zero)
        # Fallbacks: a missing cache price bills at the input price (never a free token),
        # a missing 1-hour write at the 5-minute write, missing reasoning at output.
        cr = found.get("cr") or (inp[0], f"{inp[1]} (no cache-read price)")
        cw = found.get("cw") or (inp[0], f"{inp[1]} (no cache-write price)")
        cw1h = found.get("cw1h") or (cw[0], f"{cw[1].split(' ')[0]} (no 1h cache-write price)")
        rsn = found.get("r") or (out[0], f"{out[1]} (no reasoning price)")
        picked = [inp, out, cr, cw, cw1h, rsn]
        if threshold_k:
            # Providers never charge less per token for a longer prompt, but the source's
            # gaps can make it look so (gemini-2.5-pro lists a 0.25 cache write above 200k
            # and none below, where the input price applies). Clamp each kind to the price
            # below the threshold, so a bill never drops as a prompt grows.
            lower = [t for t in self.thresholds if t < threshold_k]
            below = self.rates(lower[0] if lower else 0, tier)
            below_prices = (
                below.input,
                below.output,
                below.cache_read,
                below.cache_write,
                below.cache_write_1h,
                below.reasoning,
            )
            for i, (b, key) in enumerate(zip(below_prices, below.keys, strict=True)):
                if _to_atto(picked[i][0]) < b:
                    picked[i] = (Decimal(b) / _ATTO_PER_TOKEN_PER_MILLION, f"{key} (below-threshold price is higher)")
        rates = Rates(
            *(_to_atto(p) for p, _ in picked),
            keys=tuple(k for _, k in picked),  # type: ignore[arg-type]
            threshold_k=threshold_k,
            tier=tier,
        )
        self._rates[(threshold_k, tier)] = rates
        return rates

    @property
    def tiers(self) -> tuple[str, ...]:
        """Service tiers this model has any price for."""
        return tuple(t for t in SERVICE_TIERS if any(k.endswith("/" + t) for k in self.prices))

    def __repr__(self) -> str:
        return f"ModelPrices({self.name!r}, provider={self.provider!r}, {len(self.prices)} prices)"


class Catalogue:
    """A loaded catalogue: model name -> :class:`ModelPrices`, looked up case-insensitively."""

    def __init__(self, data: CatalogueFile, *, path: str = "") -> None:
        self.data = data
        self.path = path
        self._entries = data.models
        self._lower: dict[str, str] = {name.lower(): name for name in data.models}
        self._parsed: dict[str, ModelPrices] = {}

    @classmethod
    def from_bytes(cls, raw: bytes, *, path: str = "") -> Catalogue:
        data = msgspec.json.decode(raw, type=CatalogueFile)
        if data.format != CATALOGUE_FORMAT:
            raise ValueError(f"{path or 'catalogue'}: format {data.format} is not {CATALOGUE_FORMAT}")
        return cls(data, path=path)

    @classmethod
    def from_models(cls, models: dict[str, ModelPrices]) -> Catalogue:
        """A catalogue built in memory (tests, overrides)."""
        entries = {
            name: Entry(
                c={k: str(v) for k, v in mp.prices.items()},
                p=mp.provider,
                m=mp.mode,
                s=mp.source,
                k=mp.checked,
            )
            for name, mp in models.items()
        }
        return cls(CatalogueFile(format=CATALOGUE_FORMAT, models=entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower

    def names(self) -> list[str]:
        return list(self._entries)

    def canonical(self, name: str) -> str | None:
        """The stored spelling of ``name`` (any case), or None."""
        return self._lower.get(name.lower())

    def get(self, name: str) -> ModelPrices | None:
        """The prices of ``name`` (any case), or None."""
        real = self._lower.get(name.lower())
        if real is None:
            return None
        mp = self._parsed.get(real)
        if mp is None:
            mp = self._parsed[real] = ModelPrices.from_entry(real, self._entries[real])
        return mp

    @property
    def header(self) -> dict[str, object]:
        """Source, build date and counts, as written in the file."""
        return {
            "path": self.path,
            "format": self.data.format,
            "unit": self.data.unit,
            "source": dict(self.data.source),
            "built": self.data.built,
            "counts": dict(self.data.counts),
            "supplement": dict(self.data.supplement),
        }


def load_catalogue(path: str | Path) -> Catalogue:
    """Load a catalogue file written by ``agenttrace pricing update``."""
    p = Path(path)
    return Catalogue.from_bytes(p.read_bytes(), path=str(p))


def updated_catalogue_paths() -> list[Path]:
    """Where ``agenttrace pricing update`` leaves a catalogue, in the order they are read:
    the user's data directory (``<data dir>/pricing/catalogue.json``), then
    ``/etc/agenttrace/catalogue.json`` (written as root)."""
    return [default_data_dir() / "pricing" / "catalogue.json", system_config_dir() / "catalogue.json"]


def update_target(euid: int | None = None) -> Path:
    """Where ``pricing update`` writes without ``--out``: ``/etc/agenttrace`` as root, the
    user's data directory otherwise; never the installed package (site-packages may be
    read-only, and an upgrade would silently undo the update)."""
    euid = os.geteuid() if euid is None else euid
    paths = updated_catalogue_paths()
    return paths[1] if euid == 0 else paths[0]


@functools.cache
def default_catalogue() -> Catalogue:
    """The catalogue in use when the configuration names none (loaded once, on first
    use): the first of :func:`updated_catalogue_paths` that exists, else the one shipped
    with the package. A broken updated file is logged and skipped, never fatal."""
    for path in updated_catalogue_paths():
        if not path.is_file():
            continue
        try:
            return load_catalogue(path)
        except (OSError, ValueError) as exc:
            logging.getLogger("agenttrace.pricing").warning("ignoring the catalogue %s: %s", path, exc)
    ref = resources.files("agenttrace.pricing").joinpath("catalogue.json")
    return Catalogue.from_bytes(ref.read_bytes(), path=str(ref))
