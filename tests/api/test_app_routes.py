"""The collector's app is assembled from a list of route factories (collector/http.py
ROUTES), so a new part of the app is one appended entry; the query API's handlers stay
short, each one question to the engine."""

from __future__ import annotations

import inspect

import pytest
from litestar import get
from litestar.testing import TestClient

from agenttrace.collector import http
from agenttrace.collector.api import QueryAPI
from agenttrace.collector.metrics import CollectorState
from agenttrace.query import open_engine


@pytest.fixture
def state(tmp_path) -> CollectorState:
    return CollectorState(data_dir=str(tmp_path))


def test_an_appended_route_factory_is_served_with_the_app_context(state, monkeypatch) -> None:
    seen: list[http.AppContext] = []

    def extra_routes(ctx: http.AppContext) -> list:
        seen.append(ctx)

        @get("/v1/extra", sync_to_thread=False)
        def extra() -> dict[str, str]:
            return {"data_dir": ctx.state.data_dir}

        return [extra]

    monkeypatch.setattr(http, "ROUTES", [*http.ROUTES, extra_routes])
    with TestClient(http.create_app(state, api_key="k")) as client:
        # The app's one guard covers appended parts too (issue 20): the key opens it.
        assert client.get("/v1/extra").status_code == 401
        assert client.get("/v1/extra", headers={"Authorization": "Bearer k"}).json() == {"data_dir": state.data_dir}
        assert client.get("/healthz").json() == {"status": "ok"}  # the built-in parts are still there
        assert client.get("/api/v1/sessions").status_code == 401  # and keep their key
    assert seen[0].api_key == "k"
    assert seen[0].query_engine is not None


def test_the_app_opens_a_query_engine_over_the_data_dir_when_given_none(state) -> None:
    with TestClient(http.create_app(state)) as client:
        answer = client.get("/api/v1/sessions")
    assert answer.status_code == 200
    assert answer.json()["sessions"] == []


def test_a_given_engine_is_the_one_asked(state, tmp_path) -> None:
    engine = open_engine(tmp_path)
    asked: list[str] = []
    real = engine.sessions

    def sessions(*args, **kwargs):
        asked.append("sessions")
        return real(*args, **kwargs)

    engine.sessions = sessions  # type: ignore[method-assign]
    with TestClient(http.create_app(state, query_engine=engine)) as client:
        assert client.get("/api/v1/sessions").status_code == 200
    assert asked == ["sessions"]


def test_every_query_handler_is_short() -> None:
    handlers = {name: h for name, h in vars(QueryAPI).items() if hasattr(h, "fn")}
    assert len(handlers) == 13  # ten query routes, and three of coding agents (agenttrace.coding.gitlinks)
    for name, handler in handlers.items():
        lines = len(inspect.getsource(handler.fn).splitlines())
        assert lines <= 30, f"{name} is {lines} lines: move its logic into the query layer"
