"""Name matching: one test per rule of docs/pricing.md, against the shipped catalogue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agenttrace.pricing import RULES, Matcher, ModelPrices, candidates, default_catalogue


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(default_catalogue())


def _hit(matcher: Matcher, model: str, provider: str = "") -> tuple[str, tuple[str, ...]]:
    m = matcher.match(model, provider)
    assert m.found, f"{model!r} matched nothing"
    return m.name, m.rules


def test_exact(matcher: Matcher) -> None:
    assert _hit(matcher, "gpt-4o") == ("gpt-4o", ("exact",))
    assert _hit(matcher, "claude-sonnet-4-5-20250929") == ("claude-sonnet-4-5-20250929", ("exact",))


def test_exact_is_case_and_space_insensitive(matcher: Matcher) -> None:
    assert _hit(matcher, "  GPT-4o ") == ("gpt-4o", ("exact",))


@pytest.mark.parametrize(
    ("model", "provider", "entry"),
    [
        ("gpt-4o", "azure", "azure/gpt-4o"),
        ("gpt-4o", "azure_openai", "azure/gpt-4o"),
        ("gemini-2.5-pro", "google", "gemini/gemini-2.5-pro"),
        ("claude-sonnet-4-5", "vertex_ai", "vertex_ai/claude-sonnet-4-5"),
        ("mistral-large-latest", "mistral", "mistral/mistral-large-latest"),
        ("deepseek-chat", "deepseek", "deepseek/deepseek-chat"),
    ],
)
def test_provider_hint(matcher: Matcher, model: str, provider: str, entry: str) -> None:
    assert _hit(matcher, model, provider) == (entry, ("provider-hint",))


def test_provider_hint_falls_back_to_bare_name(matcher: Matcher) -> None:
    # no "someproxy/gpt-4o" entry: the bare name still prices it
    assert _hit(matcher, "gpt-4o", "someproxy") == ("gpt-4o", ("exact",))


def test_openai_and_anthropic_hints_add_nothing(matcher: Matcher) -> None:
    assert candidates("gpt-4o", "openai")[0] == ("exact", "gpt-4o")
    assert candidates("claude-sonnet-4-5", "anthropic")[0] == ("exact", "claude-sonnet-4-5")


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("openai/gpt-4o", "gpt-4o"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("bedrock/us-east-1/anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ("litellm_proxy/openai/gpt-4.1", "gpt-4.1"),
    ],
)
def test_strip_prefix(matcher: Matcher, model: str, entry: str) -> None:
    name, rules = _hit(matcher, model)
    assert name == entry
    assert rules == ("strip-prefix",)


def test_prefixed_entry_wins_over_stripping(matcher: Matcher) -> None:
    # azure/eu/... is its own entry (data-zone price, 10% above global): no stripping happens
    assert _hit(matcher, "azure/eu/gpt-4o-2024-08-06") == ("azure/eu/gpt-4o-2024-08-06", ("exact",))
    eu = matcher.match("azure/eu/gpt-4o-2024-08-06").prices
    plain = matcher.match("gpt-4o-2024-08-06").prices
    assert eu.prices["i"] > plain.prices["i"]


def test_arn(matcher: Matcher) -> None:
    arn = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert _hit(matcher, arn) == ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", ("arn",))
    fm = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert _hit(matcher, fm) == ("anthropic.claude-3-5-sonnet-20240620-v1:0", ("arn",))


def test_bedrock_regional_prefix_exact_when_listed(matcher: Matcher) -> None:
    # us./eu./global. profiles are listed with their own (geo +10%) prices: matched exactly
    for region in ("us", "eu", "global"):
        name = f"{region}.anthropic.claude-sonnet-4-5-20250929-v1:0"
        assert _hit(matcher, name) == (name, ("exact",))
    us = matcher.match("us.anthropic.claude-sonnet-4-5-20250929-v1:0").prices
    glob = matcher.match("global.anthropic.claude-sonnet-4-5-20250929-v1:0").prices
    assert us.prices["i"] == Decimal("3.3") and glob.prices["i"] == Decimal("3")


def test_bedrock_region(matcher: Matcher) -> None:
    # apac. has no entry for Opus 4.5: the regional prefix is removed
    assert _hit(matcher, "apac.anthropic.claude-opus-4-5-20251101-v1:0") == (
        "anthropic.claude-opus-4-5-20251101-v1:0",
        ("bedrock-region",),
    )


def test_bedrock_vendor_and_version(matcher: Matcher) -> None:
    # anthropic.claude-haiku-4-5-...-v7:0 is not listed: vendor prefix and version suffix go
    name, rules = _hit(matcher, "anthropic.claude-opus-4-1-20250805-v1:0")
    assert name in ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1")
    name, rules = _hit(matcher, "anthropic.claude-haiku-4-5-20251001-v7:0")
    assert (name, rules) == ("claude-haiku-4-5-20251001", ("bedrock-vendor",))


def test_dots(matcher: Matcher) -> None:
    assert _hit(matcher, "claude-sonnet-4.5") == ("claude-sonnet-4-5", ("dots",))
    # a dotted name that is itself listed is not rewritten
    assert _hit(matcher, "gpt-4.1") == ("gpt-4.1", ("exact",))


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),  # supplement family
        ("claude-3-opus-20240229", "claude-3-opus"),
        ("gpt-4o-2099-01-01", "gpt-4o"),  # ISO date style
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("claude-opus-4-5@20251101", "claude-opus-4-5"),  # Vertex style
    ],
)
def test_date_suffix(matcher: Matcher, model: str, entry: str) -> None:
    assert _hit(matcher, model) == (entry, ("date-suffix",))


def test_dated_entry_wins_over_family(matcher: Matcher) -> None:
    assert _hit(matcher, "gpt-4o-2024-05-13") == ("gpt-4o-2024-05-13", ("exact",))


def test_rules_chain(matcher: Matcher) -> None:
    # prefix, dots and date together: the last rule that was needed is reported
    assert _hit(matcher, "openrouter/anthropic/claude-3.5-sonnet-20241022") == ("claude-3-5-sonnet", ("date-suffix",))


def test_alias() -> None:
    m = Matcher(default_catalogue(), aliases={"Prod-GPT4o": "azure/gpt-4o"})
    assert _hit(m, "prod-gpt4o") == ("azure/gpt-4o", ("alias", "exact"))
    # an alias also applies to the last path segment ("azure/<deployment>")
    assert _hit(m, "azure/prod-gpt4o") == ("azure/gpt-4o", ("alias", "exact"))
    # and its target goes through the rules too
    m2 = Matcher(default_catalogue(), aliases={"fast": "anthropic/claude-haiku-4.5"})
    assert _hit(m2, "fast")[0] == "claude-haiku-4-5"


def test_override_by_name_and_after_match() -> None:
    o = ModelPrices("gpt-4o", {"i": Decimal(1), "o": Decimal(2)}, source="override")
    m = Matcher(default_catalogue(), overrides={"gpt-4o": o})
    hit = m.match("gpt-4o")
    assert (hit.source, hit.rules, hit.prices) == ("override", ("override",), o)
    # a name that reaches gpt-4o through the rules also gets the override
    hit = m.match("openai/gpt-4o")
    assert (hit.source, hit.rules) == ("override", ("strip-prefix", "override"))
    # an override for a model the catalogue does not know prices it
    n = ModelPrices("in-house-llm", {"i": Decimal(1), "o": Decimal(1)}, source="override")
    assert Matcher(default_catalogue(), overrides={"in-house-llm": n}).match("In-House-LLM").found


def test_unknown(matcher: Matcher) -> None:
    m = matcher.match("totally-made-up-model-9000", "acme")
    assert not m.found and m.source == "unknown" and m.prices is None


def test_every_rule_is_documented() -> None:
    doc = (__import__("pathlib").Path(__file__).parents[2] / "docs" / "pricing.md").read_text()
    for rule in RULES:
        assert f"`{rule}`" in doc


def test_cache_is_bounded_and_consistent() -> None:
    m = Matcher(default_catalogue(), cache_size=8)
    first = m.match("gpt-4o")
    assert m.match("gpt-4o") is first  # cached: the same object
    for i in range(50):
        m.match(f"unknown-{i}")
    assert len(m._cache) <= 8
    assert m.match("gpt-4o").name == "gpt-4o"
