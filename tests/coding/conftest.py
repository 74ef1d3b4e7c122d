"""Fixtures for the coding-agent tests: a datagram sink standing in for the collector."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from agenttrace import wire
from agenttrace.model import Span


class UdpSink:
    """A bound UDP socket on loopback: what `agenttrace wrap` and its child send arrives here."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.endpoint = f"udp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.received: list[Span] = []

    def spans_until(self, done, timeout: float = 15.0) -> list[Span]:
        """Collect spans until ``done(spans)`` holds or the deadline passes."""
        deadline = time.monotonic() + timeout
        while not done(self.received) and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                self.received.extend(wire.decode(self.sock.recv(65536)).spans)
        return self.received

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def udp_sink() -> Iterator[UdpSink]:
    sink = UdpSink()
    yield sink
    sink.close()
