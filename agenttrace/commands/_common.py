"""What every read command shares: options, the store check, and one-sentence errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from agenttrace.paths import default_data_dir

__all__ = [
    "DataDirOpt",
    "JsonOpt",
    "LimitOpt",
    "fail",
    "fmt_bytes",
    "resolve_data_dir",
    "store_size",
]

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Store directory [default: $AGENTTRACE_DATA_DIR, else $XDG_DATA_HOME/agenttrace].",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable field names instead of a table.")]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many rows.")]

EXIT_ERROR = 1  # the store or the collector could not answer (missing dir, unknown id, empty store)
EXIT_USAGE = 2  # the arguments were wrong (bad time string, bad id, bad format), as Click uses 2


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``agenttrace: <message>`` on stderr and exit with ``code``."""
    sys.stderr.write(f"agenttrace: {message}\n")
    raise typer.Exit(code)


def resolve_data_dir(data_dir: Path | None) -> Path:
    """The ``--data-dir`` given, or the default; fails in one sentence if it does not exist."""
    path = data_dir if data_dir is not None else default_data_dir()
    path = Path(os.path.expanduser(path))
    if not path.exists():
        how = "" if data_dir is not None else " (pass --data-dir or set AGENTTRACE_DATA_DIR)"
        fail(f"store directory {path} does not exist{how}")
    if not path.is_dir():
        fail(f"store directory {path} is not a directory")
    return path


def store_size(path: Path) -> tuple[int, int]:
    """``(bytes, files)`` under ``path``: what the store occupies on disk."""
    total = files = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.stat(os.path.join(root, name)).st_size
                files += 1
            except OSError:  # removed by compaction while we walked
                continue
    return total, files


def fmt_bytes(n: float) -> str:
    """``1536`` → ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # unreachable; keeps type checkers content

