"""Checks that a collector's figures are sound, for the poison-value tests.

* :func:`check_metrics`: ``/metrics`` parses as Prometheus text and no cost, token or
  duration sample is NaN, infinite or negative;
* :func:`check_api_schema`: every ``/api/v1`` route answers (no 5xx) in its own
  documented schema, for the default range and for all time;
* :func:`check_exports`: JSONL, CSV and Parquet exports of the whole store succeed and
  hold every stored span, with finite numbers.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import schemathesis
from prometheus_client.parser import text_string_to_metric_families
from schemathesis.checks import not_a_server_error, response_schema_conformance

from agenttrace.collector.api import build_api_router

ROUTES = [re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path) for route in build_api_router(None).routes]
ALL_TIME = {"since": "1970-01-01T00:00:00Z", "until": "2200-01-01T00:00:00Z"}
FIGURES = ("agenttrace_cost_usd", "agenttrace_tokens", "agenttrace_span_duration_seconds")


def check_metrics(body: str) -> None:
    families = list(text_string_to_metric_families(body))
    assert families, "no metric families"
    for fam in families:
        if fam.name.startswith(FIGURES):
            for sample in fam.samples:
                assert math.isfinite(sample.value) and sample.value >= 0, f"{sample} is not a sound figure"


def check_api_schema(http_url: str, *, trace_id: str, session_id: str) -> int:
    """Validate every route's answer; return how many responses were checked."""
    schema = schemathesis.openapi.from_url(http_url + "/api/docs/openapi.json")
    checked = 0
    for path in ROUTES:
        op = schema[path]["GET"]
        params = {}
        if "{trace_id}" in path:
            params["trace_id"] = trace_id
        if "{session_id}" in path:
            params["session_id"] = session_id
        if "{sha}" in path:
            params["sha"] = "deadbeef"  # no git link in this traffic: a documented 404
        for query in ({}, ALL_TIME):
            case = op.Case(path_parameters=params, query=dict(query))
            response = case.call(base_url=http_url, timeout=30)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            _strict_json(response.headers.get("content-type", ""), response.text)
            checked += 1
    return checked


def _strict_json(content_type: str, text: str) -> None:
    """JSON bodies must be real JSON: no NaN/Infinity literals."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a JSON response")

    if "json" in content_type and "ndjson" not in content_type:
        json.loads(text, parse_constant=refuse)
    elif "ndjson" in content_type:
        for line in text.split("\n"):
            if line:
                json.loads(line, parse_constant=refuse)


def check_exports(data_dir: Path, out_dir: Path, expected: int) -> None:
    import pyarrow.parquet as pq

    from agenttrace.export import export_spans
    from agenttrace.query import SpanFilter, open_engine

    engine = open_engine(data_dir)
    for fmt in ("jsonl", "csv", "parquet"):
        path = out_dir / f"spans.{fmt}"
        n = export_spans(engine.iter_spans(SpanFilter()), path, fmt)
        assert n == expected, f"{fmt}: exported {n} of {expected} spans"
        if fmt == "jsonl":
            for line in path.read_bytes().split(b"\n")[:-1]:  # not splitlines: \u2028 may be in a string
                rec = json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))
                assert rec.get("cost_usd") is None or math.isfinite(rec["cost_usd"])
        elif fmt == "csv":
            with open(path, newline="", encoding="utf-8") as f:  # newline="": \r inside fields stays
                rows = list(csv.DictReader(f))
            assert len(rows) == expected, f"csv: read back {len(rows)} of {expected} rows"
        else:
            table = pq.read_table(path)
            assert table.num_rows == expected
            costs = [c for c in table.column("cost_usd").to_pylist() if c is not None]
            assert all(math.isfinite(c) and c >= 0 for c in costs)
