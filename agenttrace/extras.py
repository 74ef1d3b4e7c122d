"""Optional third-party dependencies, checked where they are used, with the extra to install.

The SDK needs msgspec alone; the collector, the TUI and Parquet export need more
(``pip install 'agenttrace[collector]'``, ``[tui]``, ``[parquet]``). A module that needs
one imports it through :func:`require` once, so a missing package is reported as the
extra that provides it rather than as a bare ``ModuleNotFoundError`` deep in a call.

>>> require("collector", "msgspec").__name__
'msgspec'
>>> require("parquet", "no_such_mod", "Export")
Traceback (most recent call last):
...
agenttrace.extras.MissingExtraError: Export needs no_such_mod, which is not installed: pip install 'agenttrace[parquet]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from agenttrace.errors import AgentTraceError

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(AgentTraceError, ImportError):
    """A feature needs a package of an extra that is not installed; ``.extra`` names it."""

    def __init__(self, message: str, *, extra: str, module: str) -> None:
        super().__init__(message, name=module)
        self.extra = extra


def require(extra: str, module: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` (a package of ``agenttrace[extra]``), or raise :class:`MissingExtraError`
    saying which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and not module.startswith(exc.name):
            raise  # the package is there but broken: not a missing extra
        message = f"{feature or 'this'} needs {module}, which is not installed: pip install 'agenttrace[{extra}]'"
        raise MissingExtraError(message, extra=extra, module=module) from None
