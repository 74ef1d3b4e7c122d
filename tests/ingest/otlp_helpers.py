"""A real collector in a subprocess with OTLP/HTTP and OTLP/gRPC on free loopback ports,
and the reader every OTLP test checks against: ``agenttrace traces show ID --json``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

START_TIMEOUT = 60.0
API_KEY = "otlp-test-key"


class OtlpCollector:
    def __init__(self, base: Path, *extra: str, config: str = "", env: dict[str, str] | None = None) -> None:
        self.data_dir = base / "data"
        base.mkdir(parents=True, exist_ok=True)
        cfg = base / "collector.toml"
        cfg.write_text(config)
        args = [
            sys.executable, "-m", "agenttrace.collector.main", "--config", str(cfg),
            "--data-dir", str(self.data_dir), "--udp", "127.0.0.1:0", "--unix", "off",
            "--http", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--workers", "2", *extra,
        ]  # fmt: skip
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env)
        self.lines: list[str] = []
        self.http = ""
        self.grpc = ""
        self.udp: tuple[str, int] = ("", 0)
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError("collector did not start:\n" + "\n".join(self.lines))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            m = re.search(r"listening (http://[0-9.]+:\d+)", line)
            if m:
                self.http = m.group(1)
            m = re.search(r"udp://([0-9.]+):(\d+)", line)
            if m:
                self.udp = (m.group(1), int(m.group(2)))
            m = re.search(r"otlp-grpc://([0-9.]+:\d+)", line)
            if m:
                self.grpc = m.group(1)
            if line == "ready":
                self._ready.set()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    # --- HTTP -----------------------------------------------------------------------

    def request(self, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        """(status, headers, body) of one request; POST when ``body`` is given."""
        req = urllib.request.Request(self.http + path, data=body, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def metrics(self) -> dict[str, float]:
        status, _, body = self.request("/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
        assert status == 200, body
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def live(self) -> dict:
        status, _, body = self.request("/api/v1/live", headers={"Authorization": f"Bearer {API_KEY}"})
        assert status == 200, body
        return json.loads(body)

    def worker_pids(self) -> list[int]:
        return [w["pid"] for w in self.live()["workers"]]

    def wait_metric(self, name: str, predicate, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while True:
            value = self.metrics().get(name, 0.0)
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} = {value}, condition not met")
            time.sleep(0.1)

    # --- reading back ---------------------------------------------------------------

    def show(self, trace_id: str, *, expect_spans: int, timeout: float = 30.0) -> dict:
        """``agenttrace traces show ID --json`` once the trace has ``expect_spans`` spans."""
        deadline = time.monotonic() + timeout
        while True:
            out = subprocess.run(
                [sys.executable, "-m", "agenttrace.cli", "traces", "show", trace_id, "--json",
                 "--data-dir", str(self.data_dir)],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            if out.returncode == 0:
                tree = json.loads(out.stdout)
                if len(tree["spans"]) >= expect_spans:
                    return tree
            if time.monotonic() > deadline:
                raise AssertionError(f"trace {trace_id} not stored: {out.stdout[-2000:]} {out.stderr[-2000:]}")
            time.sleep(0.3)


def by_name(tree: dict) -> dict[str, dict]:
    return {s["name"]: s for s in tree["spans"]}
