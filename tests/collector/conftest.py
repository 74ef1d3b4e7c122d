"""Fixtures: a real collector in a subprocess, on ephemeral ports, with a temporary data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_helpers import RunningCollector


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator:
    """Start collectors with extra flags; every one started is stopped at teardown."""
    started: list[RunningCollector] = []

    def start(*extra: str, config: str | None = None, env: dict[str, str] | None = None) -> RunningCollector:
        n = len(started)
        data_dir = tmp_path / f"data{n}"
        unix_path = tmp_path / f"run{n}" / "c.sock"
        args = [
            sys.executable, "-m", "agenttrace.collector.main",
            "--data-dir", str(data_dir), "--udp", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--unix", str(unix_path), "--workers", "2", *extra,
        ]  # fmt: skip
        if config is not None:
            path = tmp_path / f"collector{n}.toml"
            path.write_text(config)
            args += ["--config", str(path)]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
        c = RunningCollector(proc, data_dir, unix_path)
        started.append(c)
        c.wait_ready()
        return c

    yield start
    for c in started:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait(10)
