"""`agenttrace import claude-code|codex`: transcripts → spans over the wire.

Fixtures (tests/coding/fixtures/) are written from the formats as Claude Code and Codex
write them and as ccusage's loaders read them (github.com/ryoppippi/ccusage:
rust/crates/ccusage/src/types.rs ``UsageEntry``, adapter/claude/mod.rs dedupe by message
id + request id; adapter/codex/README.md and parser.rs ``token_count`` with
``last_token_usage`` or cumulative ``total_token_usage``). The ccusage totals below were
measured on these same files with ccusage 17.2.1 and @ccusage/codex 17.0.3 (see
docs/coding-agents.md, "Comparison with ccusage").
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agenttrace.coding.transcripts import ClaudeCodeParser, CodexParser
from agenttrace.pricing import Matcher, cost_usd, default_catalogue

FIXTURES = Path(__file__).parent / "fixtures"
AGENTTRACE = str(Path(sys.executable).parent / "agenttrace")
CLAUDE_SESSION = "7f0c2a9e-5d1b-4c3e-9a8f-1b2c3d4e5f60"
CODEX_SESSION = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

# `CLAUDE_CONFIG_DIR=tests/coding/fixtures/claude-code ccusage session --json --offline` (17.2.1)
CCUSAGE_CLAUDE = {"input": 13, "output": 355, "cache_creation": 1500, "cache_read": 41700, "cost": 0.023499}
# `CODEX_HOME=tests/coding/fixtures/codex ccusage-codex session --json --offline` (17.0.3)
CCUSAGE_CODEX = {"input": 11000, "cached": 8000, "output": 200, "reasoning": 64, "cost": 0.00675}


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _priced(spans) -> float:
    matcher = Matcher(default_catalogue())
    return sum(cost_usd(matcher.match(s.model).prices, s.usage) for s in spans if s.kind == "llm")


def _import(source: str, path: Path, endpoint: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENTTRACE, "import", source, str(path), "--endpoint", endpoint, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_claude_code_transcript_maps_to_llm_and_tool_spans_with_ccusages_totals() -> None:
    path = next((FIXTURES / "claude-code" / "projects").rglob("*.jsonl"))
    parser = ClaudeCodeParser()
    spans = [s for r in _records(path) for s in parser.feed(r)] + parser.flush()
    llm = [s for s in spans if s.kind == "llm"]
    assert len(llm) == 3  # 4 assistant responses written on 5 lines, one a replay: 3 calls
    # Our convention: input counts cache reads and writes (Anthropic's excludes them).
    assert sum(s.usage.input_tokens for s in llm) == (
        CCUSAGE_CLAUDE["input"] + CCUSAGE_CLAUDE["cache_creation"] + CCUSAGE_CLAUDE["cache_read"]
    )
    assert sum(s.usage.cache_read_tokens for s in llm) == CCUSAGE_CLAUDE["cache_read"]
    assert sum(s.usage.cache_write_tokens for s in llm) == CCUSAGE_CLAUDE["cache_creation"]
    assert sum(s.usage.output_tokens for s in llm) == CCUSAGE_CLAUDE["output"]
    assert _priced(llm) == pytest.approx(CCUSAGE_CLAUDE["cost"], abs=1e-6)

    first = llm[0]
    assert first.model == "claude-sonnet-4-20250514" and first.provider == "anthropic"
    assert first.session_id == CLAUDE_SESSION and first.service == "claude-code"
    assert first.attributes["claude_code.request_id"] == "req_011A"
    assert first.attributes["git.branch"] == "main"
    # Times from the records: from the prompt to the response's last line.
    assert first.start_ns == 1758362400 * 10**9 and first.end_ns == 1758362404300 * 10**6

    tools = {s.name: s for s in spans if s.kind != "llm"}
    bash, edit = tools["Bash"], tools["Edit"]
    assert bash.kind == "terminal" and bash.attributes["terminal.command"] == "pytest -q tests/test_refund.py"
    assert bash.status == 2 and bash.output_preview == "1 failed, 12 passed"  # is_error: true
    assert bash.parent_id == first.span_id and bash.end_ns - bash.start_ns == 5 * 10**9
    assert edit.kind == "file" and edit.attributes["file.path"] == "/home/dev/shop/refund.py"
    assert edit.attributes["file.operation"] == "edit" and edit.status == 0
    assert {s.trace_id for s in spans} == {first.trace_id}

    again = ClaudeCodeParser()
    respans = [s for r in _records(path) for s in again.feed(r)] + again.flush()
    assert [s.span_id for s in respans] == [s.span_id for s in spans]  # ids derive from record ids


def test_a_sidechain_replay_of_a_parent_message_is_not_counted_again() -> None:
    usage = {"input_tokens": 1, "output_tokens": 10, "cache_read_input_tokens": 500}
    parent = {"type": "assistant", "sessionId": "s", "requestId": "req_1", "timestamp": "2025-09-20T10:00:00Z",
              "message": {"id": "msg_1", "model": "claude-sonnet-4-5", "usage": usage, "content": []}}  # fmt: skip
    replay = {**parent, "requestId": "req_2", "isSidechain": True}
    own = {**replay, "message": {**parent["message"], "id": "msg_2"}}
    parser = ClaudeCodeParser()
    spans = [s for r in (parent, replay, own) for s in parser.feed(r)] + parser.flush()
    assert [s.attributes["claude_code.message_id"] for s in spans] == ["msg_1", "msg_2"]
    # the other order: the sidechain copy came first, so the parent's is the replay
    parser = ClaudeCodeParser()
    spans = [s for r in (replay, parent) for s in parser.feed(r)] + parser.flush()
    assert [s.attributes["claude_code.request_id"] for s in spans] == ["req_2"]


def test_a_resumed_session_replaying_responses_into_a_new_file_adds_nothing(tmp_path: Path, udp_sink) -> None:
    projects = tmp_path / "projects"
    shutil.copytree(FIXTURES / "claude-code" / "projects", projects)
    (original,) = projects.rglob("*.jsonl")
    resumed = original.with_name("0b9d7c6e-0000-4000-8000-000000000001.jsonl")
    lines = [json.loads(line) for line in original.read_text().splitlines()]
    for rec in lines:
        if "sessionId" in rec:
            rec["sessionId"] = resumed.stem
    resumed.write_text("".join(json.dumps(rec) + "\n" for rec in lines))
    done = _import("claude-code", projects, udp_sink.endpoint, tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert "2 files" in done.stdout and "5 spans" in done.stdout, done.stdout


def test_codex_rollout_maps_to_spans_with_ccusages_totals() -> None:
    path = next((FIXTURES / "codex" / "sessions").rglob("*.jsonl"))
    parser = CodexParser(file_key=str(path))
    spans = []
    offset = 0
    for line in path.read_bytes().splitlines(keepends=True):
        spans += parser.feed(json.loads(line), offset)
        offset += len(line)
    llm = [s for s in spans if s.kind == "llm"]
    assert len(llm) == 2
    assert sum(s.usage.input_tokens for s in llm) == CCUSAGE_CODEX["input"]
    assert sum(s.usage.cache_read_tokens for s in llm) == CCUSAGE_CODEX["cached"]
    assert sum(s.usage.output_tokens for s in llm) == CCUSAGE_CODEX["output"]
    assert sum(s.usage.reasoning_tokens for s in llm) == CCUSAGE_CODEX["reasoning"]
    assert _priced(llm) == pytest.approx(CCUSAGE_CODEX["cost"], abs=1e-6)
    assert {s.model for s in llm} == {"gpt-5-codex"} and {s.session_id for s in spans} == {CODEX_SESSION}
    (shell,) = [s for s in spans if s.kind != "llm"]
    assert shell.kind == "terminal" and shell.attributes["terminal.command"] == "bash -lc pytest -q"
    assert shell.status == 0 and shell.end_ns - shell.start_ns == 4 * 10**9


def test_importing_twice_adds_nothing_and_new_lines_are_picked_up(tmp_path: Path, udp_sink) -> None:
    projects = tmp_path / "projects"
    shutil.copytree(FIXTURES / "claude-code" / "projects", projects)
    data_dir = tmp_path / "data"
    done = _import("claude-code", projects, udp_sink.endpoint, data_dir)
    assert done.returncode == 0, done.stderr
    assert "5 spans" in done.stdout
    first = udp_sink.spans_until(lambda got: len(got) >= 5)
    assert sorted(s.kind for s in first) == ["file", "llm", "llm", "llm", "terminal"]

    done = _import("claude-code", projects, udp_sink.endpoint, data_dir)
    assert done.returncode == 0 and "0 spans" in done.stdout, done.stdout
    assert udp_sink.spans_until(lambda got: len(got) > 5, timeout=0.5) == first

    # The session goes on: a new response arrives, half a line still being written.
    (path,) = projects.rglob("*.jsonl")
    usage = {"input_tokens": 2, "output_tokens": 40, "cache_read_input_tokens": 14600}
    line = {"type": "assistant", "sessionId": CLAUDE_SESSION, "requestId": "req_011F", "uuid": "u-10",
            "timestamp": "2025-09-20T10:01:00.000Z",
            "message": {"id": "msg_01F", "model": "claude-sonnet-4-20250514", "usage": usage}}  # fmt: skip
    with path.open("a") as f:
        f.write(json.dumps(line) + "\n" + '{"type": "user", "message": ')
    done = _import("claude-code", projects, udp_sink.endpoint, data_dir)
    assert done.returncode == 0 and "1 spans" in done.stdout, done.stdout
    got = udp_sink.spans_until(lambda got: len(got) >= 6)
    assert got[-1].attributes["claude_code.message_id"] == "msg_01F"
    assert got[-1].usage.input_tokens == 2 + 14600


def test_codex_import_sends_over_the_wire(tmp_path: Path, udp_sink) -> None:
    done = _import("codex", FIXTURES / "codex" / "sessions", udp_sink.endpoint, tmp_path)
    assert done.returncode == 0, done.stderr
    spans = udp_sink.spans_until(lambda got: len(got) >= 3)
    assert sorted(s.kind for s in spans) == ["llm", "llm", "terminal"]
    assert {s.service for s in spans} == {"codex"}


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    done = _import("codex", tmp_path / "nope", "udp://127.0.0.1:9", tmp_path)
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_watch_follows_a_growing_file(tmp_path: Path, udp_sink) -> None:
    import signal

    sessions = tmp_path / "sessions"
    shutil.copytree(FIXTURES / "codex" / "sessions", sessions)
    (path,) = sessions.rglob("*.jsonl")
    proc = subprocess.Popen(
        [AGENTTRACE, "import", "codex", str(sessions), "--watch", "--interval", "100ms",
         "--endpoint", udp_sink.endpoint, "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert len(udp_sink.spans_until(lambda got: len(got) >= 3)) == 3
        usage = {"input_tokens": 12000, "cached_input_tokens": 11000, "output_tokens": 30, "total_tokens": 12030}
        record = {"timestamp": "2025-09-20T11:00:20.000Z", "type": "event_msg",
                  "payload": {"type": "token_count", "info": {"last_token_usage": usage}}}  # fmt: skip
        with path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        spans = udp_sink.spans_until(lambda got: len(got) >= 4)
        assert len(spans) == 4 and spans[-1].usage.input_tokens == 12000
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
