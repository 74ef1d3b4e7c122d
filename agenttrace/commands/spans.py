"""``agenttrace spans``: spans by filter, newest first, a page at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace.commands._common import (
    EXIT_USAGE,
    DataDirOpt,
    JsonOpt,
    LimitOpt,
    SinceOpt,
    UntilOpt,
    fail,
    local_time,
    open_engine,
    store_errors,
    time_range,
    warn_skipped,
)

__all__ = ["spans"]


def spans(
    since: SinceOpt = None,
    until: UntilOpt = None,
    service: Annotated[str | None, typer.Option("--service", help="Only this service.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind (llm, tool, agent, ...).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status: ok, error or unset.")] = None,
    session: Annotated[str | None, typer.Option("--session", help="Only this session id.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Only names containing this (any case).")] = None,
    trace: Annotated[str | None, typer.Option("--trace", help="Only this trace id.")] = None,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Continue after a previous page (its next_cursor).")
    ] = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Spans matching every filter given, newest first."""
    from agenttrace.commands.render import fmt_cost, fmt_duration_ns, fmt_tokens, print_json, print_table
    from agenttrace.export import status_code
    from agenttrace.store.results import SpanFilter

    lo, hi = time_range(since, until)
    try:
        code = status_code(status) if status is not None else None
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    engine = open_engine(data_dir)
    flt = SpanFilter(
        since_ns=lo,
        until_ns=hi,
        service=service,
        kind=kind,
        model=model,
        status=code,
        session_id=session,
        trace_id=trace.strip().lower() if trace else None,
        name_contains=name,
        limit=limit,
        cursor=cursor,
    )
    with store_errors():
        page = engine.spans(flt)
    warn_skipped(page)
    if as_json:
        print_json(page)
        return
    if not page.spans:
        typer.echo("no spans match", err=True)
        return
    print_table(
        None,
        [
            ("start", "left"),
            ("trace", "left"),
            ("name", "left"),
            ("kind", "left"),
            ("service", "left"),
            ("model", "left"),
            ("duration", "right"),
            ("tokens", "right"),
            ("cost", "right"),
            ("status", "left"),
        ],
        [
            (
                local_time(s.start_ns),
                s.trace_id[:12],
                s.name,
                s.kind,
                s.service,
                s.model,
                fmt_duration_ns(s.end_ns - s.start_ns),
                fmt_tokens(s.total_tokens),
                fmt_cost(s.cost_usd),
                "✗ " + (s.status_message or "error") if s.status == "error" else s.status,
            )
            for s in page.spans
        ],
        caption=f"more: --cursor {page.next_cursor}" if page.next_cursor else None,
    )
