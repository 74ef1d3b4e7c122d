"""The dashboard's HTTP side against a real collector: the page and its files with their
cache headers, the /api/v1 routes it added (and their OpenAPI entries), the live stream."""

from __future__ import annotations

import json
import os
import time

import httpx
from web_helpers import API_KEY

from agenttrace.model import Span, Usage


def test_page_and_static_files_are_served_with_cache_headers(dashboard):
    c = dashboard.collector
    status, headers, body = c.get("/")
    assert status == 200 and b"<title>AgentTrace</title>" in body
    assert headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-cache"
    assert "connect-src 'self'" in headers["content-security-policy"]
    # The app's own files revalidate by ETag; a matching If-None-Match is a 304.
    status, headers, body = c.get("/static/js/app.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript") and b"import" in body
    assert headers["cache-control"] == "no-cache"
    status, _, body304 = c.get("/static/js/app.js", headers={"If-None-Match": headers["etag"]})
    assert status == 304 and body304 == b""
    # Vendored files live under a versioned path and never change there.
    status, headers, _ = c.get("/static/vendor/uplot-1.6.32/uPlot.iife.min.js")
    assert status == 200 and "immutable" in headers["cache-control"]
    assert c.get("/static/../api.py")[0] == 404
    assert c.get("/static/%2e%2e/routes.py")[0] == 404
    assert c.get("/static/nope.js")[0] == 404


def test_overview_counts_what_was_sent(dashboard):
    assert len(dashboard.collector.json("/api/v1/overview?window=15m")["series"]["t"]) == 15
    o = dashboard.collector.json("/api/v1/overview?window=6h")  # the 10,000-span trace is 2 h old
    assert o["bucket"] == "minute" and len(o["series"]["t"]) == 360
    # other tests add spans as they run: at least what the fixture sent, and the series add up
    assert sum(o["series"]["spans"]) == o["totals"]["spans"] >= dashboard.total
    assert o["totals"]["errors"] >= 1
    models = {r["key"] for r in o["cost_by_model"]}
    assert {"gpt-4o", "gpt-4o-mini"} <= models
    services = {r["key"]: r for r in o["cost_by_service"]}
    assert {"shop-agent", "research-agent", "big-agent"} <= set(services)
    only = dashboard.collector.json("/api/v1/overview?window=1h&service=shop-agent")
    assert only["totals"]["spans"] == 4  # answer customer, plan, lookup_order, refund


def test_session_search_filters_sorts_and_pages_on_the_server(dashboard):
    c = dashboard.collector
    page = c.json("/api/v1/session-search?sort=spans&order=desc&limit=1")
    assert page["total"] > 2 and len(page["sessions"]) == 1
    assert page["sessions"][0]["session_id"] == "sess-big"  # 10,000 spans: the most
    second = c.json("/api/v1/session-search?sort=spans&order=desc&limit=1&offset=1")["sessions"][0]
    assert second["spans"] <= page["sessions"][0]["spans"] and second["session_id"] != "sess-big"
    found = c.json("/api/v1/session-search?q=alic")  # the user id
    assert [s["session_id"] for s in found["sessions"]] == ["sess-alpha"]
    errs = c.json("/api/v1/session-search?errors=true&service=shop-agent")
    assert [s["session_id"] for s in errs["sessions"]] == ["sess-alpha"]
    assert c.json("/api/v1/session-search?service=research-agent&errors=true&user=bob")["total"] == 0
    assert [s["session_id"] for s in c.json("/api/v1/session-search?tag=checkout")["sessions"]] == ["sess-alpha"]
    assert [s["session_id"] for s in c.json("/api/v1/session-search?environment=staging")["sessions"]] == ["sess-beta"]
    assert c.json("/api/v1/session-search?environment=test&tag=nope")["total"] == 0
    assert c.get("/api/v1/session-search?sort=bogus")[0] == 400


def test_facets_and_unpriced_models(dashboard):
    c = dashboard.collector
    f = c.json("/api/v1/facets")
    assert {"shop-agent", "research-agent", "big-agent"} <= set(f["services"])
    assert {"llm", "tool", "agent"} <= set(f["kinds"])
    u = c.json("/api/v1/costs/unpriced")
    row = next(m for m in u["models"] if m["model"] == "mystery-model-9000")
    assert (row["spans"], row["input_tokens"], row["output_tokens"], row["provider"]) == (1, 100, 10, "acme")
    assert "gpt-4o" not in {m["model"] for m in u["models"]}
    assert "[pricing.overrides" in u["how_to_price"]


