"""Fixtures for SDK tests: a real datagram sink (UDP or Unix) and a configured SDK."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator

import pytest
from sdk_helpers import Recorder, Sink  # type: ignore[import-not-found]

from agenttrace.sdk import runtime


@pytest.fixture
def udp_sink() -> Iterator[Sink]:
    sink = Sink(socket.AF_INET, ("127.0.0.1", 0))
    yield sink
    sink.close()


@pytest.fixture
def unix_sink() -> Iterator[Sink]:
    with tempfile.TemporaryDirectory(prefix="at-sdk-") as tmp:
        sink = Sink(socket.AF_UNIX, os.path.join(tmp, "collector.sock"))
        yield sink
        sink.close()


@pytest.fixture(autouse=True)
def _pristine_sdk() -> Iterator[None]:
    """Leave the SDK unconfigured after every test, as a fresh process would find it."""
    yield
    runtime.reset()


@pytest.fixture
def rec(udp_sink: Sink) -> Iterator[Recorder]:
    recorder = Recorder(udp_sink)
    recorder.configure()
    yield recorder
    runtime.reset()
