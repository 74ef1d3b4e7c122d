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
