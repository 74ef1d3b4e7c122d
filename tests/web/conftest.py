"""Fixtures of the dashboard tests: real collectors and a real Chromium.

Chromium is Debian's ``chromium`` package driven by the ``playwright`` package's own
driver (never ``playwright install``). A machine without it fails these tests loudly:
``.ci/run`` installs it, and a browser test that silently skips tests nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import (
    API_KEY,
    CHROMIUM,
    CHROMIUM_ARGS,
    SDK_SPANS,
    Collector,
    PageWatch,
    big_trace,
    history,
    open_page,
    run_demo,
    run_sdk_workload,
)


class Filled:
    def __init__(self, collector: Collector, ids: dict[str, str], big_trace_id: str, total: int) -> None:
        self.collector = collector
        self.url = collector.url
        self.ids = ids
        self.big_trace_id = big_trace_id
        self.total = total


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    """A collector filled by the SDK workload, three seconds of the demo, a 10,000-span
    trace and 14 minutes of past model and tool calls."""
    c = Collector(tmp_path_factory.mktemp("web-collector"))
    try:
        ids = run_sdk_workload(c.endpoint)
        demo_spans = run_demo(c.endpoint)
        big_id, spans = big_trace()
        c.send(spans)
        past = history()
        c.send(past)
        total = SDK_SPANS + demo_spans + len(spans) + len(past)
        c.wait_stored(total)
        yield Filled(c, ids, big_id, total)
    finally:
        c.stop()


@pytest.fixture(scope="session")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """A collector that needs ``Authorization: Bearer API_KEY``, with the SDK workload in it."""
    c = Collector(tmp_path_factory.mktemp("web-keyed"), api_key=API_KEY)
    try:
        run_sdk_workload(c.endpoint)
        c.wait_stored(SDK_SPANS)
        yield c
    finally:
        c.stop()


# Module scope: Playwright's sync API keeps an event loop running in this thread while it
# is open, so a session-wide browser would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install chromium (.ci/run does), "
            "or set AGENTTRACE_TEST_CHROMIUM. The dashboard tests do not skip."
        )
    from playwright.sync_api import expect, sync_playwright

    # Auto-waiting assertions, with room for a loaded CI machine (live spans need a seal).
    expect.set_options(timeout=15_000)

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: object, dashboard: Filled) -> Iterator[tuple[object, PageWatch]]:
    ctx, pg, watch = open_page(browser, dashboard.url)
    try:
        yield pg, watch
    finally:
        ctx.close()


DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the views' screenshots go: docs/screenshots/ with AGENTTRACE_UPDATE_SCREENSHOTS=1
    (how the committed ones are made), else a temporary folder, so a test run leaves the
    work tree as it found it."""
    if os.environ.get("AGENTTRACE_UPDATE_SCREENSHOTS", "") not in ("", "0"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
