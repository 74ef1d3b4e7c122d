"""Compiled hot paths and their pure-Python twins.

Each ``NAME.pyx`` here has a twin ``NAME_py.py`` with the same public names and
the same behaviour (tests run both and compare). :func:`load` picks the compiled
module unless ``AGENTTRACE_NO_EXTENSIONS=1`` or it was not built, in which case
the twin is used and a warning says so once. With ``AGENTTRACE_REQUIRE_EXTENSIONS=1``
(CI sets it for the pass that installs as the README says) a compiled module that is
missing is an ``ImportError`` instead of a quiet fallback. This module is the one
reader of both variables (setup.py runs it on its own, stdlib only).
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Mapping
from types import ModuleType

__all__ = [
    "COMPILED_MODULES",
    "NO_EXTENSIONS",
    "REQUIRE_EXTENSIONS",
    "compiled",
    "is_compiled",
    "load",
    "no_extensions",
    "require_extensions",
]


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def no_extensions(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``AGENTTRACE_NO_EXTENSIONS`` asks for the pure-Python twins: any value but
    empty, ``0``, ``false`` or ``no`` (any case). The one reader of the variable: setup.py
    runs this file on its own (stdlib only) to decide whether to build the extensions."""
    return _flag(environ, "AGENTTRACE_NO_EXTENSIONS")


def require_extensions(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``AGENTTRACE_REQUIRE_EXTENSIONS`` forbids falling back to a twin (same
    spelling rules). ``AGENTTRACE_NO_EXTENSIONS`` wins: the twin-only pass asks for the
    twins on purpose."""
    return _flag(environ, "AGENTTRACE_REQUIRE_EXTENSIONS") and not no_extensions(environ)


NO_EXTENSIONS = no_extensions()
REQUIRE_EXTENSIONS = require_extensions()
COMPILED_MODULES = ("bounds", "columns", "decode", "recv", "ring", "seqlock")  # one per .pyx
_warned: set[str] = set()


def compiled(name: str) -> ModuleType | None:
    """The compiled ``agenttrace._native.NAME``, or None when it is not built or
    ``AGENTTRACE_NO_EXTENSIONS=1``. Raises ImportError when it is not built and
    ``AGENTTRACE_REQUIRE_EXTENSIONS=1``."""
    if NO_EXTENSIONS:
        return None
    try:
        return importlib.import_module(f"agenttrace._native.{name}")
    except ImportError as exc:
        if REQUIRE_EXTENSIONS:
            raise ImportError(
                f"agenttrace: compiled module {name!r} is not available ({exc}) and "
                "AGENTTRACE_REQUIRE_EXTENSIONS=1 forbids the pure-Python twin"
            ) from exc
        return None


def load(name: str) -> ModuleType:
    """Return ``agenttrace._native.NAME`` if compiled and allowed, else ``NAME_py``."""
    module = compiled(name)
    if module is not None:
        return module
    if not NO_EXTENSIONS and name not in _warned:
        _warned.add(name)
        warnings.warn(
            f"agenttrace: compiled module {name!r} is not available; using the pure-Python twin, "
            "which is slower. Reinstall with a C compiler and Cython to build it.",
            RuntimeWarning,
            stacklevel=2,
        )
    return importlib.import_module(f"agenttrace._native.{name}_py")


def is_compiled(module: ModuleType) -> bool:
    """True when ``module`` is a compiled extension rather than a twin."""
    return not module.__name__.endswith("_py")
