"""Time arguments of the CLI and the HTTP API: ``15m``, ``24h``, ``7d``, ``today``, ISO.

    >>> now = 1_700_000_000 * 10**9
    >>> parse_time("15m", now_ns=now) == now - 15 * 60 * 10**9
    True
    >>> parse_time("2023-11-14T22:13:20Z")
    1700000000000000000

A relative duration means "that long before now". ``today`` and ``yesterday`` mean
local midnight. An ISO timestamp without an offset is read as local time, as a
person typing it at a terminal means it. A plain integer is Unix seconds (or, if
it is too large to be seconds, nanoseconds).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

__all__ = ["BadTimeError", "parse_time"]

from agenttrace.errors import AgentTraceError

_UNITS_NS = {
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
    "w": 7 * 86400 * 10**9,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*(?:ago)?\s*$", re.IGNORECASE)


class BadTimeError(AgentTraceError, ValueError):
    """A time argument could not be read. The message says what forms are accepted."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"cannot read {text!r} as a time: use a duration before now such as 15m, 24h or 7d, "
            "'today', 'yesterday', 'now', or an ISO timestamp such as 2026-11-22T10:00:00Z"
        )
        self.text = text


def _local_midnight(now_ns: int, days_back: int = 0) -> int:
    local = datetime.fromtimestamp(now_ns / 1e9).astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_back)
    return int(midnight.timestamp()) * 10**9


def parse_time(text: str, *, now_ns: int | None = None) -> int:
    """Return ``text`` as Unix nanoseconds; raise :class:`BadTimeError` if unreadable."""
    if now_ns is None:
        now_ns = time.time_ns()
    raw = text.strip()
    word = raw.lower()
    if word == "now":
        return now_ns
    if word == "today":
        return _local_midnight(now_ns)
    if word == "yesterday":
        return _local_midnight(now_ns, days_back=1)
    m = _RELATIVE.match(raw)
    if m:
        amount = float(m.group(1))
        return now_ns - int(amount * _UNITS_NS[m.group(2).lower()])
    if raw.isdigit():
        value = int(raw)
        # Seconds until the year 5138; anything larger is taken as nanoseconds.
        return value * 10**9 if value < 10**11 else value
    try:
        dt = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise BadTimeError(text) from None
    if dt.tzinfo is None:
        dt = dt.astimezone()  # naive: local time
    # Integer arithmetic: float seconds would lose the microseconds of a 2026 timestamp.
    return (dt - _EPOCH) // timedelta(microseconds=1) * 1000
