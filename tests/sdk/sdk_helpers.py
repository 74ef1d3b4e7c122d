"""Helpers for SDK tests: a datagram sink standing in for the collector, a recorder
that configures the SDK to send to it, and a fresh-interpreter runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import agenttrace as at
from agenttrace import wire
from agenttrace.model import Span

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


class Sink:
    """A bound datagram socket standing in for the collector."""

    def __init__(self, family: int, address: str | tuple[str, int]) -> None:
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(address)
        self.sock.setblocking(False)
        if family == socket.AF_UNIX:
            self.endpoint = f"unix://{address}"
        else:
            self.endpoint = f"udp://127.0.0.1:{self.sock.getsockname()[1]}"

    def datagrams(self, wait: float = 0.0) -> list[bytes]:
        """Every datagram received so far (waiting up to ``wait`` s for the first)."""
        out: list[bytes] = []
        if wait:
            self.sock.settimeout(wait)
            try:
                out.append(self.sock.recv(65536))
            except (TimeoutError, BlockingIOError):
                return out
            finally:
                self.sock.setblocking(False)
        while True:
            try:
                out.append(self.sock.recv(65536))
            except BlockingIOError:
                return out

    def decoded(self, wait: float = 0.0) -> list[wire.Datagram]:
        return [wire.decode(d) for d in self.datagrams(wait)]

    def spans(self, wait: float = 0.0) -> list[Span]:
        return [s for d in self.decoded(wait) for s in d.spans]

    def close(self) -> None:
        self.sock.close()


class Recorder:
    """The SDK configured to send to a sink; ``spans()`` flushes and returns what arrived."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def configure(self, **kw: object) -> None:
        kw.setdefault("service", "tests")
        kw.setdefault("endpoint", self.sink.endpoint)
        at.configure(**kw)  # type: ignore[arg-type]

    def spans(self) -> list[Span]:
        at.flush(5)  # False when spans were dropped; tests that drop on purpose count them
        assert not at.stats()["last_flush"]["timed_out"]
        return self.sink.spans()

    def by_name(self) -> dict[str, Span]:
        spans = self.spans()
        names = [s.name for s in spans]
        assert len(set(names)) == len(names), f"duplicate span names: {names}"
        return {s.name: s for s in spans}
