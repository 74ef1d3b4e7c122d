"""Fixtures of the TUI tests: a recorded collector over real HTTP, and the app around it."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import textual  # noqa: F401  ([dev] installs the TUI extra: a missing one fails loudly, never skips)

sys.path.insert(0, str(Path(__file__).parent))

import tui_recorded as recorded
from tui_server import RecordedCollector


@pytest.fixture(autouse=True)
def _fixed_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The traces list shows local wall-clock times: pin the zone so screens are identical everywhere.
    # Colour or not is decided per test (NO_COLOR in the environment would change every screen).
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.delenv("TZ", raising=False)
    time.tzset()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def collector() -> Iterator[RecordedCollector]:
    srv = RecordedCollector()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def no_collector() -> Iterator[RecordedCollector]:
    """A port where nothing listens yet (``.start()`` brings the collector up)."""
    srv = RecordedCollector()
    yield srv
    srv.stop()


@pytest.fixture
def clock() -> float:
    return recorded.NOW_S
