"""Appearance of ``agenttrace top`` at 80x24 (pytest-textual-snapshot; SVGs in __snapshots__/).

The app talks to the recorded collector's real Litestar app through httpx's ASGI
transport, so the address on screen is fixed and nothing depends on a free port or
a clock. Update after an intended change with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

import httpx
import pytest
import tui_recorded as recorded
from agenttrace.tui import AgentTraceTop, CollectorClient
from tui_server import RecordedCollector

SIZE = (80, 24)
URL = "http://collector.test:4318"


class _Refused(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def make_app(*, down: bool = False) -> AgentTraceTop:
    transport = _Refused() if down else httpx.ASGITransport(app=RecordedCollector.build_app())
    return AgentTraceTop(CollectorClient(URL, transport=transport), poll=False, clock=lambda: recorded.NOW_S)


async def _loaded(pilot) -> None:
    await pilot.app.refresh_live()
    await pilot.app.refresh_slow()
    await pilot.pause()


def test_main_screen(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_loaded)


def test_main_screen_without_colour(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_loaded)


def test_sorted_by_cost_and_filtered(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("<", "/", *"coding", "enter")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_session_traces(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("down", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_trace_waterfall_with_failed_span_selected(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("down", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("down", "down", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("down", "down", "down")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_collector_unreachable(snap_compare) -> None:
    assert snap_compare(make_app(down=True), terminal_size=SIZE, run_before=_loaded)


def test_help(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_pinned_while_sessions_arrive(snap_compare) -> None:
    """Pinned: the rows keep their places, sess-code-a91b's figures move on, and the two
    sessions that arrived are only counted in the title."""
    import msgspec

    srv = RecordedCollector.__new__(RecordedCollector)
    srv.snapshot, srv.requests, srv.broken, srv.session_list = recorded.live(), [], set(), None
    app = AgentTraceTop(
        CollectorClient(URL, transport=httpx.ASGITransport(app=RecordedCollector.build_app(srv))),
        poll=False,
        clock=lambda: recorded.NOW_S,
    )

    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("space")
        rows = recorded.sessions().sessions
        grown = [
            msgspec.structs.replace(r, spans=9_999, last_seen_ns=recorded.NOW_NS)
            if r.session_id == "sess-code-a91b"
            else r
            for r in rows
        ]
        arrived = [
            msgspec.structs.replace(rows[0], session_id=f"sess-new-000{n}", last_seen_ns=recorded.NOW_NS)
            for n in (1, 2)
        ]
        srv.session_list = recorded.SessionList(sessions=arrived + grown, since_ns=None, until_ns=None, total=7)
        await pilot.app.refresh_slow()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
