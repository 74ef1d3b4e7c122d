"""The sessions table of ``agenttrace top`` while sessions keep arriving, through the Pilot
against a recorded collector over real HTTP: the view stays at the top, the cursor on its
session, the user can pin the rows, the title says what the cap hides, F1 shows the keys."""

from __future__ import annotations

import pytest
import tui_recorded as recorded
from agenttrace.tui import AgentTraceTop, CollectorClient
from agenttrace.tui.screens import HelpScreen
from agenttrace.tui.widgets import SessionTable
from tui_helpers import screen_text
from tui_server import RecordedCollector

from agenttrace.query.results import SessionList, SessionSummary, TokenTotals

pytestmark = pytest.mark.anyio
SIZE = (80, 24)
S = recorded.S


def make_app(url: str) -> AgentTraceTop:
    return AgentTraceTop(CollectorClient(url, timeout_s=1.0), clock=lambda: recorded.NOW_S, poll=False)


def summary(n: int, *, idle_s: int, spans: int = 10) -> SessionSummary:
    last = recorded.NOW_NS - idle_s * S
    return SessionSummary(
        session_id=f"sess-{n:04d}",
        service="svc",
        user_id="u",
        first_seen_ns=last - 60 * S,
        last_seen_ns=last,
        duration_ms=60_000.0,
        spans=spans,
        traces=1,
        errors=0,
        tokens=TokenTotals(),
        cost_usd=0.0,
        models=[],
    )


def answer(rows: list[SessionSummary], total: int | None = None) -> SessionList:
    rows = sorted(rows, key=lambda s: -s.last_seen_ns)
    return SessionList(sessions=rows, since_ns=None, until_ns=None, total=len(rows) if total is None else total)


async def test_new_sessions_keep_the_view_at_the_top_and_the_cursor_on_its_session(
    collector: RecordedCollector,
) -> None:
    old = [summary(n, idle_s=100 + n) for n in range(40)]  # sess-0000 the newest
    collector.session_list = answer(old)
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_slow()
        await pilot.pause()
        table = app.main.query_one(SessionTable)
        await pilot.press("down")
        assert table.selected_session == "sess-0001"
        new = [summary(1000 + n, idle_s=n) for n in range(30)]  # thirty newer sessions arrive
        collector.session_list = answer(old + new)
        await app.refresh_slow()
        await pilot.pause()
        assert table.selected_session == "sess-0001"  # the cursor stayed on its session
        assert table.scroll_y == 0  # and the view on the newest rows
        assert table.visible()[0].session_id == "sess-1000"  # newest first
        assert "sess-1000" in screen_text(app)


async def test_pinned_rows_keep_their_places_while_figures_update(collector: RecordedCollector) -> None:
    old = [summary(n, idle_s=100 + n) for n in range(5)]
    collector.session_list = answer(old)
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_slow()
        table = app.main.query_one(SessionTable)
        before = [r.session_id for r in table.visible()]
        await pilot.press("space")
        assert "pinned" in screen_text(app)
        # sess-0004 becomes the most recently active and grows; three new sessions arrive
        moved = [summary(n, idle_s=100 + n) for n in range(4)] + [summary(4, idle_s=1, spans=777)]
        new = [summary(2000 + n, idle_s=n) for n in range(3)]
        collector.session_list = answer(moved + new)
        await app.refresh_slow()
        await pilot.pause()
        assert [r.session_id for r in table.visible()] == before  # order and rows frozen
        assert "777" in screen_text(app)  # figures still update
        assert "3 new" in screen_text(app)
        assert "sess-2000" not in screen_text(app)
        await pilot.press("f")  # unpin (f or space)
        await pilot.pause()
        assert table.visible()[0].session_id == "sess-2000"
        assert "pinned" not in screen_text(app)


async def test_the_title_says_how_many_are_shown_of_how_many(collector: RecordedCollector) -> None:
    collector.session_list = answer([summary(n, idle_s=n) for n in range(500)], total=1234)
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_slow()
        await pilot.pause()
        assert "sessions 500 shown of 1,234" in screen_text(app)


async def test_f1_shows_the_keys(collector: RecordedCollector) -> None:
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert "pin" in screen_text(app)
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen is app.main


async def test_a_re_sort_still_brings_the_selected_session_into_view(collector: RecordedCollector) -> None:
    collector.session_list = answer([summary(n, idle_s=100 + n, spans=n) for n in range(40)])
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_slow()
        await pilot.pause()
        table = app.main.query_one(SessionTable)
        assert table.selected_session == "sess-0000"
        await pilot.press("r")  # oldest first: sess-0000 goes to the bottom, the view follows it
        await pilot.pause()
        assert table.selected_session == "sess-0000"
        assert table.scroll_y > 0
