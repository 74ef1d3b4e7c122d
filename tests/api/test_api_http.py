"""The HTTP query API over real HTTP, served by a running collector filled by the real SDK.

The CLI and the API answer from the one engine through the same reports, so for every
listing the API's JSON must equal the CLI's ``--json``.
"""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import pytest
from typer.testing import CliRunner

from agenttrace.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def client(filled) -> httpx.Client:
    with httpx.Client(base_url=filled.http_url + "/api/v1", timeout=30) as c:
        yield c


def cli_json(filled, *args: str) -> object:
    result = runner.invoke(app, [*args, "--json", "--data-dir", str(filled.data_dir)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("path", "cli"),
    [
        ("/sessions", ["sessions", "list", "--limit", "100"]),
        ("/sessions/sess-alpha", ["sessions", "show", "sess-alpha"]),
        ("/traces", ["traces", "list", "--limit", "50"]),
        ("/metrics/costs?by=model", ["costs", "--by", "model"]),
        ("/metrics/costs?by=service", ["costs", "--by", "service"]),
        ("/metrics/performance?by=kind", ["metrics", "performance", "--by", "kind"]),
        ("/metrics/errors?by=kind&recent=10", ["metrics", "errors", "--by", "kind", "--limit", "10"]),
        ("/metrics/summary", ["metrics", "summary"]),
    ],
)
def test_api_and_cli_return_the_same_document(filled, client: httpx.Client, path: str, cli: list[str]) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == cli_json(filled, *cli)


def test_trace_tree(filled, client: httpx.Client) -> None:
    tid = filled.trace_ids["refund"]
    tree = client.get(f"/traces/{tid}").json()
    assert tree["trace_id"] == tid and tree["span_count"] == 4 and tree["errors"] == 1
    assert tree["session_id"] == "sess-alpha" and tree["services"] == ["shop-agent"]
    assert tree == cli_json(filled, "traces", "show", tid)
    failed = [s for s in tree["spans"] if s["status"] == "error"]
    assert [(s["name"], s["kind"]) for s in failed] == [("refund", "tool")]
    assert "payment gateway timeout" in failed[0]["status_message"]


def test_unknown_and_malformed_ids(client: httpx.Client) -> None:
    missing = client.get("/traces/" + "ab" * 16)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no trace " + "ab" * 16
    assert client.get("/traces/xyz").status_code == 400
    assert client.get("/sessions/nobody").status_code == 404
    assert client.get("/spans", params={"trace": "short"}).status_code == 400


def test_spans_filters_and_pages(client: httpx.Client) -> None:
    llm = client.get("/spans", params={"kind": "llm"}).json()["spans"]
    assert sorted(s["name"] for s in llm) == ["plan", "reply", "search plan", "summarise"]
    errors = client.get("/spans", params={"status": "error", "session": "sess-alpha"}).json()["spans"]
    assert [s["name"] for s in errors] == ["refund"]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = client.get("/spans", params=params).json()
        seen += [s["span_id"] for s in page["spans"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 10 and len(set(seen)) == 10  # every span once, across three pages


def test_time_arguments(client: httpx.Client) -> None:
    assert len(client.get("/spans", params={"since": "1h"}).json()["spans"]) == 10
    assert client.get("/spans", params={"until": "15m"}).json()["spans"] == []
    bad = client.get("/spans", params={"since": "soonish"})
    assert bad.status_code == 400
    assert "cannot read 'soonish' as a time" in bad.json()["detail"]
    assert client.get("/metrics/costs", params={"by": "colour"}).status_code == 400


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_streams_every_span(client: httpx.Client, fmt: str) -> None:
    with client.stream("GET", "/export", params={"format": fmt}) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes()).decode()
    if fmt == "jsonl":
        assert response.headers["content-type"].startswith("application/x-ndjson")
        rows = [json.loads(line) for line in body.splitlines()]
    else:
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 10
    assert {r["trace_id"] for r in rows} == set(_trace_ids(rows))


def _trace_ids(rows: list[dict]) -> list[str]:
    return [r["trace_id"] for r in rows]


def test_export_filtered(client: httpx.Client) -> None:
    body = client.get("/export", params={"kind": "agent"}).text
    assert sorted(json.loads(line)["name"] for line in body.splitlines()) == [
        "answer customer",
        "follow up",
        "research",
    ]


def test_openapi_document_is_served(filled) -> None:
    doc = httpx.get(filled.http_url + "/api/docs/openapi.json", timeout=30).json()
    paths = set(doc["paths"])
    for p in (
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/traces",
        "/api/v1/traces/{trace_id}",
        "/api/v1/spans",
        "/api/v1/metrics/summary",
        "/api/v1/metrics/costs",
        "/api/v1/metrics/performance",
        "/api/v1/metrics/errors",
        "/api/v1/export",
    ):
        assert p in paths, p
    assert "BearerAuth" in doc["components"]["securitySchemes"]


def test_api_docs_page_works_offline(filled) -> None:
    # Seen: the page loaded Swagger UI (script, CSS, favicon) from public CDNs, so on a
    # machine without internet access /api/docs was a blank page.
    page = httpx.get(filled.http_url + "/api/docs", timeout=30)
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(urls) >= 4, urls  # bundle, preset, CSS, favicon
    assert not [u for u in urls if "://" in u or u.startswith("//")], urls
    for url in urls:
        asset = httpx.get(filled.http_url + url, timeout=30)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500, url
