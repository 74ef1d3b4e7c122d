"""Time arguments of the CLI and the HTTP API: ``15m``, ``24h``, ``7d``, ``today``, ISO.

    >>> now = 1_700_000_000 * 10**9
    >>> parse_time("15m", now_ns=now) == now - 15 * 60 * 10**9
    True
    >>> parse_time("2023-11-14T22:13:20Z")
    1700000000000000000

A relative duration means "that long before now". ``today`` and ``yesterday`` mean
local midnight. An ISO timestamp without an offset is read as local time, as a
person typing it at a terminal means it. A plain integer is Unix seconds (or, if
it is too large to be seconds, nanoseconds). Results are clamped to
``[0, 2**63 - 1]`` (1970 to 2262), the range the store's nanosecond columns hold.
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


_MAX_NS = 2**63 - 1


def parse_time(text: str, *, now_ns: int | None = None) -> int:
    """Return ``text`` as Unix nanoseconds; raise :class:`BadTimeError` if unreadable."""
    return min(max(_parse(text, now_ns), 0), _MAX_NS)


def _parse(text: str, now_ns: int | None) -> int:
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
        back = float(m.group(1)) * _UNITS_NS[m.group(2).lower()]
        return now_ns - int(back) if back < 2**64 else 0  # longer ago than 1970: the start of time
    if raw.isascii() and raw.isdigit():  # "³".isdigit() is True, and int() refuses it
        value = int(raw)
        # Seconds until the year 5138; anything larger is taken as nanoseconds.
        return value * 10**9 if value < 10**11 else value
    try:
        dt = datetime.fromisoformat(raw.replace("z", "Z"))
        if dt.tzinfo is None:
            dt = dt.astimezone()  # naive: local time
    except (ValueError, OverflowError, OSError):  # year 1 or 9999 has no local offset on some systems
        raise BadTimeError(text) from None
    # Integer arithmetic: float seconds would lose the microseconds of a 2026 timestamp.
    return (dt - _EPOCH) // timedelta(microseconds=1) * 1000
