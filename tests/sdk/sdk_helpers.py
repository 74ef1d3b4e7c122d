"""Helpers for SDK tests that need a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_python(
    code: str, env: dict[str, str] | None = None, args: list[str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this venv with only the given AGENTTRACE_* vars."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith("AGENTTRACE_") or k == "AGENTTRACE_NO_EXTENSIONS"
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code, *(args or [])],
        env=full_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
