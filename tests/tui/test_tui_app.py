"""Behaviour of ``agenttrace top`` through the Pilot, against a recorded collector over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys

import msgspec
import pytest
import tui_recorded as recorded
from agenttrace.tui import AgentTraceTop, CollectorClient, CollectorUnreachable
from agenttrace.tui.screens import HelpScreen, SessionTracesScreen, TraceScreen
from agenttrace.tui.widgets import Banner, SessionTable, SpanDetail, TraceTable, Waterfall
from tui_helpers import screen_text, wait_for
from tui_server import RecordedCollector

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


def make_app(url: str, **kwargs: object) -> AgentTraceTop:
    kwargs.setdefault("live_interval_s", 0.05)
    kwargs.setdefault("slow_interval_s", 0.1)
    return AgentTraceTop(CollectorClient(url, timeout_s=1.0), clock=lambda: recorded.NOW_S, **kwargs)


def order(app: AgentTraceTop) -> list[str]:
    return [r.session_id for r in app.main.query_one(SessionTable).visible()]


async def test_polling_shows_live_figures_and_sessions(collector: RecordedCollector) -> None:
    app = make_app(collector.url, slow_interval_s=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "sess-code-a91b" in screen_text(app) and "today $150.07" in screen_text(app))
        text = screen_text(app)
        assert "spans/s  1.2k" in text
        assert "stored 4.4M dropped 12 lost 3" in text
        assert "$/min 2.81 · today $150.07" in text  # 1.84 + 0.92 + 0.05 now; 96.10 + 51.22 + 2.75 today
        assert "820ms" in text  # llm p50 from /metrics/performance
        # Only /live is polled at the fast rate.
        await pilot.pause(1.0)
        assert collector.requests.count("live") > 2 * collector.requests.count("sessions") > 0


async def test_figures_follow_the_collector(collector: RecordedCollector) -> None:
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "spans/s  1.2k" in screen_text(app))
        collector.snapshot = recorded.live(time_s=recorded.NOW_S + 1, spans_per_s=98_765.0)
        await wait_for(pilot, lambda: "spans/s 98.8k" in screen_text(app))


async def test_sort_keys_change_the_order(collector: RecordedCollector) -> None:
    app = make_app(collector.url, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_live()
        await app.refresh_slow()
        # Default: most recent activity first.
        assert order(app) == ["sess-sup-0001", "sess-code-7f3a", "sess-code-a91b", "sess-res-19c2", "sess-sup-0002"]
        await pilot.press(">")  # LAST -> ERR, most errors first
        assert order(app)[0] == "sess-code-a91b" and order(app)[-1] == "sess-sup-0001"
        assert "sort ERR ▼" in screen_text(app)
        await pilot.press("<", "<")  # ERR -> LAST -> COST
        assert order(app) == ["sess-code-a91b", "sess-code-7f3a", "sess-res-19c2", "sess-sup-0001", "sess-sup-0002"]
        await pilot.press("r")  # cheapest first
        assert order(app)[0] == "sess-sup-0002"
        assert "sort COST ▲" in screen_text(app)


async def test_cursor_stays_on_the_session_across_refreshes(collector: RecordedCollector) -> None:
    app = make_app(collector.url, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_slow()
        await pilot.press("down", "down")
        table = app.main.query_one(SessionTable)
        assert table.selected_session == "sess-code-a91b"
        await pilot.press(">")  # re-sorted: the same session stays selected
        assert table.selected_session == "sess-code-a91b"
        await app.refresh_slow()
        assert table.selected_session == "sess-code-a91b"


async def test_filter_by_text(collector: RecordedCollector) -> None:
    app = make_app(collector.url, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_slow()
        await pilot.press("/", *"support")
        await pilot.pause()
        assert order(app) == ["sess-sup-0001", "sess-sup-0002"]
        assert "sessions 2 shown of 5" in screen_text(app)
        await pilot.press("enter")  # keep the filter, back to the table
        assert order(app) == ["sess-sup-0001", "sess-sup-0002"]
        await pilot.press("/", "escape")  # clear
        assert len(order(app)) == 5


async def test_drill_down_session_trace_span(collector: RecordedCollector) -> None:
    app = make_app(collector.url, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_slow()
        await pilot.press("down")  # sess-code-7f3a
        await pilot.press("enter")
        assert isinstance(app.screen, SessionTracesScreen) and app.screen.session_id == "sess-code-7f3a"
        await wait_for(pilot, lambda: app.screen.query_one(TraceTable).row_count == 3)
        assert "session sess-code-7f3a (coding-agent) · 3 traces · 31 errors" in screen_text(app)
        await pilot.press("down", "down", "enter")  # oldest: "fix failing test"
        assert isinstance(app.screen, TraceScreen) and app.screen.trace_id == recorded.TRACE_IDS[0]
        await wait_for(pilot, lambda: app.screen.query_one(Waterfall).row_count == 8)
        text = screen_text(app)
        assert "8 spans · 8.4s" in text and "2 errors" in text
        assert "└ ✗ pytest -x tests/test" in text  # the failed command, a child of the root, marked
        await pilot.press("down")  # the "plan" LLM call
        detail = screen_text(app)
        assert "claude-sonnet-4-5 / anthropic" in detail
        assert "cache read 12.8k" in detail and "$0.0162" in detail and "catalogue" in detail
        await pilot.press("down", "down")  # the failed terminal command
        assert "ERROR exit status 1" in screen_text(app)
        app.screen.query_one(SpanDetail).scroll_end(animate=False)
        await pilot.pause()
        assert "exception" in screen_text(app) and "CalledProcessError" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, SessionTracesScreen)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_traces_of_an_active_session_reload_and_keep_the_cursor(
    collector: RecordedCollector, monkeypatch
) -> None:
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "sess-code-7f3a" in screen_text(app))
        app.main.query_one(SessionTable).move_cursor(row=1)  # sess-code-7f3a
        await pilot.press("enter")
        table = app.screen.query_one(TraceTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("down")
        assert table.selected_trace == recorded.TRACE_IDS[1]
        original = recorded.session

        def with_new_trace(session_id: str) -> object:
            detail = original(session_id)
            newest = detail.traces[-1]
            new = msgspec.structs.replace(
                newest, trace_id="0d" * 16, root_name="new task", start_ns=newest.start_ns + 5 * recorded.S
            )
            detail.traces.append(new)
            return detail

        monkeypatch.setattr(recorded, "session", with_new_trace)
        await wait_for(pilot, lambda: table.row_count == 4)
        assert "new task" in screen_text(app)
        assert table.selected_trace == recorded.TRACE_IDS[1]  # still on the trace the user chose


async def test_unknown_trace_says_so(collector: RecordedCollector) -> None:
    app = make_app(collector.url, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(TraceScreen("ff" * 16))
        await wait_for(pilot, lambda: app.screen.query_one(Banner).shown)
        # The banner's text reaches the screen on the next frame: wait for it, not a bare check.
        await wait_for(pilot, lambda: "not found" in screen_text(app))


async def test_unreachable_collector_shows_a_banner_then_recovers(no_collector: RecordedCollector) -> None:
    app = make_app(no_collector.url)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.main.query_one(Banner)
        await wait_for(pilot, lambda: banner.shown)
        text = screen_text(app)
        assert "unreachable" in text and "connection refused" in text and "retrying" in text
        assert "Traceback" not in text
        no_collector.start()
        await wait_for(pilot, lambda: not banner.shown and "spans/s  1.2k" in screen_text(app))
        no_collector.stop()  # and away again
        await wait_for(pilot, lambda: banner.shown)


async def test_a_failing_panel_keeps_its_banner_while_live_figures_flow(collector: RecordedCollector) -> None:
    collector.broken.add("sessions")
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.main.query_one(Banner)
        await wait_for(pilot, lambda: banner.shown and "spans/s  1.2k" in screen_text(app))
        await pilot.pause(0.5)  # many /live successes later, the sessions problem still shows
        assert banner.shown and app.unreachable == f"collector at {collector.url}: HTTP 500 for /api/v1/sessions"
        assert "HTTP 500 for" in screen_text(app)
        collector.broken.clear()
        await wait_for(pilot, lambda: not banner.shown and "sess-code-a91b" in screen_text(app))


async def test_empty_collector_says_how_to_get_traffic(collector: RecordedCollector, monkeypatch) -> None:
    monkeypatch.setattr(recorded, "sessions", lambda: recorded.SessionList(sessions=[], since_ns=None, until_ns=None))
    app = make_app(collector.url, poll=False, active_since="1h")
    async with app.run_test(size=SIZE):
        await app.refresh_slow()
        assert "none active in the last 1h (try: agenttrace demo)" in screen_text(app)


async def test_pause_freezes_the_view(collector: RecordedCollector) -> None:
    app = make_app(collector.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "spans/s  1.2k" in screen_text(app))
        await pilot.press("p")
        assert "PAUSED" in screen_text(app)
        collector.snapshot = recorded.live(time_s=recorded.NOW_S + 5, spans_per_s=55_000.0)
        await pilot.pause(0.4)  # several poll periods
        assert "spans/s  1.2k" in screen_text(app)
        await pilot.press("p")
        await wait_for(pilot, lambda: "spans/s 55.0k" in screen_text(app))
        assert "PAUSED" not in screen_text(app)


async def test_help_and_quit(collector: RecordedCollector) -> None:
    app = make_app(collector.url, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("?")
        assert isinstance(app.screen, HelpScreen)
        assert "reverse the sort" in screen_text(app)
        await pilot.press("x")  # any key closes it
        assert app.screen is app.main
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_no_color(collector: RecordedCollector, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(collector.url, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.refresh_live()
        await app.refresh_slow()
        await pilot.pause()
        assert app.no_color
        assert "spans/s  1.2k" in screen_text(app)


async def test_client_raises_one_error_when_nothing_listens(no_collector: RecordedCollector) -> None:
    client = CollectorClient(no_collector.url)
    try:
        for call in (client.live(), client.sessions(), client.trace("00" * 16)):
            try:
                await call
            except CollectorUnreachable as exc:
                assert exc.url == no_collector.url and "refused" in exc.reason
            else:
                raise AssertionError("no error")
    finally:
        await client.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # a plain function; keeps the module mark happy
def test_top_without_textual_names_the_extra(anyio_backend: str) -> None:
    code = "import sys; sys.modules['textual'] = None; sys.argv = ['agenttrace', 'top']\n"
    code += "from agenttrace.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "pip install 'agenttrace[tui]'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(("term", "colours"), [("vt100", False), ("xterm-256color", True)])
def test_monochrome_terminal_is_detected(anyio_backend: str, term: str, colours: bool) -> None:
    code = "from agenttrace.commands.top import terminal_has_colours as t; print(t())"
    env = {**os.environ, "TERM": term}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.stdout.strip() == str(colours)


async def test_a_damaged_segment_behind_the_figures_shows_in_the_banner(
    collector: RecordedCollector, monkeypatch
) -> None:
    """Issue 20: every read whose range holds damaged data says so, the TUI included."""
    from agenttrace.query import SkippedSegment

    report = recorded.costs_today()
    report.skipped_segments = [SkippedSegment(path="/d/segments/2026-01-01/w0-00000007.seg", offset=4242, reason="x")]
    monkeypatch.setattr(recorded, "costs_today", lambda: report)
    app = make_app(collector.url, poll=False)
    async with app.run_test(size=(160, 24)):
        await app.refresh_live()
        await app.refresh_slow()
        banner = app.main.query_one(Banner)
        assert banner.shown
        assert app.unreachable == (
            "store damaged: /d/segments/2026-01-01/w0-00000007.seg at offset 4242; "
            "figures leave it out (agenttrace fsck --repair)"
        )
        assert "today $150.07" in screen_text(app)  # the rest still answers
        monkeypatch.setattr(recorded, "costs_today", lambda: msgspec.structs.replace(report, skipped_segments=[]))
        await app.refresh_slow()
        assert not banner.shown
