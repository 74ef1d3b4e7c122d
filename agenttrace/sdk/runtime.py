"""Process-wide SDK state: ``configure``, ``flush``, ``stats``, ``shutdown`` and fork safety.

The hot path in :mod:`agenttrace.sdk.tracer` reads a few module globals (the queue, the
sampling threshold, the clock); :func:`_install` sets them whenever the configuration
or the emitter changes, so a span never looks anything up through this module.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import threading
from collections.abc import Callable
from typing import Any

from agenttrace.sdk import tracer
from agenttrace.sdk.config import Config, load_config
from agenttrace.sdk.context import parse_traceparent

__all__ = ["configure", "ensure_started", "flush", "get_config", "reset", "shutdown", "stats"]

_lock = threading.RLock()
_config: Config | None = None
_emitter: Any = None  # emitter.Emitter, imported lazily so a disabled SDK never loads it
_atexit_registered = False
_EXIT_FLUSH_TIMEOUT_S = 2.0


def _install(config: Config, emitter: Any) -> None:
    t = tracer
    t._capture = config.capture_content
    t._max_preview = config.max_preview_chars
    t._mask = config.mask
    t._time_ns = config.clock
    t._env_parent = parse_traceparent(config.traceparent) if config.traceparent else None
    t._threshold = int(config.sample_rate * (1 << 64))
    if config.rng is not None:
        t._rng = config.rng
    else:
        t._rng = random.Random(os.urandom(16))
    t._getrandbits = t._rng.getrandbits
    if emitter is None:
        t._mode = 2
        t._count = lambda reason, n: None
        t._wake = lambda: None
        return
    t._q = emitter.queue
    t._qmax = config.max_queue_size
    t._flush_at = min(emitter.flush_at, max(1, config.max_queue_size // 2))
    t._wake = emitter.wake
    t._count = emitter.count
    t._mode = 1


def _start(config: Config) -> None:
    global _config, _emitter, _atexit_registered
    old = _emitter
    _config = config
    tracer._mode = 2  # spans started while we switch over are no-ops
    if old is not None:
        old.stop(timeout=_EXIT_FLUSH_TIMEOUT_S)
        _emitter = None
    if config.disabled:
        _install(config, None)
        return
    from agenttrace.sdk.emitter import Emitter

    emitter = Emitter(config)
    emitter.start()
    _emitter = emitter
    _install(config, emitter)
    if not _atexit_registered:
        atexit.register(_at_exit)
        _atexit_registered = True


def configure(
    *,
    service: str | None = None,
    endpoint: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    environment: str | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    sample_rate: float | None = None,
    capture_content: bool | None = None,
    mask: Callable[[str], str] | None = None,
    disabled: bool | None = None,
    max_preview_chars: int | None = None,
    max_datagram_bytes: int | None = None,
    max_queue_size: int | None = None,
    flush_interval_s: float | None = None,
    compress: bool | None = None,
    rng: random.Random | None = None,
    clock: Callable[[], int] | None = None,
) -> Config:
    """Set up (or set up again) the SDK. Arguments left as ``None`` come from the
    ``AGENTTRACE_*`` environment variables, else from the defaults. Spans queued under a
    previous configuration are flushed first. Raises
    :class:`~agenttrace.errors.ConfigError` on a bad value.

    >>> import agenttrace as at
    >>> cfg = at.configure(service="support-bot", endpoint="udp://127.0.0.1:4319", sample_rate=0.25)
    >>> cfg.sample_rate
    0.25
    """
    overrides = {k: v for k, v in locals().items() if v is not None}
    config = load_config(overrides, strict=True)
    with _lock:
        _start(config)
    return config


def ensure_started() -> None:
    """Configure from the environment alone, once (the first span does this)."""
    with _lock:
        if tracer._mode == 0:
            _start(load_config(strict=False))


def get_config() -> Config | None:
    """The active configuration (``None`` before the first span or ``configure()``)."""
    return _config


def flush(timeout: float | None = 5.0) -> bool:
    """Send every span ended so far. Returns True if that finished within ``timeout``
    seconds and no span was dropped since the previous flush (no listener, queue full,
    ...): :func:`stats` ``["last_flush"]`` says why not. Never raises, even with the
    collector down."""
    emitter = _emitter
    if emitter is None:
        return True
    return emitter.flush(timeout)


def stats() -> dict[str, Any]:
    """Counters of this process: ``emitted`` (spans handed to the emitter), ``sent``,
    ``queued``, ``dropped`` (a dict by reason), ``dropped_total``, ``sampled_out``,
    ``truncated``, ``datagrams_sent``, ``datagrams_dropped``, ``sender_id``, ``endpoint``,
    ``last_flush`` (``ok``, ``timed_out``, ``dropped`` by reason since the flush before it),
    and ``instrumentation_errors`` (bugs in :func:`agenttrace.instrumentation` caught before
    they reached the application)."""
    result = _emitter_stats()
    result["instrumentation_errors"] = _instrumentation_errors
    return result


def _emitter_stats() -> dict[str, Any]:
    emitter = _emitter
    if emitter is None and _stopped_stats:
        return {**_stopped_stats, "disabled": True}
    if emitter is None:
        return {
            "emitted": 0,
            "sent": 0,
            "queued": 0,
            "dropped": {},
            "dropped_total": 0,
            "sampled_out": 0,
            "truncated": 0,
            "datagrams_sent": 0,
            "datagrams_dropped": 0,
            "sender_id": 0,
            "endpoint": str(_config.endpoint) if _config else "",
            "last_flush": {"ok": True, "timed_out": False, "dropped": {}},
            "disabled": True,
        }
    result = emitter.stats()
    result["disabled"] = False
    return result


def shutdown(timeout: float | None = 5.0) -> bool:
    """Flush, stop the background thread and close the socket. Spans started afterwards
    are no-ops until the next :func:`configure`. Returns True if everything was sent."""
    global _emitter
    with _lock:
        tracer._mode = 2
        emitter, _emitter = _emitter, None
        if emitter is None:
            return True
        done = emitter.stop(timeout)
        # Keep the final counters readable after shutdown.
        _stopped_stats.clear()
        _stopped_stats.update(emitter.stats())
        return done


_stopped_stats: dict[str, Any] = {}
_instrumentation_errors = 0


def count_instrumentation_error() -> None:
    """An auto-instrumentation bug was caught instead of reaching the application."""
    global _instrumentation_errors
    _instrumentation_errors += 1  # a lost increment under a race is acceptable for a bug counter


def reset(timeout: float | None = 5.0) -> None:
    """Shut down and return to the unconfigured state: the next span configures the
    SDK from the environment again. Meant for tests that must not leak SDK state."""
    global _config
    shutdown(timeout)
    with _lock:
        _config = None
        _stopped_stats.clear()
        tracer._mode = 0
        tracer._env_parent = None


def _at_exit() -> None:
    with contextlib.suppress(Exception):  # interpreter shutdown: never turn exit into a traceback
        shutdown(_EXIT_FLUSH_TIMEOUT_S)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # the parent may have held it while forking
    emitter = _emitter
    config = _config
    if emitter is None or config is None:
        return
    emitter.after_fork_in_child()
    _install(config, emitter)  # new queue, and an RNG no longer shared with the parent


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
