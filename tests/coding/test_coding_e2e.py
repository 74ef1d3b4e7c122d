"""End to end through a real collector: `agenttrace wrap` and `agenttrace import` send
over UDP into the ring → worker → WAL → store path; `git-links`, `costs --by commit`,
`sessions show` and `GET /api/v1/git-links/by-commit/{sha}` read what was stored."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agenttrace.query import open_engine

AGENTTRACE = str(Path(sys.executable).parent / "agenttrace")
COLLECTOR = str(Path(sys.executable).parent / "agenttrace-collector")
FIXTURES = Path(__file__).parent / "fixtures"
CLAUDE_SESSION = "7f0c2a9e-5d1b-4c3e-9a8f-1b2c3d4e5f60"


def _helper():  # -> module: tests/cli's collector helpers (free ports, readiness)
    name = "agenttrace_tests_collector_fixture"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "cli" / "collector_fixture.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# The "agent": two model calls, each followed by a commit (a second apart, as git keeps
# whole seconds), then a failing test command.
AGENT = r"""
import subprocess, time
import agenttrace as at
def commit(name, text):
    open(name, "w").write(text)
    subprocess.run(["git", "add", name], check=True)
    subprocess.run(["git", "commit", "-q", "-m", "add " + name], check=True)
with at.llm("write parser", model="gpt-4o", provider="openai") as g:
    g.set_usage(input_tokens=1_000_000, output_tokens=0)
commit("parser.py", "a\nb\n")
time.sleep(1.1)
with at.llm("write tests", model="gpt-4o", provider="openai") as g:
    g.set_usage(input_tokens=0, output_tokens=1_000_000)
