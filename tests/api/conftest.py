"""Fixtures of the API tests: the shared collector (tests/cli/collector_fixture.py), filled by the real SDK."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def load_collector_fixture():  # -> module
    """tests/ is not a package: load the shared helper once, under one module name."""
    name = "agenttrace_tests_collector_fixture"
    if name not in sys.modules:
        helper = Path(__file__).parent.parent / "cli" / "collector_fixture.py"
        spec = importlib.util.spec_from_file_location(name, helper)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The shared collector and its store (see collector_fixture.py)."""
    helper = load_collector_fixture()
    store = helper.filled_store(tmp_path_factory.mktemp("collector"))
    yield store
    helper.stop_shared()
