"""``agenttrace export --format jsonl|csv|parquet -o FILE``: spans to a file, with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agenttrace.commands._common import (
    EXIT_USAGE,
    DataDirOpt,
    ModelOpt,
    ServiceOpt,
    SessionOpt,
    SinceOpt,
    StatusOpt,
    UntilOpt,
    fail,
    fmt_bytes,
    open_engine,
    status_filter,
    store_errors,
    time_range,
)

__all__ = ["export"]


def export(
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write; '-' writes jsonl or csv to standard output.")
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl, csv or parquet.")] = "jsonl",
    since: SinceOpt = None,
    until: UntilOpt = None,
    service: ServiceOpt = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    model: ModelOpt = None,
    status: StatusOpt = None,
    session: SessionOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Export the matching spans (all of them, oldest segment first) to a file."""
    from agenttrace.export import EXPORT_FORMATS, ExportError, export_spans, iter_csv, iter_jsonl
    from agenttrace.query import SpanFilter

    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        fail(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}", EXIT_USAGE)
    if output == "-" and fmt == "parquet":
        fail("parquet cannot be written to standard output: pass -o FILE", EXIT_USAGE)
    lo, hi = time_range(since, until)
    code = status_filter(status)
    engine = open_engine(data_dir)
    flt = SpanFilter(since_ns=lo, until_ns=hi, service=service, kind=kind, model=model, status=code, session_id=session)
    if output == "-":
        with store_errors():
            chunks = iter_jsonl(engine.iter_spans(flt)) if fmt == "jsonl" else iter_csv(engine.iter_spans(flt))
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        return
    path = Path(output)
    if not path.parent.is_dir():
        fail(f"cannot write {path}: directory {path.parent} does not exist")

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with store_errors():
        # The bar's total: a count, answered from rollups where the filters allow (cheap).
        rows = engine.aggregate([], where=flt, latency=False).rows
        total = rows[0].count if rows else 0
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
        transient=True,
    )
    try:
        with progress, store_errors():
            task = progress.add_task("export", total=total)
            count = export_spans(
                engine.iter_spans(flt), path, fmt, progress=lambda n: progress.advance(task, n), batch=2000
            )
    except ExportError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    typer.echo(f"wrote {count:,} spans to {path} ({fmt_bytes(path.stat().st_size)})", err=True)
