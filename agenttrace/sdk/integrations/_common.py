"""Helpers shared by the provider converters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Tiers that mean "no special tier": stored as "" so only batch/priority/flex stand out.
_MISSING = object()
_PLAIN_TIERS = {"", "auto", "default", "standard", "standard_only", "none"}


def get(obj: Any, name: str) -> Any:
    """``obj.name`` for SDK objects, ``obj[name]`` for dicts (parsed JSON), else None."""
    if obj is None:
        return None
    if isinstance(obj, dict):  # parsed JSON: checked first, a dict's methods are not its keys
        return obj.get(name)
    value = getattr(obj, name, _MISSING)  # SDK objects; before the slower abc Mapping check
    if value is not _MISSING:
        return value
    return obj.get(name) if isinstance(obj, Mapping) else None


def count(obj: Any, name: str) -> int:
    value = get(obj, name)
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def tier(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return None if text in _PLAIN_TIERS else text
