"""Optional third-party packages are checked where they are used, and a missing one is
reported as the extra to install, in one sentence, without a traceback."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

import agenttrace.extras
from agenttrace.errors import AgentTraceError
from agenttrace.extras import MissingExtraError, require


def test_docstring_examples_hold() -> None:
    failed, tried = doctest.testmod(agenttrace.extras)
    assert tried > 0 and failed == 0


def test_a_missing_package_names_its_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what the import system does for a blocked module
    with pytest.raises(MissingExtraError) as info:
        require("parquet", "pyarrow", "Parquet export")
    assert str(info.value) == "Parquet export needs pyarrow, which is not installed: pip install 'agenttrace[parquet]'"
    assert info.value.extra == "parquet"
    assert isinstance(info.value, ImportError) and isinstance(info.value, AgentTraceError)


def _cli_without(blocked: list[str], *argv: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys\nfor m in {blocked!r}: sys.modules[m] = None\n"
    code += f"sys.argv = ['agenttrace', *{list(argv)!r}]\nfrom agenttrace.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_reading_the_store_without_lz4_names_the_collector_extra(tmp_path) -> None:
    proc = _cli_without(["lz4", "lz4.block"], "sessions", "list", "--data-dir", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "the segment store needs lz4.block, which is not installed: pip install 'agenttrace[collector]'" in (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr


def test_parquet_export_without_pyarrow_names_the_parquet_extra(tmp_path) -> None:
    code = "import sys; sys.modules['pyarrow'] = None\n"
    code += "from agenttrace.export import export_spans\n"
    code += f"export_spans([], {str(tmp_path / 'out.parquet')!r}, 'parquet')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "ExportError: Parquet export needs pyarrow, which is not installed: pip install 'agenttrace[parquet]'" in (
        proc.stderr
    )
    assert not (tmp_path / "out.parquet").exists()


def test_the_db_command_names_the_store_s_dsn_variable() -> None:
    from agenttrace.commands import db
    from agenttrace.store import postgres

    assert db.DSN_ENV == postgres.DSN_ENV
