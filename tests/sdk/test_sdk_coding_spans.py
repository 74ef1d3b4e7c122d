"""The coding-agent span helpers: at.file_op, at.terminal_cmd, at.git_link, at.checkpoint.

Each records one finished span of a typed kind with the attributes docs/sdk.md lists,
under the current span; TRACEPARENT in the environment makes root spans join a
launcher's trace (what ``agenttrace wrap`` hands its child).
"""

from __future__ import annotations

from sdk_helpers import Recorder, Sink, run_python  # type: ignore[import-not-found]

import agenttrace as at


def test_each_helper_records_a_typed_span_with_its_attributes(rec: Recorder) -> None:
    with at.agent("coding run") as root:
        at.file_op("src/app.py", "edit", lines_added=12, lines_removed=3)
        at.terminal_cmd(["pytest", "-q"], exit_code=0, cwd="/repo", duration_s=1.5)
        at.terminal_cmd("make lint", exit_code=2)
        at.git_link("4f2a9c1e0b", repo="github.com/acme/shop", message="fix", files=["a.py"], lines_added=4)
        at.checkpoint("tests-green", passed=41, failed=0)
    spans = rec.by_name()
    root_span = spans["coding run"]
    assert len(spans) == 6

    f = spans["edit src/app.py"]
    assert f.kind == "file"
    assert f.attributes == {
        "file.path": "src/app.py",
        "file.operation": "edit",
        "file.lines_added": 12,
        "file.lines_removed": 3,
    }

    t = spans["pytest -q"]
    assert t.kind == "terminal" and t.status == 0
    assert t.attributes == {"terminal.command": "pytest -q", "terminal.exit_code": 0, "terminal.cwd": "/repo"}
    assert 1.4e9 < t.end_ns - t.start_ns < 60e9  # back-dated by duration_s
    failed = spans["make lint"]
    assert failed.status == at.Status.ERROR and failed.status_message == "exit status 2"

    g = spans["git commit 4f2a9c1e0b"]
    assert g.kind == "event"
    assert g.attributes == {
        "git.commit": "4f2a9c1e0b",
        "git.repo": "github.com/acme/shop",
        "git.message": "fix",
        "git.files": ["a.py"],
        "git.lines_added": 4,
    }

    c = spans["checkpoint tests-green"]
    assert c.kind == "event"
    assert c.attributes == {"checkpoint.name": "tests-green", "checkpoint.state": {"passed": 41, "failed": 0}}

    for name in ("edit src/app.py", "pytest -q", "git commit 4f2a9c1e0b", "checkpoint tests-green"):
        assert spans[name].parent_id == root_span.span_id, name
        assert spans[name].trace_id == root_span.trace_id, name
    assert root.traceparent  # the helpers did not disturb the current span


def test_helpers_are_no_ops_when_disabled(udp_sink: Sink) -> None:
    at.configure(endpoint=udp_sink.endpoint, disabled=True)
    at.file_op("a.py", "read")
    at.checkpoint("x")
    assert at.flush(2)
    assert udp_sink.spans(wait=0.2) == []


def test_traceparent_in_the_environment_parents_root_spans(udp_sink: Sink) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    code = """
import agenttrace as at
with at.agent("child run"):
    at.terminal_cmd("ls", exit_code=0)
assert at.flush(5)
"""
    env = {"AGENTTRACE_ENDPOINT": udp_sink.endpoint, "AGENTTRACE_SESSION_ID": "wrapped-1", "TRACEPARENT": parent}
    done = run_python(code, env=env)
    assert done.returncode == 0, done.stderr
    spans = {s.name: s for s in udp_sink.spans(wait=5)}
    assert spans["child run"].trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert spans["child run"].parent_id.hex() == "b7ad6b7169203331"
    assert spans["ls"].parent_id == spans["child run"].span_id
    assert {s.session_id for s in spans.values()} == {"wrapped-1"}
