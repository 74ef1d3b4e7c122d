"""What a newcomer pastes and reads: ids in every printed form, listings that say when
they were cut, ``--json`` on an empty store, help texts that read as words.

Stores are written with the real segment writer (fast; no collector needed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenttrace import wire
from agenttrace.cli import app
from agenttrace.model import Span, Usage
from agenttrace.store.writer import SegmentWriter, WriterConfig

runner = CliRunner()
T0 = 1_763_769_600_000_000_000
TRACE_A = "ab12cd34" + "00" * 11 + "0a"  # shares 8 digits with TRACE_B
TRACE_B = "ab12cd34" + "00" * 11 + "0b"
TRACE_C = "5e" * 16


def _span(trace: str, n: int, session: str) -> Span:
    return Span(
        trace_id=bytes.fromhex(trace),
        span_id=n.to_bytes(8, "big"),
        parent_id=b"",
        name=f"step-{n}",
        start_ns=T0 + n * 1_000_000,
        end_ns=T0 + n * 1_000_000 + 500_000,
        session_id=session,
        service="svc",
        kind="llm",
        model="gpt-4o",
        usage=Usage(input_tokens=10, output_tokens=2),
    )


def write_store(path: Path, spans: list[Span]) -> Path:
    with SegmentWriter(path, 0, WriterConfig(seal_rows=2, wal_fsync="none", seal_age_s=3600.0)) as w:
        for k, s in enumerate(spans):
            w.append(wire.encode([s], sender_id=1, seq=k), [s])
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spans = [
        _span(TRACE_A, 1, "session-alpha-1"),
        _span(TRACE_B, 2, "session-alpha-2"),
        _span(TRACE_C, 3, "session-beta"),
        _span(TRACE_C, 4, "session-beta"),
    ]
    return write_store(tmp_path_factory.mktemp("ids"), spans)


def run(store: Path, *args: str):
    return runner.invoke(app, [*args, "--data-dir", str(store)])


# --- ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        TRACE_C,  # as `traces list` prints it
        TRACE_C.upper(),  # other tools print capitals
        "0x" + TRACE_C,  # and a 0x prefix
        TRACE_C[:12],  # as `spans` prints it
        TRACE_C[:16],  # as the TUI's waterfall title prints it
        TRACE_C[:8],  # the shortest prefix taken
        f"{TRACE_C[:8]}-{TRACE_C[8:12]}-{TRACE_C[12:16]}-{TRACE_C[16:20]}-{TRACE_C[20:]}",  # UUID form
    ],
)
def test_traces_show_takes_every_printed_form_of_an_id(store: Path, given: str) -> None:
    result = run(store, "traces", "show", given, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trace_id"] == TRACE_C


def test_the_short_trace_id_spans_prints_is_taken_back(store: Path) -> None:
    table = run(store, "spans")
    assert table.exit_code == 0, table.output
    short = TRACE_C[:12]
    assert short in table.stdout
    assert run(store, "traces", "show", short).exit_code == 0
    page = json.loads(run(store, "spans", "--trace", short, "--json").stdout)
    assert {s["trace_id"] for s in page["spans"]} == {TRACE_C}


def test_an_ambiguous_trace_prefix_lists_the_candidates_and_exits_2(store: Path) -> None:
    result = run(store, "traces", "show", TRACE_A[:8])
    assert result.exit_code == 2
    assert TRACE_A in result.stderr and TRACE_B in result.stderr
    assert "give more" in result.stderr


def test_a_prefix_shorter_than_8_digits_is_refused(store: Path) -> None:
    result = run(store, "traces", "show", TRACE_C[:6])
    assert result.exit_code == 2
    assert "at least 8" in result.stderr


def test_sessions_show_takes_a_unique_prefix_and_lists_an_ambiguous_one(store: Path) -> None:
    found = run(store, "sessions", "show", "session-b", "--json")
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["summary"]["session_id"] == "session-beta"
    exact = run(store, "sessions", "show", "session-alpha-1", "--json")
    assert json.loads(exact.stdout)["summary"]["session_id"] == "session-alpha-1"
    many = run(store, "sessions", "show", "session-alpha")
    assert many.exit_code == 2
    assert "session-alpha-1" in many.stderr and "session-alpha-2" in many.stderr


# --- listings say when they were cut ------------------------------------------------


def test_sessions_list_says_how_many_of_how_many_it_shows(store: Path) -> None:
    result = run(store, "sessions", "list", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "2 of 3 sessions shown; --limit N for more" in result.stderr
    assert "shown" not in result.stdout  # stdout stays the table alone
    whole = run(store, "sessions", "list")
    assert "shown" not in whole.stderr
    doc = json.loads(run(store, "sessions", "list", "--limit", "1", "--json").stdout)
    assert doc["total"] == 3 and len(doc["sessions"]) == 1


def test_traces_list_says_it_was_cut(store: Path) -> None:
    result = run(store, "traces", "list", "--limit", "1")
    assert result.exit_code == 0, result.output
    assert re.search(r"(1 of 3 traces|1 trace) shown(, the newest)?; --limit N for more", result.stderr), result.stderr
    whole = run(store, "traces", "list")
    assert "shown" not in whole.stderr


def test_spans_says_it_was_cut(store: Path) -> None:
    result = run(store, "spans", "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "1 span shown; more: --cursor" in result.stderr or "--limit N for more" in result.stderr


# --- --json on an empty store ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "empty"),
    [
        (["sessions", "list"], lambda d: d["sessions"] == [] and d["total"] == 0),
        (["traces", "list"], lambda d: d["traces"] == []),
        (["spans"], lambda d: d["spans"] == [] and d["next_cursor"] is None),
        (["costs"], lambda d: d["rows"] == [] and d["total_cost_usd"] == 0),
        (["costs", "--unknown"], lambda d: d == []),
        (["costs", "--by", "commit"], lambda d: d["rows"] == []),
        (["metrics", "performance"], lambda d: d["rows"] == []),
        (["metrics", "errors"], lambda d: d["rows"] == [] and d["recent"] == []),
        (["metrics", "summary"], lambda d: d["spans"] == 0),
    ],
)
def test_json_on_an_empty_store_prints_the_empty_document_and_exits_0(tmp_path: Path, args, empty) -> None:
    result = runner.invoke(app, [*args, "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert empty(json.loads(result.stdout))


def test_a_table_on_an_empty_store_still_says_why_it_is_empty(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sessions", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "holds no spans yet" in result.stderr


# --- help reads as words ----------------------------------------------------------------


def _helps(command: list[str]) -> str:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.stdout


def _every_command() -> list[list[str]]:
    import typer.main

    found: list[list[str]] = []

    def walk(command, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize("command", _every_command(), ids=lambda c: " ".join(c) or "agenttrace")
def test_help_metavars_read_as_words(command: list[str]) -> None:
    text = _helps(command)
    # Typer's type labels (<bool>, <str>, <int range>, <path>) and Click's (TEXT, INTEGER)
    bad = re.findall(r"<(?:bool|str|int|float|path|text)[^>]*>|\b(?:TEXT|INTEGER|FLOAT|BOOLEAN)\b", text)
    assert not bad, (command, bad, text)


def test_costs_and_performance_say_when_groups_were_cut(tmp_path: Path) -> None:
    spans = [_span(TRACE_C, 1, "s-1"), _span(TRACE_C, 2, "s-1")]
    spans[1].model, spans[1].kind = "gpt-4o-mini", "tool"
    store = write_store(tmp_path, spans)
    costs = run(store, "costs", "--by", "model", "--limit", "1")
    assert costs.exit_code == 0, costs.output
    assert "1 of 2 groups shown; --limit N for more" in costs.stderr
    perf = run(store, "metrics", "performance", "--by", "kind", "--limit", "1")
    assert "1 of 2 groups shown; --limit N for more" in perf.stderr
    assert "shown" not in run(store, "costs", "--by", "model").stderr


def test_session_filters_take_a_unique_prefix(store: Path) -> None:
    traces = json.loads(run(store, "traces", "list", "--session", "session-b", "--json").stdout)
    assert [t["trace_id"] for t in traces["traces"]] == [TRACE_C]
    spans = json.loads(run(store, "spans", "--session", "session-b", "--json").stdout)
    assert {s["session_id"] for s in spans["spans"]} == {"session-beta"}
    exact = json.loads(run(store, "spans", "--session", "session-alpha-1", "--json").stdout)
    assert {s["trace_id"] for s in exact["spans"]} == {TRACE_A}
    assert run(store, "traces", "list", "--session", "session-alpha").exit_code == 2  # ambiguous
