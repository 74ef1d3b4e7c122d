"""Typed spans for coding agents: file operations, terminal commands, git links, checkpoints.

Each helper records one *finished* span at once (the work it describes has already
happened when its numbers are known: a command's exit code, a file's changed lines, a
commit's sha) under the current span, so it sits in the trace and session of whatever
is running. To time work as it runs, use ``with at.span(name, kind="terminal")`` instead.

Attribute names (also listed in docs/sdk.md) are what the readers key on: the
``git-links`` query finds a commit by ``git.commit``; ``sessions show`` lists files by
``file.path`` and commands by ``terminal.command``.

>>> import agenttrace as at
>>> at.file_op("src/app.py", "edit", lines_added=12, lines_removed=3)
>>> at.terminal_cmd("pytest -q", exit_code=0, cwd="/repo")
>>> at.git_link("4f2a9c1e", repo="github.com/acme/shop")
>>> at.checkpoint("tests-green", passed=41, failed=0)
"""

from __future__ import annotations

from typing import Any

from agenttrace.sdk import tracer

__all__ = ["FILE_OPS", "checkpoint", "file_op", "git_link", "terminal_cmd"]

# The operations readers know; any other string is kept as given.
FILE_OPS = ("read", "write", "create", "edit", "delete", "rename")


def _record(name: str, kind: str, attributes: dict[str, Any], duration_s: float | None, error: str = "") -> None:
    s = tracer.span(name, kind, **attributes)
    if s is tracer.NOOP_SPAN:
        return
    s.__enter__()
    if duration_s:
        s.start_ns -= int(duration_s * 1e9)
    if error:
        s.set_status("error", error)
    s.__exit__(None, None, None)


def file_op(
    path: str,
    op: str,
    *,
    lines_added: int | None = None,
    lines_removed: int | None = None,
    duration_s: float | None = None,
    **attributes: Any,
) -> None:
    """Record that a file was read, written, created, edited, deleted or renamed
    (``kind="file"``, named ``"<op> <path>"``).

    Attributes: ``file.path``, ``file.operation`` and, when given, ``file.lines_added``
    and ``file.lines_removed``; other keyword arguments are kept as attributes.
    """
    attrs: dict[str, Any] = {"file.path": str(path), "file.operation": str(op)}
    if lines_added is not None:
        attrs["file.lines_added"] = int(lines_added)
    if lines_removed is not None:
        attrs["file.lines_removed"] = int(lines_removed)
    attrs.update(attributes)
    _record(f"{op} {path}", "file", attrs, duration_s)


def terminal_cmd(
    cmd: str | list[str],
    *,
    exit_code: int | None = None,
    cwd: str | None = None,
    duration_s: float | None = None,
    **attributes: Any,
) -> None:
    """Record a shell command that ran (``kind="terminal"``, named by the command).

    Attributes: ``terminal.command`` (a list is joined with spaces), and when given
    ``terminal.exit_code`` and ``terminal.cwd``. A non-zero exit code marks the span as
    an error. ``duration_s`` back-dates the start so the span covers the run.
    """
    command = " ".join(str(c) for c in cmd) if isinstance(cmd, (list, tuple)) else str(cmd)
    attrs: dict[str, Any] = {"terminal.command": command}
    if exit_code is not None:
        attrs["terminal.exit_code"] = int(exit_code)
    if cwd is not None:
        attrs["terminal.cwd"] = str(cwd)
    attrs.update(attributes)
    error = f"exit status {exit_code}" if exit_code not in (None, 0) else ""
    _record(command[:200], "terminal", attrs, duration_s, error)


def git_link(
    commit: str,
    *,
    repo: str | None = None,
    message: str | None = None,
    files: list[str] | None = None,
    lines_added: int | None = None,
    lines_removed: int | None = None,
    branch: str | None = None,
    **attributes: Any,
) -> None:
    """Link the current trace and session to a git commit (``kind="event"``, named
    ``"git commit <short sha>"``): ``agenttrace git-links SHA`` then finds what led to it.

    Attributes: ``git.commit`` (the full sha as given), and when given ``git.repo``,
    ``git.message``, ``git.files``, ``git.lines_added``, ``git.lines_removed``,
    ``git.branch``.
    """
    attrs: dict[str, Any] = {"git.commit": str(commit)}
    for key, value in (("git.repo", repo), ("git.message", message), ("git.branch", branch)):
        if value is not None:
            attrs[key] = str(value)
    if files is not None:
        attrs["git.files"] = [str(f) for f in files]
    if lines_added is not None:
        attrs["git.lines_added"] = int(lines_added)
    if lines_removed is not None:
        attrs["git.lines_removed"] = int(lines_removed)
    attrs.update(attributes)
    _record(f"git commit {str(commit)[:12]}", "event", attrs, None)


def checkpoint(name: str, /, **state: Any) -> None:
    """Mark a point the agent could resume from (``kind="event"``, named
    ``"checkpoint <name>"``). Attributes: ``checkpoint.name`` and ``checkpoint.state``
    (the keyword arguments, as a dict)."""
    _record(f"checkpoint {name}", "event", {"checkpoint.name": str(name), "checkpoint.state": dict(state)}, None)
