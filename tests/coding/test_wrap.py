"""`agenttrace wrap -- CMD`: real child processes, a real git repository, a real UDP socket.

The "agent" is a small Python script: it checks the environment wrap handed it, commits
in a temporary repository, emits spans with our SDK, leaves one file edited and exits 3.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agenttrace.coding.wrap import child_environment, codex_arguments, exit_status

AGENTTRACE = str(Path(sys.executable).parent / "agenttrace")

AGENT = r"""
import json, os, subprocess, sys
import agenttrace as at

env = {k: os.environ.get(k, "") for k in (
    "AGENTTRACE_SESSION_ID", "TRACEPARENT", "AGENTTRACE_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_RESOURCE_ATTRIBUTES", "CLAUDE_CODE_ENABLE_TELEMETRY", "OTEL_LOGS_EXPORTER",
    "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "GEMINI_TELEMETRY_ENABLED")}
open("agent-env.json", "w").write(json.dumps(env))
open("feature.py", "w").write("def feature():\n    return 42\n")
subprocess.run(["git", "add", "feature.py"], check=True)
subprocess.run(["git", "commit", "-q", "-m", "add feature"], check=True)
with open("README.md", "a") as f:
    f.write("more\nlines\n")
with at.llm("plan", model="claude-sonnet-4-5", provider="anthropic") as g:
    g.set_usage(input_tokens=1000, output_tokens=100)
at.terminal_cmd("pytest -q", exit_code=0)
assert at.flush(5)
sys.exit(3)
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "Dev")
    (repo / "README.md").write_text("hello\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "initial")
    return repo


def _env(sink_endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTTRACE_", "OTEL_", "TRACEPARENT"))}
    env["AGENTTRACE_ENDPOINT"] = sink_endpoint
    env["AGENTTRACE_URL"] = "http://127.0.0.1:14318"
    env["OTEL_LOGS_EXPORTER"] = "console"  # set by the user: wrap must keep it
    return env


def test_wrap_records_the_run_commits_files_and_joins_the_childs_spans(repo: Path, udp_sink) -> None:
    head_before = _git(repo, "rev-parse", "HEAD")
    done = subprocess.run(
        [AGENTTRACE, "wrap", "--name", "fixer", "--user-id", "alice", "--tags", "refactor,backend", "--",
         sys.executable, "-c", AGENT],
        cwd=repo, env=_env(udp_sink.endpoint), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr

    spans = udp_sink.spans_until(lambda got: any(s.kind == "agent" for s in got) and len(got) >= 6)
    by_name = {s.name: s for s in spans}
    root = by_name["fixer"]
    commit = _git(repo, "rev-parse", "HEAD")
    assert commit != head_before

    # The run: argv, cwd, exit status, HEAD before and after, in a session with user and tags.
    assert root.kind == "agent" and root.status == 2 and root.status_message == "exit status 3"
    assert root.attributes["wrap.argv"][0] == sys.executable
    assert root.attributes["wrap.cwd"] == str(repo)
    assert root.attributes["wrap.exit_code"] == 3
    assert root.attributes["git.head_before"] == head_before
    assert root.attributes["git.head_after"] == commit
    assert root.attributes["git.commits"] == [commit]
    assert root.user_id == "alice" and root.tags == ["refactor", "backend"]

    # Every span, the child's included, is in wrap's session and trace.
    assert {s.session_id for s in spans} == {root.session_id}
    assert {s.trace_id for s in spans} == {root.trace_id}
    plan = by_name["plan"]
    assert plan.parent_id == root.span_id and plan.usage.input_tokens == 1000
    assert by_name["pytest -q"].kind == "terminal"

    # The commit made during the run, as a git link with its numbers.
    link = by_name[f"git commit {commit[:12]}"]
    assert link.attributes["git.commit"] == commit
    assert link.attributes["git.message"] == "add feature"
    assert link.attributes["git.files"] == ["feature.py"]
    assert link.attributes["git.lines_added"] == 2 and link.attributes["git.lines_removed"] == 0
    assert link.attributes["git.repo"] == str(repo)

    # Files changed since HEAD-before (committed or not) as file spans.
    files = {s.attributes["file.path"]: s.attributes for s in spans if s.kind == "file"}
    assert files["feature.py"]["file.operation"] == "create"
    assert files["feature.py"]["file.lines_added"] == 2
    assert files["README.md"]["file.operation"] == "edit"
    assert files["README.md"]["file.lines_added"] == 2

    # The environment the child saw.
    import json

    env = json.loads((repo / "agent-env.json").read_text())
    assert env["AGENTTRACE_SESSION_ID"] == root.session_id
    assert env["TRACEPARENT"] == f"00-{root.trace_id.hex()}-{root.span_id.hex()}-01"
    assert env["AGENTTRACE_ENDPOINT"] == udp_sink.endpoint
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:14318"
    resource = f"session.id={root.session_id},agenttrace.traceparent={env['TRACEPARENT']}"
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == resource
    assert env["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    assert env["OTEL_LOGS_EXPORTER"] == "console"  # the user's own value kept
    assert env["OTEL_METRICS_EXPORTER"] == "otlp"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["GEMINI_TELEMETRY_ENABLED"] == "true"


def test_commit_on_complete_and_checkpoints(repo: Path, udp_sink) -> None:
    script = "import time; open('notes.txt','w').write('a\\nb\\nc\\n'); time.sleep(0.8)"
    done = subprocess.run(
        [AGENTTRACE, "wrap", "--session-id", "sess-fixed", "--git-commit-on-complete", "--auto-checkpoint",
         "--checkpoint-interval", "200ms", "--", sys.executable, "-c", script],
        cwd=repo, env=_env(udp_sink.endpoint), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    commit = _git(repo, "rev-parse", "HEAD")
    assert "sess-fixed" in _git(repo, "log", "-1", "--format=%B")
    spans = udp_sink.spans_until(lambda got: any(s.kind == "agent" for s in got))
    assert {s.session_id for s in spans} == {"sess-fixed"}
    links = [s for s in spans if "git.commit" in s.attributes]
    assert [s.attributes["git.commit"] for s in links] == [commit]
    assert links[0].attributes["git.files"] == ["notes.txt"]
    checkpoints = [s.attributes["checkpoint.name"] for s in spans if "checkpoint.name" in s.attributes]
    assert "final" in checkpoints and any(c.startswith("auto-") for c in checkpoints), checkpoints


def _wait_for(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_sigterm_to_wrap_reaches_the_child_and_its_status_comes_back(tmp_path: Path, udp_sink) -> None:
    ready, seen = tmp_path / "ready", tmp_path / "seen"
    child = (
        "import signal, sys, time\n"
        f"def on_term(n, f):\n    open({str(seen)!r}, 'w').write(str(n)); sys.exit(7)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        f"open({str(ready)!r}, 'w').close()\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [AGENTTRACE, "wrap", "--no-git-auto-link", "--", sys.executable, "-c", child],
        cwd=tmp_path, env=_env(udp_sink.endpoint),
    )  # fmt: skip
    try:
        _wait_for(ready)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 7
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert seen.read_text() == str(int(signal.SIGTERM))
    root = next(s for s in udp_sink.spans_until(lambda got: got) if s.kind == "agent")
    assert root.attributes["wrap.exit_code"] == 7
    assert root.attributes["wrap.signals_forwarded"] == [signal.SIGTERM]
    assert "git.head_before" not in root.attributes


def test_a_child_killed_by_a_signal_gives_128_plus_n(tmp_path: Path, udp_sink) -> None:
    ready = tmp_path / "ready"
    child = f"import time; open({str(ready)!r}, 'w').close(); time.sleep(60)"
    proc = subprocess.Popen(
        [AGENTTRACE, "wrap", "--", sys.executable, "-c", child], cwd=tmp_path, env=_env(udp_sink.endpoint)
    )
    try:
        _wait_for(ready)
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=30) == 128 + signal.SIGHUP
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_environment_keeps_what_the_user_set() -> None:
    env = child_environment(
        {"OTEL_RESOURCE_ATTRIBUTES": "team=core", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"},
        session_id="s1",
        traceparent=None,
        endpoint="udp://127.0.0.1:4319",
        otlp_url="http://127.0.0.1:4318",
    )
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "team=core,session.id=s1"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel:4318"
    assert "TRACEPARENT" not in env
    kept = child_environment(
        {"OTEL_RESOURCE_ATTRIBUTES": "session.id=mine"},
        session_id="s1",
        traceparent=None,
        endpoint="udp://x:1",
        otlp_url="http://h:1",
    )
    assert kept["OTEL_RESOURCE_ATTRIBUTES"] == "session.id=mine"


def test_codex_gets_its_exporter_as_a_config_override(tmp_path: Path) -> None:
    home = {"CODEX_HOME": str(tmp_path)}
    argv = codex_arguments(["codex", "exec", "fix it"], "http://127.0.0.1:4318", home)
    assert argv == [
        "codex",
        "-c",
        'otel.exporter={otlp-http={endpoint="http://127.0.0.1:4318/v1/logs",protocol="binary"}}',
        "exec",
        "fix it",
    ]
    assert codex_arguments(["claude"], "http://h", home) == ["claude"]
    (tmp_path / "config.toml").write_text('[otel]\nexporter = "none"\n')
    assert codex_arguments(["codex"], "http://h", home) == ["codex"]  # the user's own [otel] wins


def test_exit_status_maps_signals_like_a_shell() -> None:
    assert exit_status(0) == 0 and exit_status(3) == 3 and exit_status(-15) == 143


TTY_AGENT = r"""
import os, shutil, signal, sys, time
hits = []
signal.signal(signal.SIGINT, lambda n, f: hits.append(n))
size = shutil.get_terminal_size()
print(f"tty={os.isatty(0)} size={size.columns}x{size.lines} ready", flush=True)
deadline = time.monotonic() + 20
while not hits and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(0.5)  # a second, forwarded copy of the Ctrl-C would arrive in this time
print(f"sigints={len(hits)}", flush=True)
sys.exit(5)
"""


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_in_a_terminal_the_child_has_the_tty_and_gets_ctrl_c_once(tmp_path: Path, udp_sink) -> None:
    script = tmp_path / "agent.py"
    script.write_text(TTY_AGENT)
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock")]  # a private tmux server
    env = {**_env(udp_sink.endpoint), "TERM": "xterm-256color"}
    command = f"{AGENTTRACE} wrap --no-git-auto-link -- {sys.executable} {script}; echo EXIT=$?; sleep 30"
    subprocess.run([*tmux, "new-session", "-d", "-s", "w", "-x", "100", "-y", "30", command], check=True, env=env)
    try:

        def screen() -> str:
            return subprocess.run([*tmux, "capture-pane", "-p", "-t", "w"], capture_output=True, text=True).stdout

        deadline = time.monotonic() + 30
        while "ready" not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.1)
        assert "tty=True size=100x30" in screen()
        subprocess.run([*tmux, "send-keys", "-t", "w", "C-c"], check=True)
        while "EXIT=" not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.1)
        assert "sigints=1" in screen() and "EXIT=5" in screen(), screen()
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    # The terminal's Ctrl-C reached the child directly; wrap did not send a second one.
    root = next(s for s in udp_sink.spans_until(lambda got: any(s.kind == "agent" for s in got)) if s.kind == "agent")
    assert root.attributes["wrap.exit_code"] == 5
    assert "wrap.signals_forwarded" not in root.attributes
