"""Helpers for the collector tests: a real collector in a subprocess, datagram builders."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from agenttrace.model import Span, Usage
from agenttrace.wire import encode

START_TIMEOUT = 60.0


class RunningCollector:
    def __init__(self, proc: subprocess.Popen, data_dir: Path, unix_path: Path) -> None:
        self.proc = proc
        self.data_dir = data_dir
        self.unix_path = unix_path
        self.out_lines: list[str] = []
        self.udp: tuple[str, int] | None = None
        self.http: str | None = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.out_lines.append(line)
            m = re.search(r"udp://([0-9.]+):(\d+)", line)
            if m:
                self.udp = (m.group(1), int(m.group(2)))
            m = re.search(r"(http://[0-9.]+:\d+)", line)
            if m:
                self.http = m.group(1)
            if line == "ready":
                self._ready.set()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"collector did not start: {self.output()}")

    def output(self) -> str:
        err = ""
        if self.proc.poll() is not None and self.proc.stderr is not None:
            err = self.proc.stderr.read()
        return "\n".join(self.out_lines) + "\n" + err

    # --- HTTP ----------------------------------------------------------------

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.http + path, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def metrics(self) -> dict[str, float]:
        status, body = self.get("/metrics")
        assert status == 200
        out: dict[str, float] = {}
        for line in body.decode().split("\n"):  # label values may hold \x0b, \x1c, ...: not line breaks
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def live(self) -> dict:
        status, body = self.get("/api/v1/live")
        assert status == 200
        return json.loads(body)

    def wait_live(self, predicate, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            live = self.live()
            if predicate(live):
                return live
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met; live: {live}")
            time.sleep(0.1)

    def wait_for(self, predicate, timeout: float = 30.0) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while True:
            m = self.metrics()
            if predicate(m):
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met; metrics: {m}")
            time.sleep(0.1)

    # --- sending -------------------------------------------------------------

    def udp_socket(self) -> socket.socket:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send_udp(self, datagrams: list[bytes], sock: socket.socket | None = None) -> None:
        own = sock is None
        sock = sock or self.udp_socket()
        for d in datagrams:
            sock.sendto(d, self.udp)
        if own:
            sock.close()

    def worker_pids(self) -> list[int]:
        return [w["pid"] for w in self.live()["workers"]]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._reader.join(5)


def stored_spans(data_dir: Path) -> list[Span]:
    from agenttrace.store import SegmentReader, list_segments

    spans: list[Span] = []
    for info in list_segments(data_dir):
        spans.extend(SegmentReader(info.path).read_spans())
    return spans


def make_spans(
    n: int, *, service: str = "svc", model: str = "gpt-4o", kind: str = "llm", status: int = 1
) -> list[Span]:
    now = time.time_ns()
    return [
        Span(
            trace_id=os.urandom(16),
            span_id=os.urandom(8),
            name=f"step-{i}",
            start_ns=now,
            end_ns=now + 3_000_000,
            kind=kind,
            status=status,
            service=service,
            model=model,
            usage=Usage(input_tokens=100, output_tokens=20),
        )
        for i in range(n)
    ]


def datagrams(total_spans: int, per_datagram: int, *, sender_id: int, first_seq: int = 0, **kw) -> list[bytes]:
    out = []
    spans = make_spans(total_spans, **kw)
    for i in range(0, total_spans, per_datagram):
        out.append(encode(spans[i : i + per_datagram], sender_id=sender_id, seq=first_seq + len(out)))
    return out
