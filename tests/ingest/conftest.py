"""Fixtures: one real collector (with an API key) shared by the OTLP tests, and
fresh ones for tests that change its configuration or stop its workers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from otlp_helpers import API_KEY, OtlpCollector

SHARED_CONFIG = f"""
[api]
api_key = "{API_KEY}"
[store]
seal_age_s = 0.2
[otlp]
max_body_bytes = 262144
"""


@pytest.fixture(scope="session")
def collector(tmp_path_factory) -> Iterator[OtlpCollector]:
    """One collector for every OTLP test that does not change its configuration."""
    c = OtlpCollector(tmp_path_factory.mktemp("otlp"), config=SHARED_CONFIG)
    try:
        yield c
    finally:
        c.kill()


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator:
    started: list[OtlpCollector] = []

    def start(*extra: str, config: str = "", env: dict[str, str] | None = None) -> OtlpCollector:
        c = OtlpCollector(tmp_path / f"c{len(started)}", *extra, config=config, env=env)
        started.append(c)
        return c

    try:
        yield start
    finally:
        for c in started:
            c.kill()
