"""Helpers shared by the receive-path tests (a uniquely named module, not conftest)."""

from __future__ import annotations

import importlib
import time
from types import ModuleType

import pytest

from agenttrace._native import compiled
from agenttrace.model import Span
from agenttrace.wire import encode

BUILDS = ["compiled", "twin"]


def compiled_module(name: str) -> ModuleType | None:
    # None in CI's twin-only pass (the compiled params ran in the first pass); an
    # ImportError instead of None when AGENTTRACE_REQUIRE_EXTENSIONS=1.
    return compiled(name)


def load_build(name: str, build: str) -> ModuleType:
    """``agenttrace._native.NAME`` (compiled) or ``NAME_py`` (twin); skips when not built."""
    if build == "twin":
        return importlib.import_module(f"agenttrace._native.{name}_py")
    mod = compiled_module(name)
    if mod is None:
        pytest.skip(f"agenttrace._native.{name} is not compiled, or AGENTTRACE_NO_EXTENSIONS=1")
    return mod


def wait_for(cond, timeout: float = 15.0) -> bool:
    """Poll ``cond`` until true or ``timeout`` (a generous bound, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


def dgram(sender: int, seq: int, *, spans: int = 1, size: int = 0) -> bytes:
    span = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x" * size, start_ns=1, end_ns=2)
    return encode([span] * spans, sender_id=sender, seq=seq, compress=False)


OUTCOMES = (
    "accepted",
    "dropped_ring_full",
    "dropped_oversize",
    "dropped_bad_magic",
    "dropped_unknown_version",
    "dropped_truncated",
    "dropped_bad_payload",
    "dropped_not_allowed",
)


def outcomes(stats: dict[str, int]) -> int:
    return sum(stats[k] for k in OUTCOMES)
