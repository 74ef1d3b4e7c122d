"""``agenttrace fsck [--repair] [DATA_DIR]``: check the store; quarantine what cannot be read.

A thin face over :mod:`agenttrace.store.fsck` (which documents what is checked and what
``--repair`` does); exit status 1 while damage remains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agenttrace.commands._common import DataDirOpt, resolve_data_dir

__all__ = ["fsck"]


def fsck(
    directory: Annotated[
        Path | None, typer.Argument(help="Store directory (default: --data-dir, $AGENTTRACE_DATA_DIR, ...).")
    ] = None,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Move damaged segments to DATA_DIR/quarantine/, salvaging their readable rows."),
    ] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Read every column and check every checksum.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file and per repair.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Check the store's segments and WALs; with --repair, quarantine what cannot be read and keep the rest."""
    from agenttrace.store.fsck import run

    path = resolve_data_dir(directory if directory is not None else data_dir)
    code = run([str(path)], verify=verify, repair=repair, as_json=as_json)
    if code:
        raise typer.Exit(code)
