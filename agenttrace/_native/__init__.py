"""Compiled hot paths and their pure-Python twins.

Each ``NAME.pyx`` here has a twin ``NAME_py.py`` with the same public names and
the same behaviour (tests run both and compare). :func:`load` picks the compiled
module unless ``AGENTTRACE_NO_EXTENSIONS=1`` or it was not built, in which case
the twin is used and a warning says so once.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Mapping
from types import ModuleType

__all__ = ["NO_EXTENSIONS", "is_compiled", "load", "no_extensions"]


def no_extensions(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``AGENTTRACE_NO_EXTENSIONS`` asks for the pure-Python twins: any value but
    empty, ``0``, ``false`` or ``no`` (any case). The one reader of the variable: setup.py
    runs this file on its own (stdlib only) to decide whether to build the extensions."""
    return environ.get("AGENTTRACE_NO_EXTENSIONS", "").strip().lower() not in ("", "0", "false", "no")


NO_EXTENSIONS = no_extensions()
_warned: set[str] = set()


def load(name: str) -> ModuleType:
    """Return ``agenttrace._native.NAME`` if compiled and allowed, else ``NAME_py``."""
    if not NO_EXTENSIONS:
        try:
            return importlib.import_module(f"agenttrace._native.{name}")
        except ImportError as exc:
            if name not in _warned:
                _warned.add(name)
                warnings.warn(
                    f"agenttrace: compiled module {name!r} is not available ({exc}); "
                    "using the pure-Python twin, which is slower. Reinstall with a C compiler "
                    "and Cython to build it.",
                    RuntimeWarning,
                    stacklevel=2,
                )
    return importlib.import_module(f"agenttrace._native.{name}_py")


def is_compiled(module: ModuleType) -> bool:
    """True when ``module`` is a compiled extension rather than a twin."""
    return not module.__name__.endswith("_py")
