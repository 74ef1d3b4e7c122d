"""Auto-instrumentation: one call, and the agent's model, tool and framework calls are traced.

    import agenttrace as at
    at.instrument()                      # every supported library that is installed
    at.instrument("openai", "langchain")  # or just these
    at.instrumented()                    # {"openai": "patched", "litellm": "not installed", ...}
    at.uninstrument()                    # undo

Nothing is imported here that the application has not imported: each library is patched
by an import hook when the application imports it (or at once if it already has), so
``at.instrument()`` costs start-up nothing and never causes network access. Each library
has its own module (``agenttrace.instrumentation.openai``, ...) with ``instrument(module)`` /
``uninstrument()`` and the version range it supports (``SUPPORTED``, like OpenTelemetry's
``BaseInstrumentor.instrumentation_dependencies()``).

This module imports only the standard library: ``agenttrace.sdk.api`` re-exports it, and
the SDK must stay cheap to import.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import sys
import threading
from typing import Any

__all__ = ["LIBRARIES", "instrument", "instrumented", "uninstrument"]

# Library name (what users pass) -> the module holding its instrumentation. Order matters
# for at.instrumented() only.
LIBRARIES: dict[str, str] = {
    "openai": "agenttrace.instrumentation.openai",
    "anthropic": "agenttrace.instrumentation.anthropic",
    "langchain": "agenttrace.instrumentation.langchain",
    "litellm": "agenttrace.instrumentation.litellm",
    "openai-agents": "agenttrace.instrumentation.openai_agents",
    "mcp": "agenttrace.instrumentation.mcp",
}

_lock = threading.RLock()
# name -> "patched" | "waiting for import" | "not installed" | "unsupported version X (needs R)"
#         | "failed: ..." ; absent = never asked for (or uninstrumented).
_status: dict[str, str] = {}
_wanted: set[str] = set()  # names whose import hook should still act when it fires
_hooked: set[str] = set()  # names whose hook is registered (wrapt keeps hooks for good)


def instrument(*names: str) -> dict[str, str]:
    """Trace the calls of the named libraries (all supported ones when none are named).

    A library that is not installed, or installed in a version outside the supported
    range, is skipped and says so in :func:`instrumented`; an unknown name raises
    ``ValueError``. Safe to call more than once. Returns :func:`instrumented`.
    """
    chosen = _resolve(names)
    with _lock:
        for name in chosen:
            if _status.get(name) in ("patched", "waiting for import"):
                continue
            try:
                plugin = _plugin(name)
            except ImportError as exc:  # wrapt missing: installed without the extra
                _status[name] = f"failed: {exc} (pip install 'agenttrace[instrument]')"
                continue
            problem = _check_installed(plugin)
            if problem:
                _status[name] = problem
                continue
            _wanted.add(name)
            _status[name] = "waiting for import"
            before = getattr(plugin, "before_import", None)
            if before is not None and plugin.MODULE not in sys.modules:
                before()
            if name not in _hooked:
                _register_hook(name, plugin.MODULE)
                _hooked.add(name)
            elif plugin.MODULE in sys.modules:
                _on_import(name, sys.modules[plugin.MODULE])
    return instrumented()


def uninstrument(*names: str) -> dict[str, str]:
    """Undo :func:`instrument` for the named libraries (all when none are named)."""
    chosen = _resolve(names)
    with _lock:
        for name in chosen:
            _wanted.discard(name)
            if _status.pop(name, None) == "patched":
                try:
                    _plugin(name).uninstrument()
                except Exception:
                    _count_error()
    return instrumented()


def instrumented() -> dict[str, str]:
    """What :func:`instrument` did with each library asked for: ``"patched"``,
    ``"waiting for import"`` (installed, patched when the application imports it),
    ``"not installed"``, ``"unsupported version ..."`` or ``"failed: ..."``."""
    with _lock:
        return {name: _status[name] for name in LIBRARIES if name in _status}


# --- internals -----------------------------------------------------------------------------


def _resolve(names: tuple[str, ...]) -> list[str]:
    if not names:
        return list(LIBRARIES)
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown:
        raise ValueError(f"unknown library {unknown[0]!r}: supported are {', '.join(LIBRARIES)}")
    return list(dict.fromkeys(names))


def _plugin(name: str) -> Any:
    return importlib.import_module(LIBRARIES[name])


def _check_installed(plugin: Any) -> str:
    """ "" when the library can be patched, else why not. Reads package metadata only."""
    if importlib.util.find_spec(plugin.MODULE) is None:
        return "not installed"
    try:
        version = importlib.metadata.version(plugin.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
    low, high = plugin.SUPPORTED
    if not version_in_range(version, low, high):
        return f"unsupported version {version} (needs >={low},<{high})"
    return ""


def version_in_range(version: str, low: str, high: str) -> bool:
    """``low <= version < high`` comparing the leading numbers (``1.109.1rc1`` -> 1.109.1).

    >>> version_in_range("1.109.1", "1.30", "3")
    True
    >>> version_in_range("0.28.0", "0.30", "1")
    False
    """
    return _numbers(low) <= _numbers(version) < _numbers(high)


def _numbers(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:3]:
        match = re.match(r"\d+", piece)
        if match is None:
            break
        parts.append(int(match.group()))
    return tuple(parts + [0] * (3 - len(parts)))


def _register_hook(name: str, module_name: str) -> None:
    import wrapt

    # wrapt's post-import hooks are a sys.meta_path finder: the hook runs once the
    # application has imported the module, or now if it already has.
    wrapt.register_post_import_hook(lambda module: _on_import(name, module), module_name)


def _on_import(name: str, module: Any) -> None:
    with _lock:
        if name not in _wanted or _status.get(name) == "patched":
            return
        try:
            _plugin(name).instrument(module)
        except Exception as exc:  # never break the application's import
            _count_error()
            _status[name] = f"failed: {type(exc).__name__}: {exc}"
            return
        _status[name] = "patched"


def _count_error() -> None:
    from agenttrace.instrumentation._support import count_error

    count_error()
