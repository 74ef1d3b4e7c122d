"""`agenttrace pricing ...` as a user runs it (real process), and the store helpers behind
`pricing check` / `costs --unknown` against real sealed segments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agenttrace import wire
from agenttrace.model import Span, Usage
from agenttrace.pricing import CostStage, unknown_models_in_store
from agenttrace.pricing.store import models_in_store

SOURCE = Path(__file__).parent / "data" / "litellm-model-prices.json"  # committed extract


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The pricing sub-app on its own, so these tests do not depend on every other command
    # importing; test_registered_under_agenttrace checks the `agenttrace pricing` entry.
    return subprocess.run(
        [sys.executable, "-m", "agenttrace.pricing.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def _span(i: int, model: str, usage: Usage | None, provider: str = "") -> Span:
    return Span(
        trace_id=i.to_bytes(16, "big"),
        span_id=i.to_bytes(8, "big"),
        name="call",
        start_ns=1_700_000_000_000_000_000 + i,
        end_ns=1_700_000_000_000_000_000 + i + 10,
        kind="llm" if usage else "tool",
        model=model,
        provider=provider,
        usage=usage,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agenttrace.store.writer import SegmentWriter

    data = tmp_path_factory.mktemp("data")
    spans = [
        _span(1, "gpt-4o", Usage(input_tokens=100, output_tokens=10)),
        _span(2, "acme-llm-7", Usage(input_tokens=1_000, output_tokens=200)),
        _span(3, "acme-llm-7", Usage(input_tokens=500, output_tokens=0)),
        _span(4, "prod-deploy", Usage(input_tokens=50, output_tokens=5), provider="azure"),
        _span(5, "", None),  # a tool span: not a model
        _span(6, "acme-embed", None),  # names a model but carries no usage: needs no price
    ]
    CostStage()(spans)  # as the collector would, before storing
    with SegmentWriter(data, 0) as w:
        w.append(wire.encode(spans, sender_id=1, seq=1), spans)
    return data


def test_models_in_store(store: Path) -> None:
    seen = {(m.model, m.provider): (m.spans, m.usage_spans, m.tokens) for m in models_in_store(store)}
    assert seen == {
        ("gpt-4o", ""): (1, 1, 110),
        ("acme-llm-7", ""): (2, 2, 1_700),
        ("prod-deploy", "azure"): (1, 1, 55),
        ("acme-embed", ""): (1, 0, 0),
    }


def test_unknown_models_in_store(store: Path) -> None:
    assert unknown_models_in_store(store) == [("acme-llm-7", 2, 1_700), ("prod-deploy", 1, 55)]
    # an alias added to the config takes the deployment off the list at once
    cfg = {"aliases": {"prod-deploy": "azure/gpt-4o"}}
    assert unknown_models_in_store(store, cfg) == [("acme-llm-7", 2, 1_700)]


def test_cli_check_lists_unknown_and_exits_1(store: Path, tmp_path: Path) -> None:
    r = run("check", "--data-dir", str(store))
    assert r.returncode == 1, r.stderr
    assert "acme-llm-7" in r.stdout and "prod-deploy" in r.stdout and "gpt-4o" not in r.stdout
    conf = tmp_path / "collector.toml"
    conf.write_text(
        '[pricing.aliases]\n"prod-deploy" = "azure/gpt-4o"\n[pricing.overrides."acme-llm-7"]\ninput = 1\noutput = 2\n'
    )
    r = run("check", "--data-dir", str(store), "--config", str(conf), "--json")
    assert (r.returncode, json.loads(r.stdout)) == (0, [])


def test_cli_show(tmp_path: Path) -> None:
    r = run("show", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "--input", "250000", "--cache-read", "100000",
            "--output", "2000", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["matched"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0" and info["rules"] == ["exact"]
    assert info["bill"]["total_usd"] == "1.1055" and info["bill"]["above_tokens"] == 200_000
    std = info["rates_per_million"][0]
    assert (std["tier"], std["input"], std["output"], std["reasoning"]) == ("standard", "3.3", "16.5", "16.5")
    assert std["keys"]["reasoning"].endswith("(no reasoning price)")
    text = run("show", "claude-3-opus-20240229")
    assert text.returncode == 0
    assert "via date-suffix" in text.stdout and "supplement, checked" in text.stdout
    assert "no price" in run("show", "acme-llm-7").stdout
    assert run("show", "acme-llm-7").returncode == 1


def test_cli_update_then_use_the_catalogue(tmp_path: Path) -> None:
    out = tmp_path / "prices.json"
    r = run("update", "--from", str(SOURCE), "--out", str(out), "--litellm-version", "1.109.1", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["counts"]["models"] > 50 and summary["added"] == summary["counts"]["models"]
    # a second run against the same file changes nothing
    again = json.loads(run("update", "--from", str(SOURCE), "--out", str(out), "--json").stdout)
    assert (again["added"], again["removed"], again["changed"]) == (0, 0, 0)
    shown = json.loads(run("show", "gpt-4o", "--catalogue", str(out), "--json").stdout)
    assert shown["catalogue"]["path"] == str(out)


def test_cli_update_rejects_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    r = run("update", "--from", str(bad), "--out", str(tmp_path / "out.json"))
    assert r.returncode == 2 and "not a JSON price file" in r.stderr
    assert not (tmp_path / "out.json").exists()


def test_registered_under_agenttrace() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "agenttrace.cli", "pricing", "show", "gpt-4o", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["matched"] == "gpt-4o"
