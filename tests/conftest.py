"""Session-wide checks.

With ``AGENTTRACE_REQUIRE_EXTENSIONS=1`` (CI's README pass) the run stops at once
when a compiled module is missing, instead of skipping the compiled half of the
twin tests one by one."""

from __future__ import annotations

import pytest

from agenttrace._native import COMPILED_MODULES, REQUIRE_EXTENSIONS, compiled


def pytest_sessionstart(session: pytest.Session) -> None:
    if not REQUIRE_EXTENSIONS:
        return
    for name in COMPILED_MODULES:
        try:
            compiled(name)
        except ImportError as exc:
            pytest.exit(str(exc), returncode=3)
