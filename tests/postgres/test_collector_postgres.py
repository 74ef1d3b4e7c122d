"""A real collector with ``[postgres] dsn`` and ``[store] read = "postgres"``: spans sent
over UDP land in PostgreSQL (and its segments), /metrics counts the sink, the API answers
from PostgreSQL what the segment engine answers, and ``agenttrace status`` shows the backlog."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import asyncpg
import msgspec
from pg_helpers import fetch, wait_for

from agenttrace.model import Span
from agenttrace.query.segments import SegmentQueryEngine
from agenttrace.store.postgres.sink import write_spans
from agenttrace.store.synthetic import generate_spans
from agenttrace.wire import encode


async def _insert(dsn: str, span: Span) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await write_spans(conn, [span])
    finally:
        await conn.close()


class _Collector:
    def __init__(self, tmp: Path, dsn: str) -> None:
        self.data = tmp / "data"
        cfg = tmp / "collector.toml"
        cfg.write_text(f'[postgres]\ndsn = "{dsn}"\n\n[store]\nread = "postgres"\nseal_age_s = 0.2\n')
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agenttrace.collector.main", "--config", str(cfg), "--data-dir", str(self.data),
             "--udp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--unix", "off", "--otlp-grpc", "off",
             "--workers", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.lines: list[str] = []
        self.udp: tuple[str, int] | None = None
        self.http = ""
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if m := re.search(r"udp://([0-9.]+):(\d+)", line):
                self.udp = (m.group(1), int(m.group(2)))
            if m := re.search(r"(http://[0-9.]+:\d+)", line):
                self.http = m.group(1)
            if line.strip() == "ready":
                self.ready.set()

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.http + path, timeout=30) as resp:
            return resp.read()


def test_collector_writes_to_postgres_and_its_api_reads_from_it(tmp_path: Path, pg_dsn: str) -> None:
    c = _Collector(tmp_path, pg_dsn)
    try:
        wait_for(lambda: c.ready.is_set() or c.proc.poll() is not None, 60, "the collector to start")
        assert c.ready.is_set(), "\n".join(c.lines) + (c.proc.stderr.read() if c.proc.stderr else "")
        spans = list(generate_spans(2000, seed=21))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(0, len(spans), 10):
                s.sendto(encode(spans[i : i + 10], sender_id=7, seq=i // 10), c.udp)

        def in_pg() -> int:
            if not fetch(pg_dsn, "SELECT to_regclass('spans') IS NOT NULL")[0][0]:
                return 0
            return fetch(pg_dsn, "SELECT count(*) FROM spans")[0][0]

        wait_for(lambda: in_pg() == len(spans), 60, "every span in PostgreSQL")
        # The segments hold them too; the API (reading PostgreSQL) answers as they do.
        seg = SegmentQueryEngine(c.data)
        wait_for(lambda: seg.summary().spans == len(spans), 30, "the segments sealed")
        api = json.loads(c.get("/api/v1/sessions?since=2020-01-01&limit=500"))
        local = msgspec.to_builtins(seg.sessions(limit=500))
        assert api["sessions"]
        assert [x["session_id"] for x in api["sessions"]] == [x["session_id"] for x in local["sessions"]]
        assert [x["spans"] for x in api["sessions"]] == [x["spans"] for x in local["sessions"]]
        # A span only PostgreSQL holds (another collector's, say): the API sees it.
        other = msgspec.structs.replace(spans[0], trace_id=b"\x42" * 16, session_id="from-another-collector")
        asyncio.run(_insert(pg_dsn, other))
        detail = json.loads(c.get("/api/v1/sessions/from-another-collector"))
        assert detail["summary"]["spans"] == 1
        metrics = c.get("/metrics").decode()

        def metric(name: str) -> float:
            m = re.search(rf"^{name} (\S+)$", metrics, re.M)
            assert m, f"{name} missing from /metrics"
            return float(m.group(1))

        assert metric("agenttrace_postgres_spans_written_total") == len(spans)
        assert metric("agenttrace_postgres_connected") == 1
        status = subprocess.run([sys.executable, "-m", "agenttrace.cli", "status", "--url", c.http, "--data-dir",
                                 str(c.data), "--json"], capture_output=True, text=True, timeout=60)  # fmt: skip
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["store"]["postgres_backlog_bytes"] == 0
    finally:
        c.proc.send_signal(signal.SIGTERM)
        c.proc.wait(60)
    assert c.proc.returncode == 0
