"""Ids over the API, served by uvicorn on loopback from a store the real writer filled:
every printed form of an id and a unique prefix (8+ digits) are taken; an ambiguous
prefix answers 409 with the candidates; listings carry ``total``."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar

from agenttrace import wire
from agenttrace.collector.api import build_api_router, build_openapi_config
from agenttrace.model import Span
from agenttrace.query.segments import SegmentQueryEngine
from agenttrace.store.writer import SegmentWriter, WriterConfig
from agenttrace.web.api import build_dashboard_router

T0 = 1_763_769_600_000_000_000
TRACE_A = "ab12cd34" + "00" * 11 + "0a"  # shares 8 digits with TRACE_B
TRACE_B = "ab12cd34" + "00" * 11 + "0b"
TRACE_C = "5e" * 16


def _span(trace: str, n: int, session: str) -> Span:
    return Span(
        trace_id=bytes.fromhex(trace),
        span_id=n.to_bytes(8, "big"),
        parent_id=b"",
        name=f"step-{n}",
        start_ns=T0 + n * 1_000_000,
        end_ns=T0 + n * 1_000_000 + 500_000,
        session_id=session,
        service="svc",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    path: Path = tmp_path_factory.mktemp("api-ids")
    spans = [
        _span(TRACE_A, 1, "session-alpha-1"),
        _span(TRACE_B, 2, "session-alpha-2"),
        _span(TRACE_C, 3, "session-beta"),
    ]
    with SegmentWriter(path, 0, WriterConfig(seal_rows=2, wal_fsync="none", seal_age_s=3600.0)) as w:
        for k, s in enumerate(spans):
            w.append(wire.encode([s], sender_id=1, seq=k), [s])
    engine = SegmentQueryEngine(path)
    app = Litestar(
        route_handlers=[build_api_router(engine), build_dashboard_router(engine)], openapi_config=build_openapi_config()
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=logging.WARNING))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as client:
        yield client
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("given", [TRACE_C, TRACE_C.upper(), "0x" + TRACE_C, TRACE_C[:12], TRACE_C[:16], TRACE_C[:8]])
def test_a_trace_route_takes_every_printed_form_and_a_unique_prefix(api: httpx.Client, given: str) -> None:
    response = api.get(f"/traces/{given}")
    assert response.status_code == 200, response.text
    assert response.json()["trace_id"] == TRACE_C


def test_an_ambiguous_trace_prefix_is_409_with_the_candidates(api: httpx.Client) -> None:
    response = api.get(f"/traces/{TRACE_A[:8]}")
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["extra"]["candidates"] == [TRACE_A, TRACE_B]


def test_a_short_or_malformed_trace_id_is_400(api: httpx.Client) -> None:
    assert api.get(f"/traces/{TRACE_C[:6]}").status_code == 400
    assert api.get("/traces/xyz").status_code == 400


def test_a_session_route_takes_a_unique_prefix_and_lists_an_ambiguous_one(api: httpx.Client) -> None:
    assert api.get("/sessions/session-beta").json()["summary"]["session_id"] == "session-beta"
    assert api.get("/sessions/session-b").json()["summary"]["session_id"] == "session-beta"
    many = api.get("/sessions/session-alpha")
    assert many.status_code == 409
    assert many.json()["extra"]["candidates"] == ["session-alpha-1", "session-alpha-2"]
    assert api.get("/sessions/nobody").status_code == 404


def test_spans_by_a_trace_prefix(api: httpx.Client) -> None:
    spans = api.get("/spans", params={"trace": TRACE_C[:12]}).json()["spans"]
    assert [s["trace_id"] for s in spans] == [TRACE_C]


def test_listings_carry_the_total(api: httpx.Client) -> None:
    page = api.get("/sessions", params={"limit": 1}).json()
    assert len(page["sessions"]) == 1 and page["total"] == 3
    traces = api.get("/traces", params={"limit": 5}).json()
    assert len(traces["traces"]) == 3 and traces["total"] == 3


def test_the_dashboard_routes_take_a_prefix_too(api: httpx.Client) -> None:
    outline = api.get(f"/traces/{TRACE_C[:12]}/outline")
    assert outline.status_code == 200, outline.text
    assert outline.json()["trace_id"] == TRACE_C
    many = api.get(f"/traces/{TRACE_A[:8]}/outline")
    assert many.status_code == 400
    assert TRACE_A in many.text and TRACE_B in many.text
