"""``agenttrace spans``: spans by filter, newest first, a page at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace.commands._common import (
    DataDirOpt,
    JsonOpt,
    LimitOpt,
    ModelOpt,
    ServiceOpt,
    SessionOpt,
    SinceOpt,
    StatusOpt,
    UntilOpt,
    json_printed,
    local_time,
    plural,
    run_query,
    status_filter,
    time_range,
)

__all__ = ["spans"]


def spans(
    since: SinceOpt = None,
    until: UntilOpt = None,
    service: ServiceOpt = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind (llm, tool, agent, ...).")] = None,
    model: ModelOpt = None,
    status: StatusOpt = None,
    session: SessionOpt = None,
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
    from agenttrace.commands.render import print_table
    from agenttrace.format import fmt_cost, fmt_duration_ns, fmt_tokens
    from agenttrace.query import SpanFilter

    lo, hi = time_range(since, until)
    code = status_filter(status)
    flt = SpanFilter(
        since_ns=lo,
        until_ns=hi,
        service=service,
        kind=kind,
        model=model,
        status=code,
        session_id=session,
        trace_id=None,  # resolved below: a prefix or any printed form of an id
        name_contains=name,
        limit=limit,
        cursor=cursor,
    )

    def ask(engine):
        from agenttrace.query.ids import resolve_session_id, resolve_trace_id

        if trace:
            flt.trace_id = resolve_trace_id(engine, trace)
        if session:
            flt.session_id = resolve_session_id(engine, session)
        return engine.spans(flt)

    page = run_query(data_dir, ask, allow_empty=as_json)
    if json_printed(page, as_json):
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
    )
    if page.next_cursor:  # on stderr, so stdout stays the table
        typer.echo(f"{plural(len(page.spans), 'span')} shown; more: --cursor {page.next_cursor}", err=True)
