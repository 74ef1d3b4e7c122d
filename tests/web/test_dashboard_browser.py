"""The dashboard in a real Chromium against a real collector, as a user drives it:
every view loads (no console errors, no request leaves the collector's host), a click
path session → trace → span, live spans arriving and pausing, the API-key prompt, and
a 10,000-span trace opening in under a second. Each view's screenshot is written to
docs/screenshots/ (the README shows them) when AGENTTRACE_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import re
import time

import pytest
from playwright.sync_api import expect
from web_helpers import API_KEY, open_page

from agenttrace.model import Span, Usage

VIEWS = [
    # (hash route, heading, screenshot name)
    ("overview?window=15m", "Overview", "overview"),
    ("sessions", "Sessions", "sessions"),
    ("live", "Live", "live"),
    ("search?since=1h&kind=llm", "Search spans", "search"),
    ("costs", "Costs", "costs"),
]


@pytest.mark.parametrize(("route", "heading", "shot"), VIEWS, ids=[v[2] for v in VIEWS])
def test_each_view_loads_clean(page, dashboard, screenshots, route, heading, shot):
    pg, watch = page
    pg.goto(f"{dashboard.url}/#/{route}")
    expect(pg.get_by_role("heading", level=1)).to_have_text(heading)
    if shot == "live":  # something to look at: a burst of spans of every kind, as they arrive
        expect(pg.locator("#conn")).to_have_text("● streaming")
        burst = [
            _span(f"{kind} step {i}", ("coding-agent", "support-bot")[i % 2], kind) for i, kind in enumerate(KINDS)
        ]
        dashboard.collector.send(burst)
        expect(pg.get_by_role("table", name="Live spans").get_by_role("row")).to_have_count(len(burst) + 1)
    expect(pg.get_by_role("link", name=heading.split()[0], exact=True)).to_have_attribute("aria-current", "page")
    if shot == "overview":
        expect(pg.locator("[data-tile='Spans (15m)'] .value")).not_to_have_text("")
        expect(pg.locator("[data-panel='cost-by-model']")).to_contain_text("gpt-4o")
        expect(pg.locator("[data-panel='loss']")).to_contain_text("spans stored")
        expect(pg.locator("[data-chart] canvas")).to_have_count(4)
    elif shot == "sessions":
        expect(pg.get_by_role("table", name="Sessions").get_by_role("row")).not_to_have_count(0)
        expect(pg.locator(".pager")).to_contain_text(re.compile(r"1–\d+ of \d+"))
    elif shot == "search":
        expect(pg.get_by_role("table", name="Spans").get_by_role("link", name="plan").first).to_be_visible()
    elif shot == "costs":
        expect(pg.get_by_role("table", name="Unpriced models")).to_contain_text("mystery-model-9000")
        expect(pg.get_by_role("table", name="Cost by Model")).to_contain_text("gpt-4o")
        expect(pg.get_by_role("table", name="Cost by Commit")).to_contain_text("abc1234")
    pg.screenshot(path=str(screenshots / f"{shot}.png"))
    watch.assert_clean()


def test_session_to_trace_to_span_and_back_by_url(page, dashboard):
    pg, watch = page
    pg.goto(f"{dashboard.url}/#/sessions?q=sess-alpha")
    pg.get_by_role("link", name="sess-alpha").click()
    expect(pg.get_by_role("heading", level=1)).to_have_text("sess-alpha")
    expect(pg.locator("[data-tile=Spans] .value")).to_have_text("4")
    pg.get_by_role("table", name="Traces").get_by_role("link", name="answer customer").click()
    expect(pg.get_by_role("heading", level=1)).to_have_text("answer customer")
    tree = pg.get_by_role("tree", name="Waterfall")
    expect(tree.get_by_role("treeitem")).to_have_count(4)

    tree.get_by_role("treeitem").filter(has_text="refund").click()
    detail = pg.get_by_role("region", name="Span detail")
    expect(detail.get_by_role("heading", level=3).first).to_have_text("refund")
    expect(detail.get_by_role("alert")).to_contain_text("payment gateway timeout")

    tree.get_by_role("treeitem").filter(has_text="plan").click()
    tokens = detail.get_by_role("table", name="Tokens")
    expect(tokens.get_by_role("row").filter(has_text="of which cache read")).to_contain_text("400")
    expect(tokens.get_by_role("row").filter(has=pg.get_by_text("input", exact=True))).to_contain_text("1,000")
    expect(detail.locator("pre[data-field=output]")).to_contain_text("refund it")
    plan_url = pg.url
    assert "span=" in plan_url

    pg.reload()  # the selected span is in the URL
    expect(pg.get_by_role("region", name="Span detail").get_by_role("heading", level=3).first).to_have_text("plan")
    expect(pg.get_by_role("tree", name="Waterfall").locator("[aria-selected=true]")).to_contain_text("plan")

    pg.get_by_role("tab", name="Agent graph").click()
    edges = pg.get_by_role("table", name="Agent graph edges")
    expect(edges.get_by_role("row").filter(has_text="gpt-4o")).to_contain_text("answer customer")
    expect(edges.get_by_role("row").filter(has_text="refund")).to_contain_text("1")
    watch.assert_clean()


KINDS = [
    "agent",
    "llm",
    "tool",
    "retrieval",
    "file",
    "terminal",
    "http",
    "database",
    "memory",
    "reasoning",
    "guardrail",
]


def _span(name: str, service: str, kind: str = "tool") -> Span:
    now = time.time_ns()
    llm = kind == "llm"
    return Span(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name=name,
        start_ns=now,
        end_ns=now + 2_000_000 + len(name) * 7_000_000,
        kind=kind,
        service=service,
        model="gpt-4o" if llm else "",
        usage=Usage(input_tokens=1200, output_tokens=300) if llm else None,
        status=2 if kind == "http" else 1,
        status_message="HTTP 503" if kind == "http" else "",
    )


def test_live_spans_arrive_and_pause_holds_them(page, dashboard):
    pg, watch = page
    pg.goto(f"{dashboard.url}/#/live?service=live-svc")
    expect(pg.get_by_role("heading", level=1)).to_have_text("Live")
    expect(pg.locator("#conn")).to_have_text("● streaming")
    table = pg.get_by_role("table", name="Live spans")
    dashboard.collector.send([_span("first-arrival", "live-svc"), _span("filtered-out", "other-svc")])
    expect(table.get_by_role("link", name="first-arrival")).to_be_visible()

    pg.get_by_role("button", name="Pause").click()
    dashboard.collector.send([_span("while-paused", "live-svc")])
    expect(pg.get_by_role("status").filter(has_text="paused")).to_contain_text("1 waiting")
    expect(table.get_by_role("link", name="while-paused")).to_have_count(0)
    pg.get_by_role("button", name="Resume").click()
    expect(table.get_by_role("link", name="while-paused")).to_be_visible()
    expect(table.get_by_role("link", name="filtered-out")).to_have_count(0)
    watch.assert_clean()


def test_api_key_is_asked_once_and_sent_as_a_header(browser, keyed):
    ctx, pg, watch = open_page(browser, keyed.url)
    try:
        pg.goto(f"{keyed.url}/#/sessions")
        dialog = pg.get_by_role("dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("API key").fill("not-the-key")
        dialog.get_by_role("button", name="Connect").click()
        expect(dialog.get_by_role("alert")).to_have_text("That key was refused. Try again.")
        dialog.get_by_label("API key").fill(API_KEY)
        dialog.get_by_role("button", name="Connect").click()
        expect(pg.get_by_role("link", name="sess-alpha")).to_be_visible()
        expect(dialog).to_be_hidden()

        pg.reload()  # kept for the browser session: no second prompt
        expect(pg.get_by_role("link", name="sess-alpha")).to_be_visible()
        expect(pg.get_by_role("dialog")).to_be_hidden()

        pg.goto(f"{keyed.url}/#/live?service=keyed-live")  # the stream carries the key too
        expect(pg.locator("#conn")).to_have_text("● streaming")
        keyed.send([_span("keyed-arrival", "keyed-live")])
        expect(pg.get_by_role("table", name="Live spans").get_by_role("link", name="keyed-arrival")).to_be_visible()

        # 401s are how the prompt is triggered; the browser logs them as errors, which is expected here
        watch.errors = [e for e in watch.errors if "401" not in e]
        watch.assert_clean()
        assert not [u for u in watch.urls if API_KEY in u or "not-the-key" in u], "a key went into a URL"
    finally:
        ctx.close()


def test_a_10000_span_trace_opens_in_under_a_second(page, dashboard, screenshots):
    pg, watch = page
    pg.goto(f"{dashboard.url}/#/overview")  # the app is loaded; what is measured is opening the trace
    expect(pg.get_by_role("heading", level=1)).to_have_text("Overview")
    timings = []
    for _ in range(3):  # cold, then warm; the median must pass (a loaded CI machine has spikes)
        pg.evaluate("delete document.body.dataset.traceOpenMs")
        t0 = time.perf_counter()
        pg.evaluate(f"location.hash = '#/traces/{dashboard.big_trace_id}'")
        expect(pg.locator("[data-tile=Spans] .value")).to_have_text("10,000")
        expect(pg.get_by_role("treeitem").first).to_contain_text("big run")
        pg.wait_for_function("document.body.dataset.traceOpenMs !== undefined")
        wall = (time.perf_counter() - t0) * 1000
        in_page = float(pg.evaluate("document.body.dataset.traceOpenMs"))
        rows = pg.get_by_role("treeitem").count()
        timings.append((in_page, wall, rows))
        pg.evaluate("location.hash = '#/overview'")
        expect(pg.get_by_role("heading", level=1)).to_have_text("Overview")
    opened = ", ".join(f"{t[0]:.0f} ms (wall {t[1]:.0f} ms)" for t in timings)
    print(f"10,000-span trace opened in {opened}")
    for _in_page, _wall, rows in timings:
        assert rows < 200, f"{rows} rows in the DOM: the waterfall is not virtualised"
    median = sorted(t[0] for t in timings)[1]
    assert median < 1000, f"opening a 10,000-span trace took {opened}"
    # Scrolling to the end renders the last spans.
    pg.evaluate(f"location.hash = '#/traces/{dashboard.big_trace_id}'")
    tree = pg.get_by_role("tree", name="Waterfall")
    expect(tree.get_by_role("treeitem").first).to_contain_text("big run")
    tree.evaluate("el => el.scrollTop = el.scrollHeight")
    expect(tree.get_by_role("treeitem").filter(has_text=re.compile(r"call 98\.99"))).not_to_have_count(0)
    pg.screenshot(path=str(screenshots / "trace-10000-spans.png"))
    watch.assert_clean()


def test_trace_waterfall_screenshot(page, dashboard, screenshots):
    pg, watch = page
    pg.goto(f"{dashboard.url}/#/traces/{dashboard.ids['refund']}")
    tree = pg.get_by_role("tree", name="Waterfall")
    tree.get_by_role("treeitem").filter(has_text="refund").click()
    expect(pg.get_by_role("region", name="Span detail").get_by_role("alert")).to_be_visible()
    pg.screenshot(path=str(screenshots / "trace.png"))
    # The agent graph of the demo's busiest coding-agent trace: several tools and a model.
    listed = dashboard.collector.json("/api/v1/traces?service=coding-agent&limit=50")["traces"]
    busiest = max(listed, key=lambda t: (t["spans"], t["trace_id"]))
    pg.goto(f"{dashboard.url}/#/traces/{busiest['trace_id']}?tab=graph")
    expect(pg.get_by_role("img", name="Agent graph")).to_be_visible()
    expect(pg.get_by_role("table", name="Agent graph edges").locator("tbody tr")).not_to_have_count(0)
    pg.screenshot(path=str(screenshots / "agent-graph.png"))
    watch.assert_clean()
