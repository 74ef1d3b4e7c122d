"""The update tool: LiteLLM file -> our catalogue; the shipped file is what the tool builds."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from agenttrace.pricing import default_catalogue, load_catalogue
from agenttrace.pricing.build import build_from_file, convert_entry, write_catalogue

# A committed extract of the LiteLLM file the shipped catalogue was built from (data/README.md).
SOURCE = Path(__file__).parent / "data" / "litellm-model-prices.json"
PER_TOKEN_MODES = {"chat", "completion", "embedding", "rerank", "responses"}


def test_convert_entry_keys_and_exact_decimals() -> None:
    prices, dropped = convert_entry(
        {
            "input_cost_per_token": 3e-06,
            "output_cost_per_token": 1.5e-05,
            "cache_read_input_token_cost": 3e-07,
            "cache_creation_input_token_cost": 3.75e-06,
            "cache_creation_input_token_cost_above_1hr": 6e-06,
            "cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.2e-05,
            "input_cost_per_token_above_200k_tokens": 6e-06,
            "input_cost_per_token_above_272k_tokens_priority": 5e-06,
            "output_cost_per_token_batches": 7.5e-06,
            "output_cost_per_reasoning_token": 2.5e-06,
            "input_cost_per_audio_token": 1e-06,
            "output_cost_per_image": 0.04,  # per image: not carried
            "input_cost_per_token_ultrafast": 1e-05,  # a tier we do not price: not carried
            "litellm_provider": "anthropic",
        }
    )
    assert prices == {
        "ai": "1",
        "cr": "0.3",
        "cw": "3.75",
        "cw1h": "6",
        "cw1h>200k": "12",
        "i": "3",
        "i>200k": "6",
        "i>272k/priority": "5",
        "o": "15",
        "o/batch": "7.5",
        "r": "2.5",
    }
    assert dropped == 2


def test_deepseek_cache_hit_key_is_the_cache_read_price() -> None:
    prices, _ = convert_entry({"input_cost_per_token": 2.8e-07, "input_cost_per_token_cache_hit": 2.8e-08})
    assert prices["cr"] == "0.028"


def test_build_small_file_with_supplement(tmp_path: Path) -> None:
    src = {
        "sample_spec": {"input_cost_per_token": 0.0, "mode": "doc"},
        "m1": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "litellm_provider": "x", "mode": "chat"},
        "per-second": {"input_cost_per_second": 0.01, "mode": "chat"},
        "claude-3-opus": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06, "mode": "chat"},
    }
    f = tmp_path / "prices.json"
    f.write_text(json.dumps(src))
    res = build_from_file(f, litellm_version="9.9.9")
    cat = res.catalogue
    assert cat.source["litellm_version"] == "9.9.9" and cat.source["file"] == "prices.json"
    assert len(cat.source["sha256"]) == 64
    assert "per-second" not in cat.models and "sample_spec" not in cat.models
    assert res.skipped == {"chat": 1}
    # the source lists claude-3-opus: its price wins over the supplement's
    assert cat.models["claude-3-opus"].c["i"] == "1" and cat.models["claude-3-opus"].s == ""
    # a model only the supplement knows is added and marked, with the date it was checked
    assert cat.models["claude-sonnet-4"].s == "supplement" and cat.models["claude-sonnet-4"].k
    out = tmp_path / "cat.json"
    write_catalogue(cat, out)
    loaded = load_catalogue(out)
    assert loaded.get("M1").prices == {"i": Decimal("1"), "o": Decimal("2")}
    assert loaded.header["source"]["litellm_version"] == "9.9.9"
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert not list(tmp_path.glob("*.tmp"))


def test_shipped_catalogue_is_the_build_of_the_source() -> None:
    # Every entry the builder makes from the extract is in the shipped catalogue, as is.
    shipped = default_catalogue()
    rebuilt = build_from_file(SOURCE, litellm_version="1.109.1").catalogue
    assert rebuilt.source["litellm_version"] == shipped.data.source["litellm_version"]
    assert len(rebuilt.models) > 50
    for name, entry in rebuilt.models.items():
        assert shipped.data.models.get(name) == entry, name


def test_every_per_token_model_is_kept() -> None:
    src = json.loads(SOURCE.read_text())
    cat = default_catalogue()
    assert cat.header["source"]["entries"] == 4553  # the whole file the extract comes from
    kept = 0
    for name, raw in src.items():
        if name == "sample_spec" or not isinstance(raw, dict):
            continue
        has_token_price = any(
            isinstance(v, int | float) and k in ("input_cost_per_token", "output_cost_per_token")
            for k, v in raw.items()
        )
        if raw.get("mode") in PER_TOKEN_MODES and has_token_price:
            kept += 1
            assert name in cat, name
            mp = cat.get(name)
            if isinstance(raw.get("input_cost_per_token"), int | float):
                assert mp.prices["i"] == Decimal(repr(raw["input_cost_per_token"])) * 10**6
    assert kept > 50


def test_header_says_source_and_date() -> None:
    h = default_catalogue().header
    assert h["source"]["file"] == "litellm-model-prices.json"
    assert h["source"]["litellm_version"] == "1.109.1"
    assert h["built"].endswith("Z")
    assert h["counts"]["models"] == len(default_catalogue())
