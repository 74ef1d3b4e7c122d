"""``agenttrace status`` against a real HTTP server on a real socket, and against nothing."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from agenttrace.cli import app
from agenttrace.collector.live import LiveSnapshot, LiveWorker

runner = CliRunner()

SNAPSHOT = LiveSnapshot(
    time=1.0,
    uptime_s=42.0,
    window_s=1.0,
    spans_per_s=1234.5,
    datagrams_per_s=99.0,
    stored_total=5000,
    workers=[LiveWorker(id=0, alive=True), LiveWorker(id=1, alive=False)],
)


class _Collectorish(BaseHTTPRequestHandler):
    """Answers /healthz and /api/v1/live as the collector does; requires a key if set."""

    api_key: str | None = None

    def do_GET(self) -> None:
        if self.path == "/healthz":
            body, code = b"ok", 200
        elif self.path == "/api/v1/live":
            if self.api_key and self.headers.get("Authorization") != f"Bearer {self.api_key}":
                body, code = b'{"status_code":401}', 401
            else:
                body, code = msgspec.json.encode(SNAPSHOT), 200
        else:
            body, code = b"", 404
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Collectorish)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    _Collectorish.api_key = None


def _url(srv: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_running_collector_shows_rates_and_store_size(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    (tmp_path / "segments" / "2026-11-22").mkdir(parents=True)
    (tmp_path / "segments" / "2026-11-22" / "w0-1.seg").write_bytes(b"x" * 2048)
    result = runner.invoke(app, ["status", "--url", _url(server), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"collector running at {_url(server)}" in result.output
    assert "1,234.5 spans/s" in result.output
    assert "workers 1/2 alive" in result.output
    assert "2.0 KiB in 1 segments" in result.output


def test_json_report_has_stable_fields(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--url", _url(server), "--data-dir", str(tmp_path), "--json"])
    report = json.loads(result.output)
    assert report["collector"]["running"] is True
    assert report["collector"]["live"]["spans_per_s"] == 1234.5
    assert report["store"] == {
        "data_dir": str(tmp_path),
        "exists": True,
        "bytes": 0,
        "files": 0,
        "segments": 0,
        "damaged": [],
        "postgres_backlog_bytes": None,  # no PostgreSQL sink ever ran on this data directory
    }


def test_api_key_is_sent_when_given(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    _Collectorish.api_key = "s3cret"
    args = ["status", "--url", _url(server), "--data-dir", str(tmp_path)]
    denied = runner.invoke(app, args)
    assert "HTTP 401" in denied.output and "--api-key" in denied.output
    allowed = runner.invoke(app, [*args, "--api-key", "s3cret"])
    assert "1,234.5 spans/s" in allowed.output


def test_no_collector_exits_non_zero_and_still_reports_the_store(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = runner.invoke(app, ["status", "--url", url, "--data-dir", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert f"no collector at {url}" in result.output
    assert "does not exist yet" in result.output


def test_wait_returns_once_a_collector_starts_answering(tmp_path: Path) -> None:
    # Scripts start a collector in the background and wait for it: `agenttrace status --wait 30`.
    port = _free_port()
    srv = ThreadingHTTPServer(("127.0.0.1", port), _Collectorish)
    srv_thread = threading.Thread(target=srv.serve_forever, daemon=True)
    starter = threading.Timer(0.6, srv_thread.start)  # it comes up after the first probes fail
    starter.start()
    try:
        result = runner.invoke(
            app, ["status", "--url", f"http://127.0.0.1:{port}", "--data-dir", str(tmp_path), "--wait", "20"]
        )
    finally:
        starter.join()
        srv.shutdown()
        srv.server_close()
    assert result.exit_code == 0, result.output
    assert "collector running" in result.output


def test_wait_gives_up_with_a_non_zero_exit(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = runner.invoke(app, ["status", "--url", url, "--data-dir", str(tmp_path), "--wait", "0.5"])
    assert result.exit_code == 1 and f"no collector at {url}" in result.output
