"""The collector's cost enrichment stage and its configuration.

``CostStage`` is a stage in the sense of docs/architecture.md: ``stage(spans)`` edits
spans in place. For each span:

- with a ``cost_usd`` already (the SDK supplied it): kept, ``cost_source = "sdk"``;
- with ``usage`` and a model that matches: ``cost_usd`` set, ``cost_source`` is
  ``"catalogue"`` or ``"override"``;
- with ``usage`` and a model that matches nothing: ``cost_usd`` stays ``None`` (never a
  silent $0), ``cost_source = "unknown"`` and ``stage.unknown_models[model]`` counts it;
- without ``usage``: untouched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import msgspec

from agenttrace.errors import ConfigError
from agenttrace.labels import LabelCap
from agenttrace.model import CostSource, Span
from agenttrace.pricing.calculate import ATTO, bill_atto, normalise_tier
from agenttrace.pricing.catalogue import Catalogue, ModelPrices, default_catalogue, load_catalogue
from agenttrace.pricing.match import Match, Matcher

__all__ = ["UNKNOWN_MODELS_MAX", "CostStage", "PriceOverride", "PricingConfig"]

# Distinct unknown model names counted one by one; more than this fold into "other"
# (the model string is user data: a bug upstream must not grow memory or metrics unboundedly).
UNKNOWN_MODELS_MAX = 1000
_MISSING = object()

Price = Annotated[float, msgspec.Meta(ge=0)]


class PriceOverride(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A user's price for one model, USD per million tokens (e.g. a negotiated rate).

    ``input`` and ``output`` are required; a missing cache-read or cache-write price bills
    at ``input``, a missing 1-hour write at ``cache_write``, missing reasoning at
    ``output``. An override replaces the catalogue entry as a whole (no long-context or
    service tiers), so what you write is what is billed.
    """

    input: Price
    output: Price
    cache_read: Price | None = None
    cache_write: Price | None = None
    cache_write_1h: Price | None = None
    reasoning: Price | None = None

    def to_prices(self, name: str) -> ModelPrices:
        fields = {
            "i": self.input,
            "o": self.output,
            "cr": self.cache_read,
            "cw": self.cache_write,
            "cw1h": self.cache_write_1h,
            "r": self.reasoning,
        }
        # str() of a TOML float is its shortest repr, so 2.5 stays exactly 2.5
        prices = {k: Decimal(str(v)) for k, v in fields.items() if v is not None}
        return ModelPrices(name, prices, provider="override", mode="chat", source="override")


class PricingConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The ``[pricing]`` table of the collector's TOML config.

    ```toml
    [pricing]
    catalogue = "/etc/agenttrace/prices.json"   # optional: built by `agenttrace pricing update`

    [pricing.aliases]                            # deployment or proxy name -> catalogue model
    "prod-gpt4o" = "azure/gpt-4o"
    "my-claude" = "claude-sonnet-4-5"

    [pricing.overrides."gpt-4o"]                 # USD per million tokens
    input = 2.0
    output = 8.0
    cache_read = 1.0
    ```
    """

    aliases: dict[str, str] = {}
    overrides: dict[str, PriceOverride] = {}
    catalogue: str = ""  # path of a catalogue file; "" = the one shipped with the package

    def load_catalogue(self) -> Catalogue:
        if not self.catalogue:
            return default_catalogue()
        try:
            return load_catalogue(self.catalogue)
        except (OSError, ValueError) as exc:
            raise ConfigError("pricing.catalogue", self.catalogue, f"a readable catalogue file ({exc})") from None


class CostStage:
    """Enrichment stage that prices spans: ``stage(spans)`` edits them in place.

    >>> from agenttrace.model import Span, Usage
    >>> stage = CostStage()
    >>> s = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="chat", start_ns=0, end_ns=1,
    ...          kind="llm", model="gpt-4o", usage=Usage(input_tokens=1000, output_tokens=100))
    >>> stage([s])
    >>> round(s.cost_usd, 6), s.cost_source
    (0.0035, 'catalogue')
    """

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        aliases: Mapping[str, str] | None = None,
        overrides: Mapping[str, PriceOverride] | None = None,
    ) -> None:
        self.catalogue = catalogue if catalogue is not None else default_catalogue()
        self.matcher = Matcher(
            self.catalogue,
            aliases=aliases,
            overrides={name: o.to_prices(name) for name, o in (overrides or {}).items()},
        )
        self.unknown_models: Counter[str] = Counter()
        self._unknown_cap = LabelCap(UNKNOWN_MODELS_MAX)
        self.priced = 0  # spans given a cost here
        self.sdk = 0  # spans that arrived with a cost
        self.unknown = 0  # spans with usage whose model matched nothing

    @classmethod
    def from_config(cls, config: PricingConfig | Mapping[str, object] | None = None) -> CostStage:
        """Build from the collector's ``[pricing]`` table (a :class:`PricingConfig` or its dict)."""
        if config is None:
            config = PricingConfig()
        elif not isinstance(config, PricingConfig):
            try:
                config = msgspec.convert(config, PricingConfig, strict=False)
            except msgspec.ValidationError as exc:
                raise ConfigError("pricing", config, str(exc)) from None
        return cls(config.load_catalogue(), config.aliases, config.overrides)

    def match(self, model: str, provider: str = "") -> Match:
        """The cached match for a model string (what ``pricing show`` explains)."""
        return self.matcher.match(model, provider)

    def __call__(self, spans: Iterable[Span]) -> None:
        # The hot path of every worker: the match, normalised tier and (for a model
        # without long-context tiers) the rates looked up once per (model, provider,
        # service_tier) of the batch, then calculate.bill_atto per span: the very
        # arithmetic of cost_atto, so the floats are the same (tests compare them exactly).
        groups: dict[tuple[str, str, str], tuple | None] = {}
        sdk_source = CostSource.SDK.value
        unknown_source = CostSource.UNKNOWN.value
        bill = bill_atto  # a local: one dict lookup less per span
        priced = 0
        try:
            for span in spans:
                if span.cost_usd is not None:
                    if not span.cost_source:
                        span.cost_source = sdk_source
                        self.sdk += 1
                    continue
                usage = span.usage
                if usage is None:
                    continue
                key = (span.model, span.provider, span.service_tier)
                group = groups.get(key, _MISSING)
                if group is _MISSING:
                    group = groups[key] = self._group(*key)
                if group is None:
                    span.cost_source = unknown_source
                    self.unknown += 1
                    self._count_unknown(span.model)
                    continue
                prices, source, tier, fixed = group
                span.cost_usd = bill(usage, prices, tier, fixed) / ATTO
                span.cost_source = source
                priced += 1
        finally:
            # spans priced before a span that raises count too
            self.priced += priced

    def _group(self, model: str, provider: str, service_tier: str) -> tuple | None:
        """(prices, cost source, normalised tier, rates if they never depend on the input
        size) for spans of one (model, provider, service_tier); None when unpriced."""
        m = self.matcher.match(model, provider)
        if m.prices is None:
            return None
        tier = normalise_tier(service_tier)
        fixed = m.prices.rates(0, tier) if not m.prices.thresholds else None
        return m.prices, m.source, tier, fixed

    def _count_unknown(self, model: str) -> None:
        self.unknown_models[self._unknown_cap(model or "(none)")] += 1

    def stats(self) -> dict[str, int]:
        """Span counts by where their cost came from."""
        return {"priced": self.priced, "sdk": self.sdk, "unknown": self.unknown}


def load_pricing_config(path: str | Path) -> PricingConfig:
    """The ``[pricing]`` table of a collector TOML file (for the CLI, outside the collector)."""
    import tomllib

    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("config", str(p), f"a readable TOML file ({exc})", source=str(p)) from None
    table = raw.get("pricing", {})
    try:
        return msgspec.convert(table, PricingConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError("pricing", table, str(exc), source=str(p)) from None
