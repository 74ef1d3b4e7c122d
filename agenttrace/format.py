"""Every number, duration, amount of money and time as the faces show them: one module.

Two families, because two kinds of screen read them:

* precise, for the CLI's tables and waterfalls (``fmt_*``, :func:`local_time`,
  :func:`iso_utc`): ``1.23ms``, ``$0.012300``, ``1.5 KiB``;
* short and fixed-width, for the 80-column live view (``human``, ``usd``,
  ``duration_ns``, ...): ``12.3k``, ``$0.0123``, ``12ms``.

>>> fmt_duration_ns(1_234_567), fmt_cost(0.0123), fmt_bytes(1536), fmt_tokens(0)
('1.2ms', '$0.0123', '1.5 KiB', '')
>>> human(12_345.6), usd(0.01234), usd(12.3), duration_s(3725), nbytes(123_456_789)
('12.3k', '$0.0123', '$12.30', '1h02m', '118 MB')

Only the standard library: the SDK, the collector and both faces import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = [
    "ago",
    "duration_ns",
    "duration_s",
    "fmt_bytes",
    "fmt_cost",
    "fmt_duration_ns",
    "fmt_tokens",
    "human",
    "iso_utc",
    "local_time",
    "nbytes",
    "percent",
    "plural",
    "sparkline",
    "usd",
]

_BARS = "▁▂▃▄▅▆▇█"

# --- precise (CLI) -----------------------------------------------------------------


def fmt_duration_ns(ns: float) -> str:
    """``1234567`` → ``1.2ms``; picks the unit a person reads fastest."""
    if ns < 0:
        return "-" + fmt_duration_ns(-ns)
    if ns < 1_000:
        return f"{ns:.0f}ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.1f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.1f}ms"
    if ns < 60 * 1_000_000_000:
        return f"{ns / 1e9:.2f}s"
    minutes, seconds = divmod(ns / 1e9, 60)
    if minutes < 60:
        return f"{minutes:.0f}m{seconds:02.0f}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours:.0f}h{minutes:02.0f}m"


def fmt_tokens(n: int | None) -> str:
    """Thousands separators; empty for zero so tables stay quiet."""
    return f"{n:,}" if n else ""


def fmt_cost(usd: float | None) -> str:
    """``$0.0123``; more digits for tiny amounts, empty when unknown or zero."""
    if not usd:
        return ""
    if usd >= 100:
        return f"${usd:,.2f}"
    if usd >= 0.01:
        return f"${usd:.4f}"
    return f"${usd:.6f}"


def fmt_bytes(n: float) -> str:
    """``1536`` → ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # unreachable; keeps type checkers content


def plural(count: int, noun: str) -> str:
    """``plural(1, "error")`` → ``1 error``; ``plural(2, "error")`` → ``2 errors``."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def local_time(ns: int) -> str:
    """Unix nanoseconds as local ``YYYY-MM-DD HH:MM:SS``, the way a terminal user reads time."""
    return datetime.fromtimestamp(ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(ns: int) -> str:
    """Unix nanoseconds as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return datetime.fromtimestamp(ns // 1000 / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- short, fixed width (TUI) ------------------------------------------------------


def human(value: float) -> str:
    """A count or rate in at most five characters: 0, 7.5, 950, 12.3k, 4.56M."""
    v = abs(value)
    sign = "-" if value < 0 else ""
    if v < 10:
        text = f"{v:.1f}"
        return sign + (text[:-2] if text.endswith(".0") else text)
    if v < 1000:
        return f"{sign}{v:.0f}"
    for unit, scale in (("k", 1e3), ("M", 1e6), ("G", 1e9)):
        if v < scale * 999.5:
            text = f"{v / scale:.1f}"
            return f"{sign}{text if len(text) <= 4 else text[:-2]}{unit}"
    return f"{sign}{v / 1e12:.0f}T"


def usd(value: float) -> str:
    """Dollars with enough digits to see small spends: $0, $0.0042, $0.42, $12.30, $1.2k."""
    if value == 0:
        return "$0"
    if abs(value) < 1:
        return f"${value:.4f}" if abs(value) < 0.1 else f"${value:.3f}"
    if abs(value) < 1000:
        return f"${value:.2f}"
    return "$" + human(value)


def percent(fraction: float) -> str:
    """0.0123 -> '1.2%'; tiny non-zero values stay visible as '<0.1%'."""
    if fraction <= 0:
        return "0%"
    if fraction < 0.001:
        return "<0.1%"
    return f"{fraction * 100:.1f}%" if fraction < 0.1 else f"{fraction * 100:.0f}%"


def duration_s(seconds: float) -> str:
    """A running time: 42s, 3m05s, 1h02m, 2d04h."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def duration_ns(ns: float) -> str:
    """A span latency: 850µs, 12ms, 1.4s, 2m05s."""
    if ns < 1_000_000:
        return f"{ns / 1000:.0f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.0f}ms"
    if ns < 60_000_000_000:
        return f"{ns / 1e9:.1f}s"
    return duration_s(ns / 1e9)


def ago(seconds: float) -> str:
    """How long ago something happened: 'now', '12s', '3m05s'."""
    return "now" if seconds < 1 else duration_s(seconds)


def nbytes(n: float) -> str:
    """Bytes in binary units, short: 512 B, 12 KB, 118 MB, 1.5 GB."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit == "GB" else f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover - the loop always returns


def sparkline(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as block characters scaled to their maximum."""
    tail = list(values)[-width:] if width > 0 else []
    if not tail:
        return ""
    top = max(tail)
    if top <= 0:
        return _BARS[0] * len(tail)
    last = len(_BARS) - 1
    return "".join(_BARS[min(last, round(v / top * last))] if v > 0 else " " for v in tail)
