"""What ``agenttrace wrap`` asks git: the work tree, HEAD, commits made and files changed.

Each function runs one ``git`` command in ``cwd`` and returns plain values; a missing
git, or a directory that is not a work tree, gives ``None`` / empty results rather than
an error (wrap must run any command, in any directory).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

__all__ = [
    "EMPTY_TREE",
    "Commit",
    "FileChange",
    "changed_files",
    "commit_all",
    "commits_between",
    "head",
    "is_dirty",
    "remote_url",
    "toplevel",
]

# The id of git's empty tree: the "before" of a repository that had no commit yet.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    op: str  # create | edit | delete
    lines_added: int | None  # None for a binary file
    lines_removed: int | None


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    message: str
    time_s: int
    files: list[str] = field(default_factory=list)
    lines_added: int = 0
    lines_removed: int = 0


def _git(cwd: str, *args: str, timeout: float = 30.0) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def toplevel(cwd: str) -> str | None:
    """The root of the work tree holding ``cwd``, or ``None`` outside one."""
    out = _git(cwd, "rev-parse", "--show-toplevel")
    return out.strip() or None if out else None


def head(cwd: str) -> str | None:
    """The full sha of HEAD, or ``None`` (no commit yet, or not a work tree)."""
    out = _git(cwd, "rev-parse", "--verify", "-q", "HEAD")
    return out.strip() or None if out else None


def remote_url(cwd: str) -> str | None:
    out = _git(cwd, "remote", "get-url", "origin")
    return out.strip() or None if out else None


def is_dirty(cwd: str) -> bool:
    out = _git(cwd, "status", "--porcelain")
    return bool(out and out.strip())


def _numstat(line: str) -> tuple[int | None, int | None, str]:
    added, removed, path = line.split("\t", 2)
    return (None if added == "-" else int(added)), (None if removed == "-" else int(removed)), path


def commits_between(cwd: str, before: str | None, after: str | None) -> list[Commit]:
    """Commits reachable from ``after`` and not from ``before``, oldest first, each with
    its files and added/removed lines (``git log --numstat``)."""
    if not after or after == before:
        return []
    spec = f"{before}..{after}" if before else after
    # A record separator no commit message contains, then sha, time and subject.
    out = _git(cwd, "log", "--reverse", "--no-renames", "--numstat", "--format=%x1e%H%x00%ct%x00%s", spec)
    if not out:
        return []
    commits = []
    for record in out.split("\x1e")[1:]:
        header, _, body = record.partition("\n")
        sha, time_s, subject = header.split("\x00", 2)
        files, added, removed = [], 0, 0
        for line in body.splitlines():
            if line.strip():
                a, r, path = _numstat(line)
                files.append(path)
                added += a or 0
                removed += r or 0
        commits.append(Commit(sha, subject, int(time_s), files, added, removed))
    return commits


def changed_files(cwd: str, before: str | None) -> list[FileChange]:
    """Tracked files that differ between ``before`` (HEAD when the run began; the empty
    tree if there was none) and the work tree now, with the kind of change."""
    base = before or EMPTY_TREE
    status = _git(cwd, "diff", "--no-renames", "--name-status", base)
    numstat = _git(cwd, "diff", "--no-renames", "--numstat", base)
    if status is None or numstat is None:
        return []
    lines = {}
    for line in numstat.splitlines():
        if line.strip():
            a, r, path = _numstat(line)
            lines[path] = (a, r)
    ops = {"A": "create", "D": "delete"}
    changes = []
    for line in status.splitlines():
        if not line.strip():
            continue
        code, _, path = line.partition("\t")
        a, r = lines.get(path, (None, None))
        changes.append(FileChange(path, ops.get(code[:1], "edit"), a, r))
    return changes


def commit_all(cwd: str, message: str) -> str | None:
    """Stage everything (``git add -A``) and commit; the new sha, or ``None`` when there
    was nothing to commit or git refused."""
    if _git(cwd, "add", "-A") is None:
        return None
    if _git(cwd, "commit", "-q", "--no-verify", "-m", message) is None:
        return None
    return head(cwd)
