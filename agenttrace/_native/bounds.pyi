"""Stub of the compiled span range guard (twin: bounds_py.py; reference: agenttrace/bounds.py)."""

from collections.abc import Sequence
from typing import Any

from agenttrace.bounds import Fixes
from agenttrace.model import Span

def sanitize_batch(good: Sequence[tuple[Any, list[Span]]], now_ns: int) -> Fixes | None: ...
