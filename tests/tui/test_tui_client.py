"""``CollectorClient`` against the real query API (Litestar router over a real store).

The store is written by the real SegmentWriter; the client sends exactly the requests
``agenttrace top`` sends, so a route, a parameter or a field the TUI relies on cannot
change without this test noticing.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import tui_recorded as recorded
from agenttrace.tui import CollectorClient, CollectorRefused
from litestar import Litestar

from agenttrace import wire
from agenttrace.collector.api import build_api_router
from agenttrace.errors import NotFoundError
from agenttrace.query.segments import SegmentQueryEngine as QueryEngine
from agenttrace.store.writer import SegmentWriter, WriterConfig

pytestmark = pytest.mark.anyio
KEY = "s3cret-key"
TRACE = recorded.TRACE_IDS[0]


@pytest.fixture
def api(tmp_path: Path) -> Litestar:
    t0 = time.time_ns() - 90 * recorded.S  # inside the TUI's windows (15m of sessions, 5m of latency)
    spans = recorded.spans(TRACE, t0=t0)
    with SegmentWriter(tmp_path, 0, WriterConfig(wal_fsync="none", seal_age_s=3600.0)) as writer:
        writer.append(wire.encode(spans, sender_id=1, seq=0), spans)
    return Litestar(route_handlers=[build_api_router(QueryEngine(tmp_path), api_key=KEY)], openapi_config=None)


def client(app: Litestar, key: str | None = KEY) -> CollectorClient:
    return CollectorClient("http://collector.test", api_key=key, transport=httpx.ASGITransport(app=app))


async def test_every_request_of_top_is_answered(api: Litestar) -> None:
    c = client(api)
    try:
        sessions = await c.sessions()
        assert [(s.session_id, s.service, s.spans, s.errors) for s in sessions] == [
            ("sess-code-7f3a", "coding-agent", 8, 2)
        ]
        detail = await c.session("sess-code-7f3a")
        assert [(t.trace_id, t.root_name, t.spans) for t in detail.traces] == [(TRACE, "fix failing test", 8)]
        tree = await c.trace(TRACE)
        assert len(tree.spans) == 8 and tree.errors == 2
        assert {s.kind for s in tree.spans} >= {"agent", "llm", "file", "terminal", "http"}
        kinds = {row.key: row for row in await c.performance()}
        assert kinds["llm"].count == 2 and kinds["llm"].p50_ms is not None
        costs = {row.key: row.cost_usd for row in await c.costs_today()}
        midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        if time.time() - 120 > midnight:  # the spans are from today
            assert costs["gpt-4o"] == pytest.approx(0.02973)
        with pytest.raises(NotFoundError):
            await c.trace("ff" * 16)
    finally:
        await c.aclose()


async def test_a_wrong_or_missing_key_is_refused(api: Litestar, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTTRACE_API_KEY", raising=False)
    for key in (None, "wrong"):
        c = client(api, key)
        try:
            with pytest.raises(CollectorRefused, match="api-key"):
                await c.sessions()
        finally:
            await c.aclose()
