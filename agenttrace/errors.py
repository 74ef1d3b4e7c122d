"""One error root for AgentTrace; leaves are also standard errors.

Every error a user or script may catch derives from :class:`AgentTraceError`.
Leaves also derive from the standard error they mean (``ValueError`` for bad
input), so ``except ValueError`` keeps working for callers who never heard of us.
"""

from __future__ import annotations


class AgentTraceError(Exception):
    """Root of every error AgentTrace raises on purpose."""


# --- wire format -------------------------------------------------------------


class WireError(AgentTraceError, ValueError):
    """A datagram could not be decoded. ``reason`` is a short, stable label
    (``bad_magic``, ``unknown_version``, ``truncated``, ``bad_payload``) that the
    collector uses as the ``reason`` label of its drop counter."""

    reason = "malformed"

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class BadMagicError(WireError):
    reason = "bad_magic"


class UnknownVersionError(WireError):
    reason = "unknown_version"

    def __init__(self, message: str, *, version: int, offset: int | None = 2) -> None:
        super().__init__(message, offset=offset)
        self.version = version


class TruncatedError(WireError):
    reason = "truncated"


class BadPayloadError(WireError):
    reason = "bad_payload"


# --- configuration -----------------------------------------------------------


class ConfigError(AgentTraceError, ValueError):
    """A configuration value is wrong. Names the key, the value and what was expected."""

    def __init__(self, key: str, value: object, expected: str, *, source: str | None = None) -> None:
        where = f" in {source}" if source else ""
        super().__init__(f"config key {key!r}{where}: got {value!r}, expected {expected}")
        self.key = key
        self.value = value
        self.expected = expected
        self.source = source


# --- store --------------------------------------------------------------------


class StoreError(AgentTraceError):
    """The store could not do what was asked (missing directory, disk full, ...)."""


class SegmentCorruptError(StoreError, ValueError):
    """A segment or WAL file failed a check. Carries ``path`` and byte ``offset``."""

    def __init__(self, path: str, offset: int, message: str) -> None:
        super().__init__(f"{path} at offset {offset}: {message}")
        self.path = str(path)
        self.offset = offset
        self.detail = message


class NotFoundError(AgentTraceError, LookupError):
    """A trace, session or other object asked for by id does not exist."""


class AmbiguousIdError(AgentTraceError, ValueError):
    """An id prefix matches more than one trace or session; ``.matches`` lists some of them."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        super().__init__(f"{prefix!r} matches {len(matches)} ids ({shown}): give more digits")
        self.prefix = prefix
        self.matches = matches


def error_message(exc: BaseException) -> str:
    """The message an error was raised with (``str()`` of a KeyError would add quotes)."""
    return str(exc.args[0]) if len(exc.args) == 1 else str(exc)


# --- collector start ----------------------------------------------------------


class CollectorConflictError(AgentTraceError, OSError):
    """The collector cannot start because something else holds what it needs; nothing
    of the other holder was touched. The collector exits 2 with this message."""


class DataDirLockedError(CollectorConflictError):
    """Another collector holds the data directory's lock. Carries ``path`` and ``pid``."""

    def __init__(self, path: str, pid: int | None, *, orphans: bool | list[int] = False) -> None:
        if orphans:
            pids = f" (pid {', '.join(map(str, orphans))})" if isinstance(orphans, list) else ""
            message = (
                f"worker processes of a previous collector still write to the data directory {path}{pids}; "
                "they exit once their rings are drained: try again"
            )
        else:
            who = f"pid {pid}" if pid else "a process whose pid could not be read"
            message = f"the data directory {path} is in use by another collector ({who})"
        super().__init__(message)
        self.path = str(path)
        self.pid = pid


class RuntimeDirError(AgentTraceError, PermissionError):
    """The runtime directory (sockets) is not private to this user; the message says
    what is wrong and how to fix it."""


class AddressInUseError(CollectorConflictError):
    """An address the collector would listen on is held by another socket. Carries
    ``address`` as a URL (``udp://127.0.0.1:4319``, ``unix:///run/x.sock``)."""

    def __init__(self, address: str, detail: str = "") -> None:
        super().__init__(f"address in use: {address}" + (f" ({detail})" if detail else ""))
        self.address = address