def test_costs_by_commit_cover_the_whole_trace(dashboard):
    c = dashboard.collector
    report = c.json("/api/v1/costs/by-attribute")  # the commit, vcs.ref.head.revision, by default
    assert report["attribute"] == "vcs.ref.head.revision" and report["traces"] == 1
    [row] = report["rows"]
    plan_cost = next(r for r in c.json("/api/v1/metrics/costs?by=service")["rows"] if r["key"] == "shop-agent")
    assert (row["key"], row["spans"], row["tokens"]["input_tokens"]) == ("abc1234", 4, 1000)
    assert row["cost_usd"] == plan_cost["cost_usd"] > 0  # the gpt-4o call under the root that names the commit
    assert c.json("/api/v1/costs/by-attribute?key=order")["rows"][0]["key"] == "A-17"  # lookup_order's own attribute
    assert c.json("/api/v1/costs/by-attribute?key=nobody.sets.this")["rows"] == []


def test_openapi_documents_the_dashboard_routes(dashboard):
    doc = dashboard.collector.json("/api/docs/openapi.json")
    for path in (
        "/api/v1/overview",
        "/api/v1/session-search",
        "/api/v1/facets",
        "/api/v1/costs/unpriced",
        "/api/v1/costs/by-attribute",
        "/api/v1/traces/{trace_id}/outline",
    ):
        assert "dashboard" in doc["paths"][path]["get"]["tags"], path
    assert "/api/v1/stream" in doc["paths"]
    assert "/" not in doc["paths"] and not any(p.startswith("/static") for p in doc["paths"])


def _span(name: str, service: str) -> Span:
    now = time.time_ns()
    return Span(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name=name,
        start_ns=now,
        end_ns=now + 1_000_000,
        kind="llm",
        service=service,
        model="gpt-4o",
        usage=Usage(input_tokens=10, output_tokens=1),
    )


def _events(resp: httpx.Response):
    buf = ""
    for chunk in resp.iter_text():
        buf = (buf + chunk).replace("\r\n", "\n")
        while "\n\n" in buf:
            block, buf = buf.split("\n\n", 1)
            event, data = "message", []
            for line in block.split("\n"):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
            if data:
                yield event, json.loads("\n".join(data))


def test_stream_sends_new_spans_of_its_filter_only(dashboard):
    c = dashboard.collector
    with httpx.stream("GET", c.url + "/api/v1/stream?service=stream-a", timeout=30) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        events = _events(resp)
        assert next(events) == ("hello", {"service": "stream-a", "kind": None, "session": None, "poll_s": 0.5})
        c.send([_span("wanted-1", "stream-a"), _span("other", "stream-b"), _span("wanted-2", "stream-a")])
        got: list[str] = []
        deadline = time.monotonic() + 20
        for event, data in events:
            if event == "spans":
                got += [s["name"] for s in data]
                assert {s["service"] for s in data} == {"stream-a"}
            if len(got) >= 2 or time.monotonic() > deadline:
                break
    assert sorted(got) == ["wanted-1", "wanted-2"]


def test_keyed_collector_guards_the_dashboard_routes_not_the_page(keyed):
    assert keyed.get("/", headers={"Authorization": ""})[0] == 200
    assert keyed.get("/static/js/api.js", headers={"Authorization": ""})[0] == 200
    for path in ("/api/v1/overview", "/api/v1/session-search", "/api/v1/facets", "/api/v1/stream"):
        status, headers, _ = keyed.get(path, headers={"Authorization": "Bearer wrong"})
        assert status == 401 and headers["www-authenticate"].startswith("Bearer"), path
    assert keyed.get("/api/v1/overview", headers={"Authorization": f"Bearer {API_KEY}"})[0] == 200


def test_trace_outline_matches_the_trace_and_one_span_is_in_full(dashboard):
    c = dashboard.collector
    tid = dashboard.ids["refund"]
    full = c.json(f"/api/v1/traces/{tid}")
    outline = c.json(f"/api/v1/traces/{tid}/outline")
    for key in (
        "root_ids",
        "children",
        "orphan_ids",
        "span_count",
        "errors",
        "tokens",
        "start_ns",
        "end_ns",
        "session_id",
    ):
        assert outline[key] == full[key], key
    columns = outline["spans"]  # one list per field, position i = the i-th span by start time
    assert "attributes" not in columns and "output_preview" not in columns
    for key in ("span_id", "parent_id", "name", "kind", "status", "status_message", "start_ns", "end_ns", "model"):
        assert columns[key] == [s[key] for s in full["spans"]], key
    assert columns["cost_usd"] == [s["cost_usd"] for s in full["spans"]]
    assert columns["total_tokens"] == [s["total_tokens"] for s in full["spans"]]
    plan = next(s for s in full["spans"] if s["name"] == "plan")
    assert c.json(f"/api/v1/traces/{tid}/spans/{plan['span_id']}") == plan
    assert c.get(f"/api/v1/traces/{tid}/spans/0000000000000000")[0] == 404
    assert c.get("/api/v1/traces/0000000000000000000000000000000f/outline")[0] == 404
    assert c.get("/api/v1/traces/not-hex/outline")[0] == 400
