"""End to end: a real collector process with a [pricing] table prices what it receives.

Datagrams are built with ``agenttrace.wire.encode`` and sent over real UDP; the spans
are read back from the sealed segments the collector wrote.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agenttrace import wire
from agenttrace.model import Span, Usage

CONFIG = """
[pricing.aliases]
"prod-gpt4o" = "azure/gpt-4o"

[pricing.overrides."in-house-llm"]
input = 1.0
output = 2.0
"""


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _span(i: int, model: str, usage: Usage | None, **kw: object) -> Span:
    now = time.time_ns()
    return Span(
        trace_id=(1000 + i).to_bytes(16, "big"),
        span_id=(1000 + i).to_bytes(8, "big"),
        name=f"call-{i}",
        start_ns=now,
        end_ns=now + 1_000_000,
        model=model,
        usage=usage,
        **{"kind": "llm", **kw},
    )


@pytest.fixture
def collector(tmp_path: Path):
    udp, http = _free_udp_port(), _free_tcp_port()
    conf = tmp_path / "collector.toml"
    conf.write_text(CONFIG)
    log = tmp_path / "collector.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agenttrace.collector.main",
                "--config",
                str(conf),
                "--data-dir",
                str(tmp_path / "data"),
                "--udp",
                f"127.0.0.1:{udp}",
                "--http",
                f"127.0.0.1:{http}",
                "--unix",
                "off",
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 30
        while "ready" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"collector did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield udp, tmp_path / "data", log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _stored(data_dir: Path, n: int, log: Path) -> dict[str, Span]:
    from agenttrace.query.segments import SegmentQueryEngine as QueryEngine

    engine = QueryEngine(data_dir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spans = list(engine.iter_spans()) if data_dir.exists() else []
        if len(spans) >= n:
            return {s.name: s for s in spans}
        time.sleep(0.2)
    pytest.fail(f"only {len(spans)} of {n} spans stored:\n{log.read_text(errors='replace')}")


def test_collector_prices_spans_with_the_config(collector) -> None:
    udp, data_dir, log = collector
    spans = [
        _span(0, "gpt-4o", Usage(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=2_000)),
        _span(1, "prod-gpt4o", Usage(input_tokens=1_000_000), provider="azure"),
        _span(2, "in-house-llm", Usage(input_tokens=1_000_000, output_tokens=1_000_000)),
        _span(3, "gpt-4o", Usage(input_tokens=1_000_000), cost_usd=0.5),
        _span(4, "mystery-model-9000", Usage(input_tokens=5)),
        _span(5, "gpt-4o", None, kind="tool"),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(wire.encode(spans, sender_id=77, seq=0), ("127.0.0.1", udp))
    got = _stored(data_dir, len(spans), log)
    # gpt-4o: 8,000*2.5 + 2,000*1.25 + 1,000*10 per 1M
    assert (round(got["call-0"].cost_usd, 6), got["call-0"].cost_source) == (0.0325, "catalogue")
    assert (got["call-1"].cost_usd, got["call-1"].cost_source) == (2.5, "catalogue")  # alias -> azure/gpt-4o
    assert (got["call-2"].cost_usd, got["call-2"].cost_source) == (3.0, "override")
    assert (got["call-3"].cost_usd, got["call-3"].cost_source) == (0.5, "sdk")
    assert (got["call-4"].cost_usd, got["call-4"].cost_source) == (None, "unknown")
    assert (got["call-5"].cost_usd, got["call-5"].cost_source) == (None, "")
