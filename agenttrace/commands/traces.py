"""``agenttrace traces list|show ID``: traces, and one trace as a waterfall."""

from __future__ import annotations

import re
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
    plural,
    store_errors,
    time_range,
    warn_skipped,
)

__all__ = ["app"]

app = typer.Typer(help="Traces: list them, or show one as a waterfall.", no_args_is_help=True)

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")


@app.command("list")
def list_traces(
    since: SinceOpt = None,
    until: UntilOpt = None,
    service: Annotated[str | None, typer.Option("--service", help="Only traces with a span of this service.")] = None,
    session: Annotated[str | None, typer.Option("--session", help="Only traces of this session.")] = None,
    limit: LimitOpt = 20,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """The newest traces, with their spans, errors, tokens and cost."""
    from agenttrace.commands import reports
    from agenttrace.commands.render import fmt_cost, fmt_duration_ns, fmt_tokens, print_json, print_table
    from agenttrace.store.results import SpanFilter

    lo, hi = time_range(since, until)
    engine = open_engine(data_dir)
    flt = SpanFilter(since_ns=lo, until_ns=hi, service=service, session_id=session, limit=limit)
    with store_errors():
        result = reports.list_traces(engine, flt)
    warn_skipped(result)
    if as_json:
        print_json(result)
        return
    if not result.traces:
        typer.echo("no traces match", err=True)
        return
    print_table(
        None,
        [
            ("trace", "left"),
            ("name", "left"),
            ("start", "left"),
            ("duration", "right"),
            ("spans", "right"),
            ("errors", "right"),
            ("tokens", "right"),
            ("cost", "right"),
        ],
        [
            (
                t.trace_id,
                t.root_name,
                local_time(t.start_ns),
                fmt_duration_ns(t.duration_ms * 1e6),
                t.spans,
                t.errors or "",
                fmt_tokens(t.tokens.total_tokens),
                fmt_cost(t.cost_usd),
            )
            for t in result.traces
        ],
    )


@app.command("show")
def show_trace(
    trace_id: Annotated[str, typer.Argument(help="The trace id: 32 hex digits.")],
    as_json: JsonOpt = False,
    width: Annotated[int, typer.Option("--width", min=10, max=200, help="Width of the time axis.")] = 40,
    data_dir: DataDirOpt = None,
) -> None:
    """One trace as a waterfall: the span tree, each span's bar on a shared time axis."""
    from agenttrace.commands.render import fmt_cost, fmt_duration_ns, print_json, waterfall

    if not _TRACE_ID.match(trace_id.strip()):
        fail(f"{trace_id!r} is not a trace id: a trace id is 32 hex digits", EXIT_USAGE)
    engine = open_engine(data_dir)
    with store_errors():
        tree = engine.trace(trace_id.strip().lower())
    warn_skipped(tree)
    if as_json:
        print_json(tree)
        return
    t = tree.tokens
    title = (
        f"trace {tree.trace_id} · {local_time(tree.start_ns)} · {fmt_duration_ns(tree.duration_ms * 1e6)} · "
        f"{plural(tree.span_count, 'span')} · {plural(tree.errors, 'error')} · {t.total_tokens:,} tokens · "
        f"{fmt_cost(tree.cost_usd) or '$0'}"
    )
    if tree.session_id:
        title += f" · session {tree.session_id}"
    typer.echo(title)
    waterfall(tree, bar_width=width)
