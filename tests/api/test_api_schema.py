"""Schemathesis against the OpenAPI document the running collector serves.

Every generated request to a query route must get an answer that is not a server
error (5xx) and that matches the documented schema for its status code. Bounded
(``max_examples`` per route) so the whole run takes a few seconds.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from agenttrace.collector.api import build_api_router

# Every route the router mounts (as OpenAPI writes its path), so a new route is covered
# without being listed here; test_api_http checks the documented list itself.
ROUTES = [re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path) for route in build_api_router(None).routes]


@pytest.fixture(scope="module")
def schema(filled):
    return schemathesis.openapi.from_url(filled.http_url + "/api/docs/openapi.json")


@pytest.mark.parametrize("path", ROUTES)
def test_no_server_error_and_no_schema_violation(filled, schema, path: str) -> None:
    operation = schema[path]["GET"]
    calls = 0

    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        nonlocal calls
        calls += 1
        response = case.call(base_url=filled.http_url, timeout=30)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    check()
    assert calls >= 1
