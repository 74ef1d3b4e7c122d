"""The README's quick start, run as written, so the README cannot drift from the code.

The commands come from README.md itself (the block marked ``<!-- command:run -->``). The
first line (make a venv, pip install) is what the test command's own install just did,
so it is left out; ``.venv/bin/`` becomes this interpreter's bin directory; and the
environment points every command at ports and directories of this test, so a collector
already running on the defaults is not disturbed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".ci"))
from readme_command import readme_command  # noqa: E402

BIN = Path(sys.executable).parent


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_gives_both_commands():
    run, test = readme_command("run"), readme_command("test")
    assert run.splitlines()[0].startswith("python3 -m venv .venv")
    assert "pytest" in test
    assert (REPO / ".ci" / "run").read_text().count("readme_command.py test") == 1


@pytest.mark.slow
def test_quick_start_runs_as_written(tmp_path):
    lines = readme_command("run").splitlines()
    assert "pip install" in lines[0]
    script = "\n".join(lines[1:]).replace(".venv/bin/", f"{BIN}/")
    http, udp = _free_port(socket.SOCK_STREAM), _free_port(socket.SOCK_DGRAM)
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {
        **os.environ,
        "AGENTTRACE_DATA_DIR": str(tmp_path / "data"),
        "XDG_RUNTIME_DIR": str(runtime),
        "AGENTTRACE_HTTP": f"127.0.0.1:{http}",
        "AGENTTRACE_UDP": f"127.0.0.1:{udp}",
        "AGENTTRACE_URL": f"http://127.0.0.1:{http}",
        "AGENTTRACE_ENDPOINT": f"udp://127.0.0.1:{udp}",
        "AGENTTRACE_WORKERS": "1",
    }
    # `$!` after the script gives the backgrounded collector's pid, to stop it afterwards.
    done = subprocess.run(
        ["bash", "-e", "-c", script + "\necho COLLECTOR_PID=$!"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    pid_line = re.search(r"COLLECTOR_PID=(\d+)", done.stdout)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        assert "collector running at" in out
        assert re.search(r"demo: (\d+) spans started, \1 sent, 0 dropped", out), out
        # The cost table: a priced row per model and a non-zero total.
        assert re.search(r"^gpt-4o\s+\d+", out, re.M), out
        total = re.search(r"^total \$([0-9.]+)", out, re.M)
        assert total and float(total.group(1)) > 0, out
    finally:
        if pid_line:
            pid = int(pid_line.group(1))
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
    log = (tmp_path / "collector.log").read_text()
    assert "ready" in log and "0 datagrams dropped, 0 lost" in log, log
