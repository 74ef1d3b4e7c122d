"""``agenttrace costs --unknown --config``: the collector's aliases and overrides decide what is unknown."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agenttrace.cli import app

runner = CliRunner()


def _unknown(filled, *extra: str) -> list[dict]:
    result = runner.invoke(app, ["costs", "--unknown", "--json", "--data-dir", str(filled.data_dir), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_alias_in_the_collector_config_is_not_listed_as_unknown(filled, tmp_path: Path) -> None:
    assert "mystery-model-9000" in [u["model"] for u in _unknown(filled)]
    config = tmp_path / "collector.toml"
    config.write_text('[collector]\nworkers = 1\n\n[pricing.aliases]\n"mystery-model-9000" = "gpt-4o"\n')
    assert "mystery-model-9000" not in [u["model"] for u in _unknown(filled, "--config", str(config))]


def test_an_override_in_the_collector_config_prices_the_model(filled, tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('[pricing.overrides."mystery-model-9000"]\ninput = 1.0\noutput = 2.0\n')
    assert "mystery-model-9000" not in [u["model"] for u in _unknown(filled, "--config", str(config))]


def test_a_broken_pricing_table_is_a_usage_error(filled, tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text("[pricing]\naliasez = 1\n")
    result = runner.invoke(app, ["costs", "--unknown", "--config", str(config), "--data-dir", str(filled.data_dir)])
    assert result.exit_code == 2
    assert "pricing" in result.output and "Traceback" not in result.output


def test_config_without_unknown_is_refused(filled, tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text("")
    result = runner.invoke(app, ["costs", "--config", str(config), "--data-dir", str(filled.data_dir)])
    assert result.exit_code == 2 and "--unknown" in result.output


def test_unknown_models_come_with_plain_advice_that_works(filled, tmp_path: Path) -> None:
    result = runner.invoke(app, ["costs", "--unknown", "--data-dir", str(filled.data_dir)])
    assert result.exit_code == 0, result.output
    assert "mystery-model-9000" in result.output
    assert "have no price" in result.output and "$0" in result.output
    # The printed config snippet, applied to the listed model, prices it.
    snippet = "\n".join(line.strip() for line in result.output.splitlines() if line.startswith("  "))
    assert "[pricing.overrides." in snippet
    config = tmp_path / "collector.toml"
    config.write_text(snippet.replace("my-model", "mystery-model-9000"))
    assert "mystery-model-9000" not in [u["model"] for u in _unknown(filled, "--config", str(config))]
