"""``agenttrace pricing update`` writes outside the package and is read first (issue 20)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import agenttrace.pricing as pricing_pkg
from agenttrace.pricing.catalogue import update_target, updated_catalogue_paths

SHIPPED = Path(pricing_pkg.__file__).with_name("catalogue.json")
# A LiteLLM-format price file with one model of our own, at a price no catalogue has.
SOURCE = {
    "acme-frontier-9": {
        "litellm_provider": "acme",
        "mode": "chat",
        "input_cost_per_token": 7e-06,
        "output_cost_per_token": 2.1e-05,
    }
}


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AGENTTRACE_DATA_DIR": str(tmp_path / "data"),
        "AGENTTRACE_CONFIG_DIR": str(tmp_path / "etc"),
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agenttrace.pricing.cli", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_the_target_is_the_data_dir_for_users_and_etc_for_root(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENTTRACE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AGENTTRACE_CONFIG_DIR", str(tmp_path / "etc"))
    assert update_target(euid=1000) == tmp_path / "data" / "pricing" / "catalogue.json"
    assert update_target(euid=0) == tmp_path / "etc" / "catalogue.json"
    assert updated_catalogue_paths() == [update_target(euid=1000), update_target(euid=0)]
    assert SHIPPED not in updated_catalogue_paths()


def test_update_never_writes_into_the_package_and_its_result_is_read_first(tmp_path: Path) -> None:
    source = tmp_path / "model_prices.json"
    source.write_text(json.dumps(SOURCE))
    shipped_before = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    env = _env(tmp_path)
    assert _run(env, "show", "acme-frontier-9").returncode == 1  # the shipped catalogue does not know it
    r = _run(env, "update", "--from", str(source), "--json")
    assert r.returncode == 0, r.stderr
    written = Path(json.loads(r.stdout)["path"])
    assert written == (
        tmp_path / "etc" / "catalogue.json" if os.geteuid() == 0 else tmp_path / "data" / "pricing" / "catalogue.json"
    )
    assert written.is_file()
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == shipped_before
    shown = _run(env, "show", "acme-frontier-9", "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["catalogue"]["path"] == str(written)


def test_a_broken_updated_catalogue_falls_back_to_the_shipped_one(tmp_path: Path) -> None:
    env = _env(tmp_path)
    broken = tmp_path / "data" / "pricing" / "catalogue.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    shown = _run(env, "show", "gpt-4o", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["catalogue"]["path"] == str(SHIPPED)


@pytest.mark.parametrize("euid", [0, 1000])
def test_neither_target_is_inside_the_package(euid: int) -> None:
    assert Path(pricing_pkg.__file__).parent not in update_target(euid=euid).parents
