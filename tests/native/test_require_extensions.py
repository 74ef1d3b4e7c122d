"""AGENTTRACE_REQUIRE_EXTENSIONS=1 turns a compiled module that is missing into an
ImportError (CI's README pass), where it would quietly fall back to the twin."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import sys
class NotBuilt:
    def find_spec(self, name, path=None, target=None):
        if name == "agenttrace._native.ring":
            raise ImportError("simulated: the extension was not built")
sys.meta_path.insert(0, NotBuilt())
import warnings
warnings.simplefilter("ignore")
from agenttrace._native import load
try:
    print("loaded", load("ring").__name__)
except ImportError as exc:
    print("ImportError", exc)
"""


def _probe(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTRACE_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**base, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "loaded agenttrace._native.ring_py"),
        ({"AGENTTRACE_REQUIRE_EXTENSIONS": "1"}, "ImportError"),
        ({"AGENTTRACE_REQUIRE_EXTENSIONS": "1", "AGENTTRACE_NO_EXTENSIONS": "1"}, "loaded agenttrace._native.ring_py"),
        ({"AGENTTRACE_REQUIRE_EXTENSIONS": "0"}, "loaded agenttrace._native.ring_py"),
    ],
)
def test_a_missing_compiled_module(env: dict[str, str], expected: str) -> None:
    out = _probe(**env)
    assert out.startswith(expected), out
    if expected == "ImportError":
        assert "AGENTTRACE_REQUIRE_EXTENSIONS=1" in out and "'ring'" in out


def test_every_compiled_module_is_on_the_required_list() -> None:
    from pathlib import Path

    from agenttrace._native import COMPILED_MODULES

    here = Path(__file__).resolve().parents[2] / "agenttrace" / "_native"
    assert sorted(COMPILED_MODULES) == sorted(p.stem for p in here.glob("*.pyx"))
