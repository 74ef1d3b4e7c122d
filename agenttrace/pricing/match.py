"""Model-name matching: from the string a span carries to a catalogue entry.

Real model strings rarely equal a catalogue key: ``openrouter/anthropic/claude-3.5-sonnet``,
``us.anthropic.claude-sonnet-4-5-20250929-v1:0``, ``claude-sonnet-4-20250514``, an Azure
deployment called ``prod-gpt4o``. The matcher tries the name as given, then passes it
through a short pipeline of normalisers, looking it up after each step; the first hit
wins. The order is documented in docs/pricing.md and each rule has a test:

1. ``alias``          user alias (collector config ``[pricing.aliases]``), on the name as given
2. ``override``       user price override for the (aliased) name
3. ``provider-hint``  ``{provider}/{name}`` when the span names its provider
4. ``exact``          the name, case-insensitively
5. ``arn``            a Bedrock ARN reduced to its model or inference-profile id
6. ``strip-prefix``   leading ``provider/`` path segments removed one at a time
7. ``bedrock-region`` a Bedrock geography prefix (``us.``, ``eu.``, ``apac.``, ``global.``) removed
8. ``bedrock-vendor`` the vendor prefix (``anthropic.``) and version suffix (``-v1:0``) removed
9. ``dots``           version dots as dashes (``claude-3.5-sonnet`` -> ``claude-3-5-sonnet``)
10. ``date-suffix``   a date or ``-latest`` suffix removed (``-20250929``, ``-2024-08-06``,
                      ``@20240620``), falling back to the undated family

Results are cached per distinct ``(model, provider)`` pair in a bounded dict, since the
collector calls this for every LLM span but sees few distinct names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from agenttrace.pricing.catalogue import Catalogue, ModelPrices

__all__ = ["RULES", "Match", "Matcher", "candidates"]

RULES: tuple[str, ...] = (
    "alias",
    "override",
    "provider-hint",
    "exact",
    "arn",
    "strip-prefix",
    "bedrock-region",
    "bedrock-vendor",
    "dots",
    "date-suffix",
)

# span.provider values -> the path prefix the catalogue uses for that provider's entries
PROVIDER_PREFIXES: dict[str, str] = {
    "azure_openai": "azure",
    "azure-openai": "azure",
    "aws": "bedrock",
    "aws_bedrock": "bedrock",
    "aws-bedrock": "bedrock",
    "vertex": "vertex_ai",
    "vertexai": "vertex_ai",
    "google_vertex": "vertex_ai",
    "google": "gemini",
    "google_genai": "gemini",
    "google-genai": "gemini",
    "together": "together_ai",
    "fireworks": "fireworks_ai",
    "mistralai": "mistral",
}
# Providers whose models the catalogue lists bare (no prefix): a hint adds nothing.
_BARE_PROVIDERS = frozenset({"", "openai", "anthropic"})

_ARN_RE = re.compile(r"^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:[a-z-]+/(?P<id>.+)$")
_REGION_RE = re.compile(r"^(?:us|eu|apac|ap|global|jp|au|ca|uk|us-gov)\.(?=[a-z0-9-]+\.)")
_VENDOR_RE = re.compile(r"^(?:anthropic|meta|amazon|mistral|cohere|ai21|deepseek|qwen|openai|writer|twelvelabs)\.")
_VERSION_RE = re.compile(r"-v\d+(?::\d+)?$")
_DOTS_RE = re.compile(r"(?<=\d)\.(?=\d)")
_DATE_RE = re.compile(r"(?:[-@](?:\d{8}|\d{4}-\d{2}-\d{2})|-latest)$")

_CACHE_MAX = 4096


def _arn(name: str) -> str | None:
    m = _ARN_RE.match(name)
    return m["id"] if m else None


def _bedrock_region(name: str) -> str | None:
    new = _REGION_RE.sub("", name, count=1)
    return new if new != name else None


def _bedrock_vendor(name: str) -> str | None:
    new = _VERSION_RE.sub("", _VENDOR_RE.sub("", name, count=1))
    return new if new != name else None


def _dots(name: str) -> str | None:
    new = _DOTS_RE.sub("-", name)
    return new if new != name else None


def _date_suffix(name: str) -> str | None:
    new = _DATE_RE.sub("", name)
    return new if new != name and new else None


# Single-step normalisers, applied cumulatively in this order.
_STEPS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    ("arn", _arn),
    ("bedrock-region", _bedrock_region),
    ("bedrock-vendor", _bedrock_vendor),
    ("dots", _dots),
    ("date-suffix", _date_suffix),
)


def candidates(model: str, provider: str = "") -> list[tuple[str, str]]:
    """Every ``(rule, name)`` the matcher looks up for ``model``, in order (no aliases or
    overrides: those depend on config). Useful to see why a name does or does not match."""
    name = model.strip().lower()
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(rule: str, cand: str) -> None:
        if cand and cand not in seen:
            seen.add(cand)
            out.append((rule, cand))

    prov = provider.strip().lower()
    prefix = PROVIDER_PREFIXES.get(prov, prov)
    if prov not in _BARE_PROVIDERS and "/" not in name and not name.startswith("arn:"):
        add("provider-hint", f"{prefix}/{name}")
    add("exact", name)
    current = name
    for rule, step in _STEPS:
        if rule == "bedrock-region":
            # leading path segments go first: "bedrock/us-east-1/anthropic.claude-..."
            while "/" in current:
                current = current.split("/", 1)[1]
                add("strip-prefix", current)
        new = step(current)
        if new is not None:
            current = new
            add(rule, current)
    return out


class Match:
    """The outcome of matching one ``(model, provider)``.

    ``prices`` is None when nothing matched; ``source`` is ``"catalogue"``,
    ``"override"`` or ``"unknown"``; ``rules`` is the chain that led there, e.g.
    ``("alias", "exact")``; ``name`` the catalogue key (or override key) hit.
    """

    __slots__ = ("model", "name", "prices", "provider", "rules", "source")

    def __init__(
        self, model: str, provider: str, name: str, prices: ModelPrices | None, rules: tuple[str, ...], source: str
    ) -> None:
        self.model = model
        self.provider = provider
        self.name = name
        self.prices = prices
        self.rules = rules
        self.source = source

    @property
    def found(self) -> bool:
        return self.prices is not None

    def __repr__(self) -> str:
        return f"Match({self.model!r} -> {self.name!r} via {'/'.join(self.rules)}, {self.source})"


class Matcher:
    """Matches model strings against a catalogue, user aliases and user overrides.

    ``aliases`` maps a model string (a deployment name, a proxy's name) to the name to
    price it as; ``overrides`` maps a model name to :class:`ModelPrices` that replace the
    catalogue's. Keys of both are case-insensitive.

    >>> from agenttrace.pricing import default_catalogue
    >>> m = Matcher(default_catalogue()).match("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    >>> m.name, m.rules
    ('us.anthropic.claude-sonnet-4-5-20250929-v1:0', ('exact',))
    """

    def __init__(
        self,
        catalogue: Catalogue,
        aliases: Mapping[str, str] | None = None,
        overrides: Mapping[str, ModelPrices] | None = None,
        *,
        cache_size: int = _CACHE_MAX,
    ) -> None:
        self.catalogue = catalogue
        self.aliases = {k.strip().lower(): v for k, v in (aliases or {}).items()}
        self.overrides = {k.strip().lower(): v for k, v in (overrides or {}).items()}
        self._cache: dict[tuple[str, str], Match] = {}
        self._cache_size = cache_size

    def match(self, model: str, provider: str = "") -> Match:
        """The :class:`Match` for ``model`` (cached per distinct ``(model, provider)``)."""
        key = (model, provider)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self._match(model, provider)
        if len(self._cache) >= self._cache_size:
            # A flood of distinct names (a bug upstream) must not grow memory without bound;
            # dropping the whole cache keeps this O(1) and the common names come back at once.
            self._cache.clear()
        self._cache[key] = result
        return result

    def _match(self, model: str, provider: str) -> Match:
        name = model.strip().lower()
        rules: tuple[str, ...] = ()
        target = self.aliases.get(name)
        if target is None and "/" in name:
            target = self.aliases.get(name.rsplit("/", 1)[1])
        if target is not None:
            rules = ("alias",)
            name = target.strip().lower()
        override = self.overrides.get(name)
        if override is not None:
            return Match(model, provider, name, override, (*rules, "override"), "override")
        for rule, cand in candidates(name, provider):
            prices = self.catalogue.get(cand)
            if prices is not None:
                override = self.overrides.get(prices.name.lower())
                if override is not None:
                    return Match(model, provider, prices.name, override, (*rules, rule, "override"), "override")
                return Match(model, provider, prices.name, prices, (*rules, rule), "catalogue")
        return Match(model, provider, "", None, (*rules, "none"), "unknown")

    def clear_cache(self) -> None:
        self._cache.clear()
