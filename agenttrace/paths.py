"""Where AgentTrace keeps its files, resolved the same way by every command.

Data directory: ``$AGENTTRACE_DATA_DIR``, else ``$XDG_DATA_HOME/agenttrace``, else
``~/.local/share/agenttrace``. Runtime directory (sockets, pid files):
``$AGENTTRACE_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/agenttrace``, else
``/tmp/agenttrace-<uid>`` (in ``$TMPDIR`` when that is set).

The last one lives in a directory everyone may write to, so anyone could create it
first and read or replace the sockets in it: :func:`ensure_runtime_dir` creates it
0700 and refuses it when it belongs to someone else, is not a plain directory or
lets others in.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from agenttrace.errors import RuntimeDirError

__all__ = [
    "default_data_dir",
    "default_runtime_dir",
    "ensure_runtime_dir",
    "fallback_runtime_dir",
    "system_config_dir",
]


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


def system_config_dir() -> Path:
    """``/etc/agenttrace`` (``$AGENTTRACE_CONFIG_DIR`` when set): the service's
    configuration, and the price catalogue ``agenttrace pricing update`` writes as root."""
    return _env_path("AGENTTRACE_CONFIG_DIR") or Path("/etc/agenttrace")


def fallback_runtime_dir() -> Path:
    """``/tmp/agenttrace-<uid>`` (``$TMPDIR`` when set): the runtime directory when no
    variable names one."""
    return Path(tempfile.gettempdir()) / f"agenttrace-{os.getuid()}"


def ensure_runtime_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (mode 0700) if it is missing and return it.

    The fallback runtime directory (:func:`fallback_runtime_dir`) must moreover be a
    directory (not a symlink) owned by this user with no permission for group or
    others; otherwise :class:`RuntimeDirError` says what is wrong and what to do.
    Other paths were chosen by the user and are only created."""
    path = Path(path)
    if path != fallback_runtime_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    st = os.lstat(path)
    fix = "remove it, or set XDG_RUNTIME_DIR or AGENTTRACE_RUNTIME_DIR to a private directory"
    if not stat.S_ISDIR(st.st_mode):
        raise RuntimeDirError(f"the runtime directory {path} is not a directory; {fix}")
    if st.st_uid != os.getuid():
        raise RuntimeDirError(
            f"the runtime directory {path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}); {fix}"
        )
    if st.st_mode & 0o077:
        raise RuntimeDirError(
            f"the runtime directory {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0700 "
            f"(run: chmod 700 {path})"
        )
    return path


def default_runtime_dir() -> Path:
    """A per-user directory for sockets and pid files (not created here)."""
    explicit = os.environ.get("AGENTTRACE_RUNTIME_DIR", "").strip()
    if explicit:
        return Path(os.path.expanduser(explicit))
    xdg = _env_path("XDG_RUNTIME_DIR")
    if xdg is not None:
        return xdg / "agenttrace"
    return fallback_runtime_dir()
