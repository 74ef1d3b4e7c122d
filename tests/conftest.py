"""Session-wide checks.

With ``AGENTTRACE_REQUIRE_EXTENSIONS=1`` (CI's README pass) the run stops at once
when a compiled module is missing, instead of skipping the compiled half of the
twin tests one by one.

A collector that is killed leaves its rings in /dev/shm for the next start on its data
directory (agenttrace/collector/shm.py); a test's temporary data directory has no next
start, so what the session's collectors left and no process maps any more is removed
at the end."""

from __future__ import annotations

import contextlib
import glob
import os

import pytest

from agenttrace._native import COMPILED_MODULES, REQUIRE_EXTENSIONS, compiled

_SHM = "/dev/shm"
_at_start: set[str] = set()


def _ours() -> set[str]:
    try:
        return {n for n in os.listdir(_SHM) if n.startswith("agenttrace-")}
    except OSError:
        return set()


def _mapped() -> set[str]:
    names: set[str] = set()
    for maps in glob.glob("/proc/[0-9]*/maps"):
        with contextlib.suppress(OSError), open(maps) as fh:
            for line in fh:
                if "/dev/shm/agenttrace-" in line:
                    names.add(line.rsplit("/", 1)[1].split()[0])
    return names


def pytest_sessionstart(session: pytest.Session) -> None:
    _at_start.update(_ours())
    if not REQUIRE_EXTENSIONS:
        return
    for name in COMPILED_MODULES:
        try:
            compiled(name)
        except ImportError as exc:
            pytest.exit(str(exc), returncode=3)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    left = _ours() - _at_start - _mapped()
    for name in left:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(_SHM, name))
