"""The guards in the collector, without a process: the ``[guards]`` table, the worker's
stages, and the findings counted into the domain snapshot with bounded labels."""

from __future__ import annotations

import pytest

from agenttrace.collector.config import load_config
from agenttrace.collector.counters import DomainCounters, DomainSnapshot
from agenttrace.collector.worker import build_stages
from agenttrace.errors import ConfigError
from agenttrace.guards import FINDING_KINDS, GuardConfig, GuardStage, metric_labels
from agenttrace.model import Span

KEY = "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVb"


def _span(inp: str, n: int = 1) -> Span:
    return Span(trace_id=b"t" * 16, span_id=n.to_bytes(8, "big"), name="s", start_ns=1, end_ns=2, input_preview=inp)


def test_the_default_config_runs_every_guard_after_the_cost_stage() -> None:
    cfg = load_config(environ={})
    assert cfg.guards == GuardConfig()
    assert cfg.guards.enabled == ["secret", "pii", "injection", "loop"] and cfg.guards.redact is False
    stages = build_stages(cfg)
    assert type(stages[0]).__name__ == "CostStage" and isinstance(stages[-1], GuardStage)


def test_enabled_empty_builds_no_guard_stage_from_file_or_environment(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[guards]\nenabled = []\n")
    assert not any(isinstance(s, GuardStage) for s in build_stages(load_config(path, environ={})))
    env = load_config(environ={"AGENTTRACE_GUARDS_ENABLED": ""})
    assert env.guards.enabled == []
    assert load_config(environ={"AGENTTRACE_GUARDS_ENABLED": "secret,loop"}).guards.enabled == ["secret", "loop"]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("guards.enabled", ["secrets"], '"secret", "pii", "injection", "loop"'),
        ("guards.loop_threshold", 1, "an integer >= 2"),
        ("guards.max_trace_spans", 0, "an integer >= 1"),
        ("guards.redact", "maybe", "true or false"),
        ("guards.redaction", True, "guards.redact"),
    ],
)
def test_a_wrong_guards_value_names_the_key(key: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(environ={}, overrides={key: value})
    assert info.value.key == key
    assert expected in info.value.expected


def test_metric_labels_are_a_fixed_set() -> None:
    assert metric_labels("secret:openai_api_key") == ("secret", "openai_api_key")
    assert metric_labels("loop:repeated_tool_call") == ("loop", "repeated_tool_call")
    assert metric_labels("secret:my_company_token") == ("secret", "other")  # an extra pattern
    assert metric_labels("weird:thing") == ("other", "other")
    assert "openai_api_key" in FINDING_KINDS["secret"] and "email" in FINDING_KINDS["pii"]


def test_findings_reach_the_snapshot_and_survive_a_rebuild_and_a_restart() -> None:
    d = DomainCounters()
    first = GuardStage()
    first([_span(f"key {KEY}")])  # e.g. a WAL replay before watching: counted by the predecessor
    d.watch_stages([lambda spans: None, first])
    first([_span(f"key {KEY}", 2), _span("mail a@example.com", 3)])
    first.counts["secret:my_company_token"] += 2  # a kind outside the tables
    snap = d.snapshot()
    assert sorted(snap.guard_findings) == [("pii", "email", 1), ("secret", "openai_api_key", 1), ("secret", "other", 2)]
    second = GuardStage()  # SIGHUP: the new stage's Counter starts at 0
    d.watch_stages([second])
    second([_span(f"key {KEY}", 4)])
    assert ("secret", "openai_api_key", 2) in d.snapshot().guard_findings

    again = DomainCounters()  # a restarted worker continues from the published snapshot
    again.load(DomainSnapshot(guard_findings=d.snapshot().guard_findings))
    third = GuardStage()
    again.watch_stages([third])
    third([_span(f"key {KEY}", 5)])
    assert ("secret", "openai_api_key", 3) in again.snapshot().guard_findings
    assert all(KEY not in repr(x) for x in again.snapshot().guard_findings)


def test_a_snapshot_from_before_guards_still_decodes() -> None:
    import msgspec

    old = msgspec.msgpack.encode([[], [], [], [], []])  # the five fields published before this one
    assert msgspec.msgpack.decode(old, type=DomainSnapshot).guard_findings == []
