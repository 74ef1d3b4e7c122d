"""The read commands on a store filled by the real SDK through a running collector.

Most run through Typer's runner (fast); a few run ``agenttrace`` as a subprocess, as a
user does. The workload is in collector_fixture.py: two sessions, three traces, ten
spans, one failed tool call, one model the pricing does not know.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenttrace.cli import app

runner = CliRunner()
AGENTTRACE = str(Path(sys.executable).parent / "agenttrace")


def run(filled, *args: str) -> object:
    result = runner.invoke(app, [*args, "--data-dir", str(filled.data_dir)])
    return result


def run_json(filled, *args: str) -> object:
    result = run(filled, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- traces ------------------------------------------------------------------------


def test_trace_show_draws_the_waterfall(filled) -> None:
    tid = filled.trace_ids["refund"]
    result = run(filled, "traces", "show", tid)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"trace {tid}") and "4 spans" in lines[0] and "1 error" in lines[0]
    assert "session sess-alpha" in lines[0]
    body = lines[2:]  # title, header, then one row per span in tree order
    assert [ln.split("  ")[0] for ln in body] == ["answer customer", "", "", ""]
    assert body[1].startswith("  plan gpt-4o")
    assert body[2].startswith("  lookup_order")
    assert body[3].startswith("  ✗ refund")
    assert "payment gateway timeout" in body[3]
    assert "1,200" in body[1] and "$0.004000" in body[1]  # 1000 in + 200 out, priced by the collector
    assert all("█" in ln for ln in body)


def test_trace_show_json_is_the_engine_tree(filled) -> None:
    tree = run_json(filled, "traces", "show", filled.trace_ids["refund"])
    assert tree["span_count"] == 4 and tree["errors"] == 1
    assert tree["tokens"]["input_tokens"] == 1000 and tree["tokens"]["cache_read_tokens"] == 400
    root = tree["root_ids"][0]
    names = {s["span_id"]: s["name"] for s in tree["spans"]}
    assert names[root] == "answer customer"
    assert sorted(names[c] for c in tree["children"][root]) == ["lookup_order", "plan", "refund"]


def test_traces_list_newest_first_and_by_session(filled) -> None:
    listing = run_json(filled, "traces", "list")
    assert [t["trace_id"] for t in listing["traces"]] == [
        filled.trace_ids["research"],
        filled.trace_ids["follow_up"],
        filled.trace_ids["refund"],
    ]
    beta = run_json(filled, "traces", "list", "--session", "sess-beta")
    assert [t["root_name"] for t in beta["traces"]] == ["research"]
    assert beta["traces"][0]["spans"] == 4
    assert len(run_json(filled, "traces", "list", "--limit", "1")["traces"]) == 1


# --- sessions ----------------------------------------------------------------------


def test_sessions_list_and_show(filled) -> None:
    sessions = {s["session_id"]: s for s in run_json(filled, "sessions", "list")["sessions"]}
    assert set(sessions) == {"sess-alpha", "sess-beta"}
    alpha = sessions["sess-alpha"]
    assert (alpha["service"], alpha["user_id"], alpha["traces"], alpha["spans"], alpha["errors"]) == (
        "shop-agent",
        "alice",
        2,
        6,
        1,
    )
    assert alpha["tokens"]["input_tokens"] == 3000
    shown = run(filled, "sessions", "show", "sess-alpha")
    assert shown.exit_code == 0
    assert filled.trace_ids["refund"] in shown.stdout and filled.trace_ids["follow_up"] in shown.stdout
    assert "2 traces · 6 spans · 1 error · " in shown.stdout
    only_bob = run_json(filled, "sessions", "list", "--user", "bob")["sessions"]
    assert [s["session_id"] for s in only_bob] == ["sess-beta"]


# --- spans -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--kind", "llm"], {"plan", "reply", "search plan", "summarise"}),
        (["--status", "error"], {"refund"}),
        (["--name", "LOOKUP"], {"lookup_order"}),
        (["--model", "gpt-4o"], {"plan"}),
        (["--session", "sess-beta", "--kind", "retrieval"], {"vector search"}),
        (["--service", "research-agent", "--kind", "agent"], {"research"}),
        (["--since", "1h"], None),  # everything was written moments ago
        (["--until", "15m"], set()),
    ],
)
def test_span_filters(filled, args: list[str], names: set[str] | None) -> None:
    page = run_json(filled, "spans", *args)
    got = {s["name"] for s in page["spans"]}
    if names is None:
        assert len(got) == 10
    else:
        assert got == names


def test_spans_page_with_a_cursor(filled) -> None:
    first = run_json(filled, "spans", "--service", "research-agent", "--limit", "3")
    assert len(first["spans"]) == 3 and first["next_cursor"]
    second = run_json(filled, "spans", "--service", "research-agent", "--limit", "3", "--cursor", first["next_cursor"])
    assert len(second["spans"]) == 1 and second["next_cursor"] is None
    ids = [s["span_id"] for s in first["spans"] + second["spans"]]
    assert len(set(ids)) == 4
    starts = [s["start_ns"] for s in first["spans"] + second["spans"]]
    assert starts == sorted(starts, reverse=True)  # newest first across pages


def test_spans_table_marks_errors(filled) -> None:
    result = run(filled, "spans", "--status", "error")
    assert result.exit_code == 0
    assert "✗ TimeoutError: payment gateway timeout" in result.stdout or "✗ payment gateway timeout" in result.stdout


# --- costs and metrics ---------------------------------------------------------------


def test_costs_by_model_with_shares(filled) -> None:
    report = run_json(filled, "costs", "--by", "model")
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == {"gpt-4o", "claude-sonnet-4-5", "gpt-4o-mini", "mystery-model-9000"}
    # gpt-4o: 600 uncached input at $2.50/M, 400 cache reads at $1.25/M, 200 output at $10/M
    assert rows["gpt-4o"]["cost_usd"] == pytest.approx(0.004)
    assert rows["gpt-4o"]["tokens"]["cache_read_tokens"] == 400
    assert rows["mystery-model-9000"]["cost_usd"] == 0
    assert sum(r["share"] for r in report["rows"]) == pytest.approx(1.0)
    assert report["total_cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in report["rows"]))
    costs = [r["cost_usd"] for r in report["rows"]]
    assert costs == sorted(costs, reverse=True)
    table = run(filled, "costs", "--by", "model")
    assert "share" in table.stdout.splitlines()[0] and "gpt-4o" in table.stdout


def test_costs_by_service_and_day(filled) -> None:
    by_service = {r["key"]: r for r in run_json(filled, "costs", "--by", "service")["rows"]}
    assert by_service["shop-agent"]["tokens"]["input_tokens"] == 3000
    assert by_service["research-agent"]["spans"] == 4
    by_day = run_json(filled, "costs", "--by", "day")["rows"]
    assert [r["key"] for r in by_day] == [datetime.now(UTC).strftime("%Y-%m-%d")] or len(by_day) == 2  # midnight


def test_costs_unknown_lists_unpriced_models(filled) -> None:
    unknown = run_json(filled, "costs", "--unknown")
    assert {"model": "mystery-model-9000", "spans": 1, "tokens": 110} in unknown
    assert all(u["model"] != "gpt-4o" for u in unknown)


def test_metrics_performance_errors_summary(filled) -> None:
    perf = {r["key"]: r for r in run_json(filled, "metrics", "performance")["rows"]}
    assert perf["llm"]["count"] == 4 and perf["tool"]["count"] == 2
    assert perf["llm"]["p50_ms"] <= perf["llm"]["p95_ms"] <= perf["llm"]["p99_ms"]
    errors = run_json(filled, "metrics", "errors")
    assert errors["total_errors"] == 1 and errors["total_spans"] == 10
    assert [(r["key"], r["errors"]) for r in errors["rows"]] == [("tool", 1)]
    assert errors["recent"][0]["name"] == "refund"
    summary = run_json(filled, "metrics", "summary")
    assert summary["spans"] == 10 and summary["tokens"]["output_tokens"] == 760


# --- export --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_every_span(filled, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"spans.{fmt}"
    result = run(filled, "export", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote 10 spans" in result.stderr
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    elif fmt == "csv":
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
    else:
        rows = __import__("pyarrow.parquet").parquet.read_table(out).to_pylist()
    assert len(rows) == 10
    assert {r["name"] for r in rows} >= {"answer customer", "refund", "vector search"}


def test_export_filtered_to_stdout(filled) -> None:
    result = run(filled, "export", "--format", "jsonl", "-o", "-", "--kind", "llm")
    assert result.exit_code == 0
    assert sorted(json.loads(line)["name"] for line in result.stdout.splitlines()) == [
        "plan",
        "reply",
        "search plan",
        "summarise",
    ]


# --- errors read like a good tool's --------------------------------------------------


def _one_sentence(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("agenttrace: ")
    return lines[0]


def test_unknown_trace_id(filled) -> None:
    result = run(filled, "traces", "show", "0" * 32)
    assert result.exit_code == 1
    assert "no trace 00000000000000000000000000000000" in _one_sentence(result)


def test_malformed_trace_id(filled) -> None:
    result = run(filled, "traces", "show", "not-a-trace")
    assert result.exit_code == 2
    assert "32 hex digits" in _one_sentence(result)


def test_unknown_session(filled) -> None:
    result = run(filled, "sessions", "show", "sess-nobody")
    assert result.exit_code == 1
    assert "no session 'sess-nobody'" in _one_sentence(result)


def test_bad_time_string(filled) -> None:
    result = run(filled, "spans", "--since", "last tuesday")
    assert result.exit_code == 2
    assert "cannot read 'last tuesday' as a time" in _one_sentence(result)


def test_bad_group_and_status(filled) -> None:
    assert "use one of model, service, kind, day" in _one_sentence(run(filled, "costs", "--by", "colour"))
    assert "use one of unset, ok, error" in _one_sentence(run(filled, "spans", "--status", "broken"))


def test_empty_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sessions", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "holds no spans yet" in _one_sentence(result)


def test_store_directory_missing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["traces", "list", "--data-dir", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert f"store directory {tmp_path / 'nope'} does not exist" in _one_sentence(result)


def test_default_store_from_environment(filled, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTTRACE_DATA_DIR", str(filled.data_dir))
    result = runner.invoke(app, ["traces", "list", "--json"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)["traces"]) == 3


# --- as a subprocess, as a user runs it ------------------------------------------------


def test_subprocess_trace_show_and_error_exit(filled) -> None:
    ok = subprocess.run(
        [AGENTTRACE, "traces", "show", filled.trace_ids["follow_up"], "--data-dir", str(filled.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "follow up" in ok.stdout and "reply" in ok.stdout and "claude-sonnet-4-5" in ok.stdout
    bad = subprocess.run(
        [AGENTTRACE, "spans", "--since", "yesterdayish", "--data-dir", str(filled.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("agenttrace: cannot read 'yesterdayish' as a time")


def test_subprocess_status_reads_the_running_collector(filled) -> None:
    result = subprocess.run(
        [AGENTTRACE, "status", "--url", filled.http_url, "--data-dir", str(filled.data_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["collector"]["running"] is True
    assert report["collector"]["live"]["stored_total"] >= 10
    assert report["store"]["segments"] >= 1 and report["store"]["bytes"] > 0


def test_a_corrupt_segment_is_named_and_the_rest_answers(tmp_path: Path) -> None:
    from agenttrace.store.synthetic import generate_spans
    from agenttrace.store.writer import SegmentWriter
    from agenttrace.wire import encode

    spans = list(generate_spans(120, seed=5))
    with SegmentWriter(tmp_path, 0) as writer:
        for seq, i in enumerate(range(0, 120, 40)):
            batch = spans[i : i + 40]
            writer.append(encode(batch, sender_id=1, seq=seq), batch)
            writer.seal()
    segments = sorted((tmp_path / "segments").rglob("*.seg"))
    assert len(segments) == 3
    damaged = segments[1]
    data = bytearray(damaged.read_bytes())
    for j in range(len(data) // 3, len(data) // 3 + 64):
        data[j] ^= 0xFF
    damaged.write_bytes(data)

    result = runner.invoke(app, ["spans", "--limit", "200", "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    names = {s["span_id"] for s in json.loads(result.stdout)["spans"]}
    assert 0 < len(names) <= 80  # the two whole segments answer
    warning = _one_sentence(result)
    assert "answered without 1 corrupt segment" in warning and str(damaged) in warning
