"""Where the store is looked for when no --data-dir is given (shared with the collector)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from agenttrace.paths import default_data_dir, default_runtime_dir


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AGENTTRACE_DATA_DIR", "XDG_DATA_HOME", "AGENTTRACE_RUNTIME_DIR", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_data_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "agenttrace"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "agenttrace"
    monkeypatch.setenv("AGENTTRACE_DATA_DIR", str(tmp_path / "explicit"))
    assert default_data_dir() == tmp_path / "explicit"


def test_relative_xdg_values_are_ignored_as_the_spec_says(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "agenttrace"


def test_runtime_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_runtime_dir() == Path(tempfile.gettempdir()) / f"agenttrace-{os.getuid()}"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert default_runtime_dir() == tmp_path / "run" / "agenttrace"
    monkeypatch.setenv("AGENTTRACE_RUNTIME_DIR", "~/sockets")
    assert default_runtime_dir() == tmp_path / "home" / "sockets"
