"""Fixtures for instrumentation tests: the fake provider APIs, a real datagram sink with
the SDK configured to send to it, and no instrumentation left behind by any test."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "sdk"))

from fake_providers import FakeProviders  # type: ignore[import-not-found]
from sdk_helpers import Recorder, Sink  # type: ignore[import-not-found]

import agenttrace as at
from agenttrace.sdk import runtime


@pytest.fixture(scope="session")
def fake_api() -> Iterator[FakeProviders]:
    server = FakeProviders()
    yield server
    server.close()


@pytest.fixture
def rec() -> Iterator[Recorder]:
    sink = Sink(socket.AF_INET, ("127.0.0.1", 0))
    recorder = Recorder(sink)
    recorder.configure()
    yield recorder
    runtime.reset()
    sink.close()


@pytest.fixture(autouse=True)
def _no_instrumentation_left() -> Iterator[None]:
    yield
    at.uninstrument()
