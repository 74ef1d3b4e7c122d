"""AGENTTRACE_NO_EXTENSIONS has one reader (agenttrace._native.no_extensions); the build
(setup.py) asks it too, so "false" means the same to the build and to the import."""

from __future__ import annotations

import ast
import os
import runpy
from pathlib import Path

import pytest

from agenttrace._native import no_extensions

SETUP = Path(__file__).resolve().parents[2] / "setup.py"


@pytest.mark.parametrize(
    ("value", "twins"),
    [(None, False), ("", False), ("0", False), ("false", False), ("No", False), ("1", True), ("yes", True)],
)
def test_one_meaning_of_the_variable(value: str | None, twins: bool, monkeypatch) -> None:
    environ = {} if value is None else {"AGENTTRACE_NO_EXTENSIONS": value}
    assert no_extensions(environ) is twins
    # setup.py's decision, from its own helper run against the same environment
    tree = ast.parse(SETUP.read_text())
    helper = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_no_extensions")
    scope: dict = {"os": os, "runpy": runpy, "__file__": str(SETUP)}
    exec(compile(ast.Module(body=[helper], type_ignores=[]), str(SETUP), "exec"), scope)
    if value is None:
        monkeypatch.delenv("AGENTTRACE_NO_EXTENSIONS", raising=False)
    else:
        monkeypatch.setenv("AGENTTRACE_NO_EXTENSIONS", value)
    assert scope["_no_extensions"]() is twins


def test_nothing_else_reads_the_variable() -> None:
    root = SETUP.parent
    readers = [
        str(p.relative_to(root))
        for p in [SETUP, *root.glob("agenttrace/**/*.py"), *root.glob("agenttrace/**/*.pyx"), *root.glob("tui/**/*.py")]
        if 'AGENTTRACE_NO_EXTENSIONS"' in p.read_text() or "AGENTTRACE_NO_EXTENSIONS'" in p.read_text()
    ]
    assert readers == ["agenttrace/_native/__init__.py"]
