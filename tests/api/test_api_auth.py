"""The API key guard, over real HTTP: the router with a key, served by uvicorn on loopback."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from litestar import Litestar

from agenttrace.collector.api import build_api_router, build_openapi_config
from agenttrace.query.segments import SegmentQueryEngine as QueryEngine

KEY = "s3cret-key-for-tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def keyed_url(filled) -> Iterator[str]:
    app = Litestar(
        route_handlers=[build_api_router(QueryEngine(filled.data_dir), api_key=KEY)],
        openapi_config=build_openapi_config(),
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="debug", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {KEY}x"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": KEY},
        {"Authorization": f"Bearer {KEY[:-1]}"},
    ],
)
def test_requests_without_the_key_are_refused(keyed_url: str, headers: dict[str, str]) -> None:
    response = httpx.get(keyed_url + "/api/v1/sessions", headers=headers, timeout=30)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "sess-alpha" not in response.text
    assert KEY not in response.text


def test_the_key_opens_every_route(filled, keyed_url: str) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    for path in ("/sessions", f"/traces/{filled.trace_ids['refund']}", "/spans", "/metrics/costs", "/export"):
        response = httpx.get(keyed_url + "/api/v1" + path, headers=auth, timeout=30)
        assert response.status_code == 200, (path, response.text)
    assert httpx.get(keyed_url + "/api/v1/export", timeout=30).status_code == 401  # streams are guarded too


def test_the_key_is_never_logged(keyed_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        httpx.get(keyed_url + "/api/v1/sessions", headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
        httpx.get(keyed_url + "/api/v1/sessions", headers={"Authorization": "Bearer guessing"}, timeout=30)
    assert caplog.records  # uvicorn logged at debug level, so there was something to look at
    assert all(KEY not in r.getMessage() and "guessing" not in r.getMessage() for r in caplog.records)


def test_openapi_marks_routes_as_needing_the_key(keyed_url: str) -> None:
    doc = httpx.get(keyed_url + "/api/docs/openapi.json", timeout=30).json()
    op = doc["paths"]["/api/v1/sessions"]["get"]
    assert op["security"] == [{"BearerAuth": []}]
    assert "401" in op["responses"]