commit("test_parser.py", "c\n")
at.terminal_cmd("pytest -q", exit_code=1, cwd=".")
assert at.flush(5)
"""


@dataclass
class Stored:
    data_dir: Path
    http: str
    session: str
    commits: list[str]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    helper = _helper()
    base = tmp_path_factory.mktemp("e2e")
    data_dir, log_path = base / "store", base / "collector.log"
    udp, http = helper.free_port(helper.socket.SOCK_DGRAM), helper.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTTRACE_", "OTEL_"))}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [COLLECTOR, "--data-dir", str(data_dir), "--udp", f"127.0.0.1:{udp}", "--http", f"127.0.0.1:{http}",
             "--unix", "off", "--otlp-grpc", "off", "--workers", "1", "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        helper._wait_for_line(proc, log_path, "ready", 30.0)
        repo = base / "repo"
        repo.mkdir()
        for args in (("init", "-q"), ("config", "user.email", "d@example.com"), ("config", "user.name", "D")):
            _git(repo, *args)
        (repo / "README.md").write_text("x\n")
        _git(repo, "add", "README.md")
        _git(repo, "commit", "-q", "-m", "initial")
        run_env = {**env, "AGENTTRACE_ENDPOINT": f"udp://127.0.0.1:{udp}"}
        done = subprocess.run(
            [AGENTTRACE, "wrap", "--name", "builder", "--session-id", "wrap-e2e", "--", sys.executable, "-c", AGENT],
            cwd=repo, env=run_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        done = subprocess.run(
            [AGENTTRACE, "import", "claude-code", str(FIXTURES / "claude-code" / "projects"),
             "--data-dir", str(base / "state")],
            env=run_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        # Claude Code's own events, as its OTLP log exporter sends them under wrap (OTLP/JSON).
        request = urllib.request.Request(
            f"http://127.0.0.1:{http}/v1/logs", data=_claude_logs(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
        # wrap: agent + 2 llm + terminal + 2 git links + 2 file spans; import: 3 llm + 2 tools; logs: 2
        helper._wait_until_stored(data_dir, 8 + 5 + 2, 30.0)
        commits = _git(repo, "log", "--reverse", "--format=%H", "HEAD~2..HEAD").split()
        yield Stored(data_dir, f"http://127.0.0.1:{http}", "wrap-e2e", commits)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _claude_logs() -> bytes:
    """Two records as Claude Code exports them (code.claude.com/docs/en/monitoring-usage,
    "Events"): the body names the event, ``event.name`` holds the bare name; the resource
    carries the session wrap put in OTEL_RESOURCE_ATTRIBUTES."""

    def attrs(**kv: object) -> list[dict]:
        out = []
        for k, v in kv.items():
            key = k.replace("__", ".")
            value = {"intValue": str(v)} if isinstance(v, int) else {"stringValue": str(v)}
            out.append({"key": key, "value": value})
        return out

    t = 1_758_362_400_000_000_000
    records = [
        {"timeUnixNano": str(t), "body": {"stringValue": "claude_code.api_request"},
         "attributes": attrs(event__name="api_request", session__id="cc-own", model="claude-sonnet-4-20250514",
                             input_tokens=4, output_tokens=90, cache_read_tokens=13000, cache_creation_tokens=1200,
                             duration_ms=4200, cost_usd="0.0123")},
        {"timeUnixNano": str(t + 10**9), "body": {"stringValue": "claude_code.tool_result"},
         "attributes": attrs(event__name="tool_result", session__id="cc-own", tool_name="Bash", success="true",
                             duration_ms=800, tool_parameters='{"bash_command":"ls","full_command":"ls -la"}')},
    ]  # fmt: skip
    resource = attrs(service__name="claude-code", session__id="otel-e2e")
    body = {"resourceLogs": [{"resource": {"attributes": resource}, "scopeLogs": [{"logRecords": records}]}]}
    return json.dumps(body).encode()


def _cli(stored: Stored, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENTTRACE, *args, "--data-dir", str(stored.data_dir)], capture_output=True, text=True, timeout=60
    )


def test_git_links_names_the_session_and_the_cost_of_each_commit(stored: Stored) -> None:
    first, second = stored.commits
    done = _cli(stored, "git-links", first[:8], "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["commit"] == first and report["message"] == "add parser.py"
    assert report["files"] == ["parser.py"] and report["lines_added"] == 2
    assert [s["session_id"] for s in report["sessions"]] == [stored.session]
    assert report["sessions"][0]["user_id"] == "" and len(report["traces"]) == 1
    # gpt-4o: 1M input tokens at the catalogue's input price, attributed to the first commit only
    assert report["spans"] == 1 and report["tokens"]["input_tokens"] == 1_000_000
    assert report["tokens"]["output_tokens"] == 0 and report["cost_usd"] > 0

    done = _cli(stored, "costs", "--by", "commit", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["commit"]: r for r in json.loads(done.stdout)["rows"]}
    assert set(rows) == {first, second}
    assert rows[second]["tokens"]["output_tokens"] == 1_000_000 and rows[second]["tokens"]["input_tokens"] == 0
    assert rows[first]["cost_usd"] == pytest.approx(report["cost_usd"])
    assert rows[second]["cost_usd"] > rows[first]["cost_usd"]  # output tokens cost more than input

    with urllib.request.urlopen(f"{stored.http}/api/v1/git-links/by-commit/{second}", timeout=10) as resp:
        api = json.loads(resp.read())
    assert api["commit"] == second and api["cost_usd"] == pytest.approx(rows[second]["cost_usd"])
    assert [s["session_id"] for s in api["sessions"]] == [stored.session]
    # The dashboard's "By commit" table reads the same figures as `costs --by commit`.
    with urllib.request.urlopen(f"{stored.http}/api/v1/costs/by-commit", timeout=10) as resp:
        by_commit = {r["commit"]: r for r in json.loads(resp.read())["rows"]}
    expected = {k: r["cost_usd"] for k, r in rows.items()}
    assert {k: r["cost_usd"] for k, r in by_commit.items()} == pytest.approx(expected)


def test_unknown_and_bad_commits_are_clear_errors(stored: Stored) -> None:
    done = _cli(stored, "git-links", "deadbeef")
    assert done.returncode != 0 and "no session links commit deadbeef" in done.stderr
    done = _cli(stored, "git-links", "xyz")
    assert done.returncode != 0 and "not a commit" in done.stderr
    try:
        urllib.request.urlopen(f"{stored.http}/api/v1/git-links/by-commit/deadbeef", timeout=10)
        raise AssertionError("expected a 404")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404


def test_sessions_show_lists_files_commands_and_commits(stored: Stored) -> None:
    done = _cli(stored, "sessions", "show", stored.session)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for text in ("commits", "files touched", "commands run", "parser.py", "test_parser.py", "pytest -q"):
        assert text in out, text
    assert stored.commits[0][:12] in out and stored.commits[1][:12] in out


def test_an_imported_transcript_is_stored_with_ccusages_totals(stored: Stored) -> None:
    # ccusage 17.2.1 on the same file: 43,568 tokens, $0.023499 (see test_importers.py)
    summary = open_engine(stored.data_dir).session(CLAUDE_SESSION).summary
    assert summary.tokens.total_tokens == 43_568
    assert summary.tokens.cache_read_tokens == 41_700 and summary.tokens.cache_write_tokens == 1_500
    assert summary.cost_usd == pytest.approx(0.023499, abs=1e-6)
    assert summary.service == "claude-code"


def test_http_api_and_top_show_a_coding_sessions_commits_and_files(stored: Stored) -> None:
    import asyncio

    from agenttrace.tui import AgentTraceTop, CollectorClient
    from agenttrace.tui.screens import SessionTracesScreen
    from agenttrace.tui.widgets import CodingActivity

    with urllib.request.urlopen(f"{stored.http}/api/v1/sessions/{stored.session}/coding", timeout=10) as resp:
        activity = json.loads(resp.read())
    assert [c["commit"] for c in activity["commits"]] == stored.commits
    assert [f["path"] for f in activity["files"]] == ["parser.py", "test_parser.py"]
    assert [c["command"] for c in activity["commands"]] == ["pytest -q"]

    async def panel_text(session_id: str) -> str:
        app = AgentTraceTop(CollectorClient(stored.http, timeout_s=5.0), poll=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await app.push_screen(SessionTracesScreen(session_id))
            widget = app.screen.query_one(CodingActivity)
            for _ in range(200):  # until the screen has loaded (a panel with nothing stays hidden)
                if widget.display:
                    break
                await pilot.pause(0.05)
            return str(widget.render()) if widget.display else ""

    text = asyncio.run(panel_text(stored.session))
    assert "commits 2" in text and stored.commits[0][:10] in text and "add test_parser.py" in text
    assert "parser.py (create)" in text and "commands 1 (1 failed)" in text
    # The imported Claude Code session: an Edit and a Bash call, no commit.
    text = asyncio.run(panel_text(CLAUDE_SESSION))
    assert "commits" not in text and "/home/dev/shop/refund.py (edit)" in text and "commands 1 (1 failed)" in text


def test_claude_codes_own_events_become_priced_spans_in_wraps_session(stored: Stored) -> None:
    done = _cli(stored, "spans", "--session", "otel-e2e", "--json")
    assert done.returncode == 0, done.stderr
    spans = {s["kind"]: s for s in json.loads(done.stdout)["spans"]}
    llm, bash = spans["llm"], spans["terminal"]
    assert llm["model"] == "claude-sonnet-4-20250514" and llm["input_tokens"] == 4 + 13000 + 1200
    assert llm["cache_read_tokens"] == 13000 and llm["cache_write_tokens"] == 1200 and llm["output_tokens"] == 90
    assert llm["cost_source"] == "catalogue" and llm["cost_usd"] > 0  # priced by the collector
    assert llm["attributes"]["claude_code.cost_usd"] == 0.0123  # the agent's own figure, kept
    assert llm["attributes"]["claude_code.session_id"] == "cc-own"
    assert llm["duration_ms"] == 4200
    assert bash["attributes"]["terminal.command"] == "ls -la"
