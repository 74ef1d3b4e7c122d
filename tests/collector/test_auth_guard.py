"""One API-key guard for every route of the collector's HTTP app (issue 20)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from litestar import get
from litestar.testing import TestClient

from agenttrace.collector.http import create_app
from agenttrace.collector.metrics import CollectorState

KEY = "one-key-for-every-route"
OPEN_PATHS = {"/healthz", "/readyz", "/api/docs", "/api/docs/openapi.json"}


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _status(url: str, headers: dict[str, str]) -> int:
    """The status alone: some routes stream (the body never ends)."""
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_every_route_but_health_answers_one_401_without_the_key(start_collector):
    c = start_collector("--workers", "1", env={"AGENTTRACE_API_KEY": KEY})
    auth = {"Authorization": f"Bearer {KEY}"}
    status, _, body = _get(c.http + "/api/docs/openapi.json")  # the description holds no data: open
    assert status == 200
    paths = [p for p, ops in json.loads(body)["paths"].items() if "get" in ops and "{" not in p]
    paths += ["/metrics", "/api/v1/live"]
    refusals = set()
    for path in paths:
        if path in OPEN_PATHS:
            continue
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
            status, head, body = _get(c.http + path, headers)
            assert status == 401, (path, headers, status)
            assert head.get("WWW-Authenticate") == 'Bearer realm="agenttrace"', (path, head)
            refusals.add(body)
        assert _status(c.http + path, auth) != 401, path
    assert len(refusals) == 1, refusals  # the same guard said it, the same way, everywhere
    assert KEY.encode() not in refusals.pop()
    for path in OPEN_PATHS:
        assert _get(c.http + path)[0] in (200, 503), path
    assert _get(c.http + "/api/docs/assets/swagger-ui.css")[0] == 200
    assert c.stop() == 0


def test_a_route_added_later_is_guarded_unless_marked_open(tmp_path):
    app = create_app(CollectorState(data_dir=str(tmp_path)), api_key=KEY, query_engine=None)

    @get("/api/v1/added-later", sync_to_thread=False)
    def added() -> dict[str, str]:
        return {"secret": "data"}

    app.register(added)
    with TestClient(app) as client:
        assert client.get("/api/v1/added-later").status_code == 401
        assert client.get("/api/v1/added-later", headers={"Authorization": f"Bearer {KEY}"}).json() == {
            "secret": "data"
        }
        assert client.get("/healthz").status_code == 200
