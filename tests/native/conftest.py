"""Fixtures that run every receive-path test against the compiled build and the twin."""

from __future__ import annotations

from types import ModuleType

import pytest
from native_helpers import BUILDS, load_build


@pytest.fixture(params=BUILDS)
def build(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def ring_mod(build: str) -> ModuleType:
    return load_build("ring", build)


@pytest.fixture
def recv_mod(build: str) -> ModuleType:
    return load_build("recv", build)


@pytest.fixture
def make_ring(ring_mod: ModuleType):
    """Factory for rings of the build under test, closed and unlinked afterwards."""
    made = []

    def make(capacity: int = 1 << 16, **kw):
        ring = ring_mod.Ring.create(capacity, **kw)
        made.append(ring)
        return ring

    yield make
    for ring in made:
        ring.pinned = 0
        ring.close()
        ring.unlink()
