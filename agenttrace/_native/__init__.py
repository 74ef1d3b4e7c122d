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
from types import ModuleType

__all__ = ["NO_EXTENSIONS", "is_compiled", "load"]

NO_EXTENSIONS = os.environ.get("AGENTTRACE_NO_EXTENSIONS", "").strip().lower() not in ("", "0", "false", "no")
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
