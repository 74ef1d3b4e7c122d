"""Fixtures of the API tests: the CLI tests' own (tests/cli/conftest.py), so both
directories are served by one collector (tests/cli/collector_fixture.py), filled by the real SDK."""

from __future__ import annotations

import runpy
from pathlib import Path

# tests/ is not a package: run the CLI tests' conftest and take its fixture from there.
filled = runpy.run_path(str(Path(__file__).parent.parent / "cli" / "conftest.py"))["filled"]
