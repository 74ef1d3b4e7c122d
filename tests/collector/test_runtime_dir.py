"""The fallback runtime directory (no $XDG_RUNTIME_DIR) is private or refused (issue 20)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from agenttrace.errors import RuntimeDirError
from agenttrace.paths import default_runtime_dir, ensure_runtime_dir, fallback_runtime_dir


@pytest.fixture
def fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The fallback runtime directory, moved into tmp_path (it lives in $TMPDIR)."""
    for name in ("AGENTTRACE_RUNTIME_DIR", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = fallback_runtime_dir()
    assert default_runtime_dir() == path == tmp_path / f"agenttrace-{os.getuid()}"
    return path


def test_it_is_created_private_whatever_the_umask(fallback: Path) -> None:
    old = os.umask(0)
    try:
        ensure_runtime_dir(fallback)
    finally:
        os.umask(old)
    assert fallback.is_dir() and (fallback.stat().st_mode & 0o777) == 0o700
    assert ensure_runtime_dir(fallback) == fallback  # an existing private one is fine


def test_a_looser_mode_is_refused_and_left_alone(fallback: Path) -> None:
    fallback.mkdir()
    fallback.chmod(0o755)
    with pytest.raises(RuntimeDirError, match=r"has mode 0755; it must be 0700 \(run: chmod 700 "):
        ensure_runtime_dir(fallback)
    assert (fallback.stat().st_mode & 0o777) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root (CI runs as root)")
def test_one_owned_by_someone_else_is_refused(fallback: Path) -> None:
    fallback.mkdir(mode=0o700)
    os.chown(fallback, 65534, 65534)
    with pytest.raises(RuntimeDirError, match=f"belongs to uid 65534, not to you \\(uid {os.getuid()}\\)"):
        ensure_runtime_dir(fallback)


def test_a_symlink_is_refused(fallback: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    fallback.symlink_to(target)
    with pytest.raises(RuntimeDirError, match="is not a directory"):
        ensure_runtime_dir(fallback)


def test_a_chosen_directory_is_only_created(tmp_path: Path) -> None:
    chosen = tmp_path / "mine" / "run"
    assert ensure_runtime_dir(chosen) == chosen and chosen.is_dir()


def test_the_collector_refuses_a_shared_fallback_dir_and_exits_2(tmp_path: Path) -> None:
    run_dir = tmp_path / f"agenttrace-{os.getuid()}"
    run_dir.mkdir()
    run_dir.chmod(0o777)
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "AGENTTRACE_RUNTIME_DIR")}
    env.update(TMPDIR=str(tmp_path), AGENTTRACE_UNIX="default")
    out = subprocess.run(
        [sys.executable, "-m", "agenttrace.collector.main", "--data-dir", str(tmp_path / "d"),
         "--udp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert f"the runtime directory {run_dir} has mode 0777" in out.stderr
    assert list(run_dir.iterdir()) == []  # no socket was put there
