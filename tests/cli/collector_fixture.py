"""A real collector, filled by the real SDK, shared by tests/cli and tests/api.

:func:`filled_store` starts ``agenttrace-collector`` as a subprocess on free loopback
ports, runs a small agent workload in another process through ``import agenttrace as at``
(UDP), waits until every span is sealed in the store, and returns what the tests need
to know about it. One collector serves the whole test session (both directories load
this module under one name, so the instance is shared).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
COLLECTOR = str(VENV_BIN / "agenttrace-collector")

# The agent workload, run in its own process so the SDK's global configuration and
# emitter thread never touch the test process. It prints the ids it created as JSON.
WORKLOAD = r"""
import json, sys, time
import agenttrace as at

endpoint = sys.argv[1]
ids = {}

def tid(s):
    return s.traceparent.split("-")[1]

at.configure(service="shop-agent", endpoint=endpoint, environment="test")
with at.session("sess-alpha", user_id="alice"):
    with at.agent("answer customer") as root:
        ids["refund"] = tid(root)
        with at.llm("plan", model="gpt-4o", provider="openai") as g:
            time.sleep(0.02)
            g.set_usage(input_tokens=1000, output_tokens=200, cache_read_tokens=400)
        with at.tool("lookup_order"):
            time.sleep(0.01)
        try:
            with at.tool("refund"):
                time.sleep(0.005)
                raise TimeoutError("payment gateway timeout")
        except TimeoutError:
            pass
    with at.agent("follow up") as root:
        ids["follow_up"] = tid(root)
        with at.llm("reply", model="claude-sonnet-4-5", provider="anthropic") as g:
            time.sleep(0.01)
            g.set_usage(input_tokens=2000, output_tokens=500)

at.configure(service="research-agent", endpoint=endpoint, environment="test")
with at.session("sess-beta", user_id="bob"):
    with at.agent("research") as root:
        ids["research"] = tid(root)
        with at.llm("search plan", model="gpt-4o-mini", provider="openai") as g:
            g.set_usage(input_tokens=500, output_tokens=50)
        with at.retrieval("vector search"):
            time.sleep(0.005)
        with at.llm("summarise", model="mystery-model-9000", provider="acme") as g:
            g.set_usage(input_tokens=100, output_tokens=10)

assert at.flush(timeout=5.0), at.stats()
print(json.dumps(ids))
"""

EXPECTED_SPANS = 10
EXPECTED_ERRORS = 1
EXPECTED_INPUT_TOKENS = 1000 + 2000 + 500 + 100
EXPECTED_OUTPUT_TOKENS = 200 + 500 + 50 + 10


@dataclass
class FilledStore:
    data_dir: Path
    http_url: str
    udp: str
    trace_ids: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_line(proc: subprocess.Popen[bytes], log_path: Path, want: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
        if any(line.strip() == want for line in lines):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited with {proc.returncode}:\n" + "\n".join(lines))
        time.sleep(0.1)
    raise RuntimeError(f"collector did not say {want!r} within {timeout}s:\n" + log_path.read_text())


def _wait_until_stored(data_dir: Path, expected: int, timeout: float) -> None:
    from agenttrace.query.segments import SegmentQueryEngine as QueryEngine

    engine = QueryEngine(data_dir)
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        rows = engine.aggregate([]).rows
        count = rows[0].count if rows else 0
        if count >= expected:
            return
        time.sleep(0.2)
    raise RuntimeError(f"only {count} of {expected} spans reached the store within {timeout}s")


_instance: FilledStore | None = None


def filled_store(base: Path) -> FilledStore:
    """The shared collector and store (started on first use, under ``base``)."""
    global _instance
    if _instance is not None:
        return _instance
    data_dir = base / "store"
    udp_port, http_port = free_port(socket.SOCK_DGRAM), free_port()
    env = {k: v for k, v in os.environ.items() if k != "AGENTTRACE_API_KEY"}
    log_path = base / "collector.log"
    # A file, not a pipe: nobody has to drain it while the tests run.
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [
                COLLECTOR,
                "--data-dir",
                str(data_dir),
                "--udp",
                f"127.0.0.1:{udp_port}",
                "--http",
                f"127.0.0.1:{http_port}",
                "--unix",
                "off",
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_for_line(proc, log_path, "ready", 30.0)
        run = subprocess.run(
            [sys.executable, "-c", WORKLOAD, f"udp://127.0.0.1:{udp_port}"],
            capture_output=True,
            timeout=60,
            env=env,
            check=False,
        )
        if run.returncode != 0:
            raise RuntimeError(f"the SDK workload failed:\n{run.stderr.decode()}")
        trace_ids = json.loads(run.stdout.decode().strip().splitlines()[-1])
        _wait_until_stored(data_dir, EXPECTED_SPANS, 30.0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    _instance = FilledStore(
        data_dir=data_dir,
        http_url=f"http://127.0.0.1:{http_port}",
        udp=f"udp://127.0.0.1:{udp_port}",
        trace_ids=trace_ids,
        process=proc,
        log_path=log_path,
    )
    return _instance


def stop_shared() -> None:
    global _instance
    if _instance is not None:
        _instance.stop()
        _instance = None
