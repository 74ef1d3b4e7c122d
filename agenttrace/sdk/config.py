"""SDK configuration: what :func:`agenttrace.configure` accepts and the ``AGENTTRACE_*``
environment variables it falls back to.

Precedence: an argument given to ``configure()`` wins over the environment, which wins
over the defaults below. With nothing configured at all, spans go to
``udp://127.0.0.1:4319``.
"""

from __future__ import annotations

import os
import random
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agenttrace.errors import ConfigError

__all__ = ["DEFAULT_ENDPOINT", "Config", "Endpoint", "load_config", "parse_endpoint"]

DEFAULT_ENDPOINT = "udp://127.0.0.1:4319"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where datagrams go: ``scheme`` is ``"udp"`` (``host``, ``port``) or ``"unix"`` (``path``)."""

    scheme: str
    host: str = ""
    port: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"udp://{host}:{self.port}"


def parse_endpoint(value: str, *, source: str | None = None) -> Endpoint:
    """Parse ``udp://HOST:PORT`` or ``unix:///absolute/path``.

    >>> parse_endpoint("udp://127.0.0.1:4319")
    Endpoint(scheme='udp', host='127.0.0.1', port=4319, path='')
    >>> parse_endpoint("unix:///run/agenttrace.sock").path
    '/run/agenttrace.sock'
    """
    text = str(value).strip()
    if text.startswith("unix://"):
        path = text[len("unix://") :]
        if not path:
            raise ConfigError("endpoint", value, "unix:///path/to/socket", source=source)
        return Endpoint("unix", path=path)
    if text.startswith("udp://"):
        rest = text[len("udp://") :].rstrip("/")
        if rest.startswith("["):  # [v6]:port
            host, _, port_text = rest[1:].partition("]:")
        else:
            host, _, port_text = rest.rpartition(":")
        try:
            port = int(port_text)
        except ValueError:
            port = -1
        if not host or not 0 < port < 65536:
            raise ConfigError("endpoint", value, "udp://HOST:PORT with a port in 1..65535", source=source)
        return Endpoint("udp", host=host, port=port)
    raise ConfigError("endpoint", value, "a udp://HOST:PORT or unix:///path URL", source=source)


def _default_service() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if name.endswith(".py"):
        name = name[:-3]
    return name if name and name not in ("-c", "-m") else "python"


def new_session_id() -> str:
    """A fresh random session id (32 hex digits)."""
    return secrets.token_hex(16)


@dataclass(slots=True)
class Config:
    """The resolved SDK settings. Build it with :func:`load_config`."""

    service: str = field(default_factory=_default_service)
    endpoint: Endpoint = field(default_factory=lambda: parse_endpoint(DEFAULT_ENDPOINT))
    session_id: str = field(default_factory=new_session_id)
    user_id: str = ""
    environment: str = ""
    tags: tuple[str, ...] = ()
    sample_rate: float = 1.0
    capture_content: bool = True
    mask: Callable[[str], str] | None = None
    max_preview_chars: int = 2000
    disabled: bool = False
    max_datagram_bytes: int = 8192
    max_queue_size: int = 16384
    flush_interval_s: float = 0.2
    # LZ4-compress a datagram when that saves >= 10% (needs lz4). Off by default: on
    # loopback it saves nothing and costs both ends CPU.
    compress: bool = False
    # A W3C traceparent the process runs under (env TRACEPARENT): root spans join it.
    traceparent: str = ""
    # Leave these as default unless testing: tests inject a seeded RNG and a fake clock.
    rng: random.Random | None = None
    clock: Callable[[], int] = time.time_ns


_ENV_KEYS = {
    "endpoint": "AGENTTRACE_ENDPOINT",
    "service": "AGENTTRACE_SERVICE",
    "session_id": "AGENTTRACE_SESSION_ID",
    "user_id": "AGENTTRACE_USER_ID",
    "environment": "AGENTTRACE_ENVIRONMENT",
    "tags": "AGENTTRACE_TAGS",
    "sample_rate": "AGENTTRACE_SAMPLE_RATE",
    "disabled": "AGENTTRACE_DISABLED",
    "capture_content": "AGENTTRACE_CAPTURE_CONTENT",
    "max_preview_chars": "AGENTTRACE_MAX_PREVIEW_CHARS",
    "max_datagram_bytes": "AGENTTRACE_MAX_DATAGRAM_BYTES",
    "compress": "AGENTTRACE_COMPRESS",
    "traceparent": "TRACEPARENT",
}


def _to_bool(key: str, value: Any, source: str | None) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(key, value, "a boolean (1/0, true/false, yes/no, on/off)", source=source)


def _to_int(key: str, value: Any, lo: int, hi: int, source: str | None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = lo - 1
    if isinstance(value, bool) or not lo <= number <= hi:
        raise ConfigError(key, value, f"an integer in {lo}..{hi}", source=source)
    return number


def _coerce(key: str, value: Any, source: str | None) -> Any:
    if key == "endpoint":
        return value if isinstance(value, Endpoint) else parse_endpoint(value, source=source)
    if key in ("service", "session_id", "user_id", "environment", "traceparent"):
        if not isinstance(value, str):
            raise ConfigError(key, value, "a string", source=source)
        return value
    if key == "tags":
        if isinstance(value, str):
            return tuple(t.strip() for t in value.split(",") if t.strip())
        if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(t, str) for t in value):
            return tuple(value)
        raise ConfigError(key, value, "a list of strings (or a comma-separated string)", source=source)
    if key == "sample_rate":
        try:
            rate = float(value)
        except (TypeError, ValueError):
            rate = -1.0
        if isinstance(value, bool) or not 0.0 <= rate <= 1.0:
            raise ConfigError(key, value, "a number between 0 and 1", source=source)
        return rate
    if key in ("disabled", "capture_content", "compress"):
        return _to_bool(key, value, source)
    if key == "mask":
        if value is not None and not callable(value):
            raise ConfigError(key, value, "a callable str -> str, or None", source=source)
        return value
    if key == "max_preview_chars":
        return _to_int(key, value, 0, 1 << 20, source)
    if key == "max_datagram_bytes":
        # 512 leaves room for a span after the header; 65507 is the largest UDP payload.
        return _to_int(key, value, 512, 65507, source)
    if key == "max_queue_size":
        return _to_int(key, value, 1, 1 << 24, source)
    if key == "flush_interval_s":
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = 0.0
        if not 0.001 <= seconds <= 60:
            raise ConfigError(key, value, "seconds between 0.001 and 60", source=source)
        return seconds
    if key == "rng":
        if value is not None and not isinstance(value, random.Random):
            raise ConfigError(key, value, "a random.Random instance or None", source=source)
        return value
    if key == "clock":
        if not callable(value):
            raise ConfigError(key, value, "a callable returning Unix nanoseconds", source=source)
        return value
    raise ConfigError(key, value, "a known configuration key")  # pragma: no cover - guarded by caller


def load_config(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    strict: bool = True,
) -> Config:
    """Resolve settings from ``overrides`` (``configure()``'s arguments), then the
    environment, then defaults.

    With ``strict=False`` a bad environment value is ignored with a warning instead of
    raising :class:`~agenttrace.errors.ConfigError` (used when the SDK configures
    itself on first use, where raising would hit the agent).
    """
    env = os.environ if environ is None else environ
    cfg = Config()
    known = {f for f in Config.__dataclass_fields__}
    for key, var in _ENV_KEYS.items():
        raw = env.get(var)
        if raw is None or (raw == "" and key not in ("disabled", "capture_content", "compress")):
            continue
        try:
            setattr(cfg, key, _coerce(key, raw, f"environment variable {var}"))
        except ConfigError:
            if strict:
                raise
            import warnings

            warnings.warn(f"agenttrace: ignoring {var}={raw!r} (invalid)", RuntimeWarning, stacklevel=3)
    for key, value in (overrides or {}).items():
        if key not in known:
            raise ConfigError(key, value, "a known configuration key (" + ", ".join(sorted(known)) + ")")
        if value is None and key not in ("mask", "rng"):
            continue
        setattr(cfg, key, _coerce(key, value, "configure()"))
    return cfg
