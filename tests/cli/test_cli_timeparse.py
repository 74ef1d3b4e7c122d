"""Time arguments: the forms a user types at the CLI and in API query strings."""

from __future__ import annotations

from datetime import datetime

import pytest

from agenttrace.query.timeparse import BadTimeError, parse_time

NOW = 1_795_305_600 * 10**9 + 12_345  # 2026-11-22T00:00:00Z plus a little


@pytest.mark.parametrize(
    ("text", "seconds_before"),
    [("15m", 900), ("24h", 86400), ("7d", 7 * 86400), ("30s", 30), ("1w", 7 * 86400), ("1.5h", 5400), ("2h ago", 7200)],
)
def test_relative_durations_count_back_from_now(text: str, seconds_before: int) -> None:
    assert parse_time(text, now_ns=NOW) == NOW - seconds_before * 10**9


def test_now_today_and_yesterday() -> None:
    assert parse_time("now", now_ns=NOW) == NOW
    today = parse_time("today", now_ns=NOW)
    local = datetime.fromtimestamp(today / 1e9).astimezone()
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert today <= NOW < today + 86400 * 10**9 + 3600 * 10**9  # DST days last 25 h
    assert parse_time("yesterday", now_ns=NOW) < today


def test_iso_timestamps_keep_their_offset_and_microseconds() -> None:
    assert parse_time("2026-11-22T00:00:00Z") == 1_795_305_600 * 10**9
    assert parse_time("2026-11-22T01:00:00.000250+01:00") == 1_795_305_600 * 10**9 + 250_000


def test_naive_iso_is_local_time() -> None:
    expected = int(datetime(2026, 11, 22, 10, 30).astimezone().timestamp()) * 10**9
    assert parse_time("2026-11-22T10:30:00") == expected


def test_unix_seconds_and_nanoseconds() -> None:
    assert parse_time("1795305600") == 1_795_305_600 * 10**9
    assert parse_time("1795305600000000000") == 1_795_305_600 * 10**9


@pytest.mark.parametrize("text", ["", "soon", "15 minutes", "-5m", "2026-13-01", "m15", "³", "١٢"])  # non-ASCII digits
def test_unreadable_times_raise_one_clear_error(text: str) -> None:
    with pytest.raises(BadTimeError, match="cannot read") as info:
        parse_time(text, now_ns=NOW)
    assert isinstance(info.value, ValueError)
    assert "15m" in str(info.value)  # the message shows what would have worked
