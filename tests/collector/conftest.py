"""Fixtures: a real collector in a subprocess, on ephemeral ports, with a temporary data directory."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_helpers import RunningCollector


def _starter(base: Path, started: list[RunningCollector]):
    def start(*extra: str, config: str | None = None, env: dict[str, str] | None = None) -> RunningCollector:
        n = len(started)
        data_dir = base / f"data{n}"
        unix_path = base / f"run{n}" / "c.sock"
        args = [
            sys.executable, "-m", "agenttrace.collector.main",
            "--data-dir", str(data_dir), "--udp", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--unix", str(unix_path), "--workers", "2", *extra,
        ]  # fmt: skip
        if config is not None:
            path = base / f"collector{n}.toml"
            path.write_text(config)
            args += ["--config", str(path)]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
        c = RunningCollector(proc, data_dir, unix_path)
        started.append(c)
        try:
            c.wait_ready()
        except AssertionError:
            proc.kill()
            raise AssertionError(f"collector did not start: {c.output()}") from None
        return c

    return start


def _kill_all(started: list[RunningCollector]) -> None:
    for c in started:
        if c.proc.poll() is None:
            c.proc.terminate()
            try:
                c.proc.wait(20)
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait(10)
    for c in started:
        _remove_leftovers(c.data_dir)


def _remove_leftovers(data_dir: Path) -> None:
    """A killed collector leaves its rings for the next start on its data directory
    (agenttrace.collector.shm); a test's data directory has no next start."""
    from agenttrace.collector import shm

    for name in shm.find_leftovers(data_dir).rings.values():
        _unlink(name)
    for name in shm.find_leftovers(data_dir).blocks.values():
        _unlink(name)


def _unlink(name: str) -> None:
    from multiprocessing.shared_memory import _posixshmem  # type: ignore[attr-defined]

    with contextlib.suppress(FileNotFoundError):
        _posixshmem.shm_unlink("/" + name)


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator:
    """Start collectors with extra flags; every one started is stopped at teardown."""
    started: list[RunningCollector] = []
    try:
        yield _starter(tmp_path, started)
    finally:
        _kill_all(started)


@pytest.fixture(scope="module")
def shared_collector(tmp_path_factory) -> Iterator[RunningCollector]:
    """One collector for a whole module (Hypothesis tests run many examples against it)."""
    started: list[RunningCollector] = []
    try:
        yield _starter(tmp_path_factory.mktemp("shared"), started)("--workers", "2")
    finally:
        _kill_all(started)
