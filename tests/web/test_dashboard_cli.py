"""``agenttrace dashboard``: the URL printed, handed to a browser ($BROWSER), a clear
error when no collector answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from web_helpers import free_port

AGENTTRACE = str(Path(sys.executable).parent / "agenttrace")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("AGENTTRACE_URL", "BROWSER")}
    return subprocess.run(
        [AGENTTRACE, "dashboard", *args], capture_output=True, text=True, timeout=60, env={**base, **(env or {})}
    )


def test_prints_the_url_and_opens_it_in_the_browser(dashboard, tmp_path):
    run = _run("--url", dashboard.url, "--no-open")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"{dashboard.url}/#/overview"

    seen = tmp_path / "opened.txt"
    fake = tmp_path / "fake-browser"
    fake.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {seen}\n')
    fake.chmod(0o755)
    run = _run("--view", "sessions", env={"AGENTTRACE_URL": dashboard.url, "BROWSER": f"{fake} %s"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == seen.read_text() == f"{dashboard.url}/#/sessions"


def test_no_collector_is_an_error_not_a_blank_page(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    run = _run("--url", url, env={"BROWSER": str(tmp_path / "must-not-run")})
    assert run.returncode == 1
    assert f"no collector answers at {url}" in run.stderr and "agenttrace collector" in run.stderr
    assert run.stdout == ""
