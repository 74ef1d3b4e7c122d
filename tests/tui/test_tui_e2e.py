"""End to end: a real collector, ``agenttrace demo`` sending to it, and ``agenttrace top`` in tmux.

The test reads the terminal as a user would (``tmux capture-pane``) and waits for live
figures: a non-zero spans/s rate and sessions of the demo's services.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"),
]

BIN = Path(sys.executable).parent


class Collector:
    """``agenttrace-collector`` on ephemeral ports in a temporary data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "agenttrace-collector"), "--data-dir", str(data_dir), "--udp", "127.0.0.1:0",
             "--http", "127.0.0.1:0", "--unix", "off", "--workers", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.udp = self.http = ""
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60):
            self.stop()
            raise AssertionError("collector did not start:\n" + "\n".join(self.lines))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if m := re.search(r"(udp://[0-9.]+:\d+)", line):
                self.udp = m.group(1)
            if m := re.search(r"(http://[0-9.]+:\d+)", line):
                self.http = m.group(1)
            if line.strip() == "ready":
                self.ready.set()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    c = Collector(tmp_path / "data")
    yield c
    c.stop()


def test_top_shows_live_figures_from_demo_traffic(collector: Collector, tmp_path: Path) -> None:
    assert collector.udp and collector.http, collector.lines
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color"}
    demo = subprocess.Popen(
        [str(BIN / "agenttrace"), "demo", "--endpoint", collector.udp, "--rate", "120", "--duration", "25"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    session = f"agenttrace-e2e-{os.getpid()}"
    socket_dir = tmp_path / "tmux"  # a private tmux server: never touch the user's
    socket_dir.mkdir()
    tmux = ["tmux", "-S", str(socket_dir / "sock")]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         f"{BIN / 'agenttrace'} top --url {collector.http}"],
        check=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 40
        screen = ""
        while time.monotonic() < deadline:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            rate = re.search(r"spans/s\s+([0-9.]+)(k?)", screen)
            live = rate is not None and float(rate.group(1)) > 0
            # Model calls take seconds in the demo (as they do), so the llm row comes last.
            llm_row = re.search(r"^ llm\s+\d", screen, re.M)
            services = all(name in screen for name in ("coding-agent", "support-bot"))
            if live and services and llm_row and "stored 0 " not in screen:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("no live figures on the screen:\n" + screen)
        assert "unreachable" not in screen
        assert re.search(r"\$/min [0-9.]+", screen)
        assert re.search(r"^ llm\s+\d", screen, re.M), screen  # the per-kind table has the LLM row
        # Enter on the selected session lists its traces.
        subprocess.run([*tmux, "send-keys", "-t", session, "Enter"], check=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if "STARTED" in screen and "traces" in screen:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("Enter did not open the session's traces:\n" + screen)
        subprocess.run([*tmux, "send-keys", "-t", session, "q"], check=True)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        demo.terminate()
        demo.wait(30)
