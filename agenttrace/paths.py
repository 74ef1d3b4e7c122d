"""Where AgentTrace keeps its files, resolved the same way by every command.

Data directory: ``$AGENTTRACE_DATA_DIR``, else ``$XDG_DATA_HOME/agenttrace``, else
``~/.local/share/agenttrace``. Runtime directory (sockets, pid files):
``$AGENTTRACE_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/agenttrace``, else
``/tmp/agenttrace-<uid>``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_data_dir", "default_runtime_dir"]


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    # XDG says a relative path in these variables is invalid and must be ignored.
    if value and os.path.isabs(os.path.expanduser(value)):
        return Path(os.path.expanduser(value))
    return None


def default_data_dir() -> Path:
    """The store's directory when neither ``--data-dir`` nor the config names one."""
    explicit = os.environ.get("AGENTTRACE_DATA_DIR", "").strip()
    if explicit:
        return Path(os.path.expanduser(explicit))
    xdg = _env_path("XDG_DATA_HOME")
    base = xdg if xdg is not None else Path.home() / ".local" / "share"
    return base / "agenttrace"


def default_runtime_dir() -> Path:
    """A per-user directory for sockets and pid files (not created here)."""
    explicit = os.environ.get("AGENTTRACE_RUNTIME_DIR", "").strip()
    if explicit:
        return Path(os.path.expanduser(explicit))
    xdg = _env_path("XDG_RUNTIME_DIR")
    if xdg is not None:
        return xdg / "agenttrace"
    return Path("/tmp") / f"agenttrace-{os.getuid()}"
