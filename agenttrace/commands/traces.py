"""``agenttrace traces list|show ID``: traces, and one trace as a waterfall."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace.commands._common import (
    DataDirOpt,
    JsonOpt,
    LimitOpt,
    SinceOpt,
    UntilOpt,
    json_printed,
    local_time,
    plural,
    run_query,
    say_cut,
    time_range,
)

__all__ = ["app"]

app = typer.Typer(help="Traces: list them, or show one as a waterfall.", no_args_is_help=True)


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
    from agenttrace.commands.render import print_traces
    from agenttrace.query import SpanFilter

    lo, hi = time_range(since, until)
    flt = SpanFilter(since_ns=lo, until_ns=hi, service=service, session_id=session, limit=limit)

    def ask(engine):
        from agenttrace.query.ids import resolve_session_id

        if session:
            flt.session_id = resolve_session_id(engine, session)
        return engine.traces(flt)

    result = run_query(data_dir, ask, allow_empty=as_json)
    if json_printed(result, as_json):
        return
    if not result.traces:
        typer.echo("no traces match", err=True)
        return
    print_traces(result.traces)
    say_cut(len(result.traces), result.total, "trace", limit)


@app.command("show")
def show_trace(
    trace_id: Annotated[
        str,
        typer.Argument(
            metavar="TRACE_ID",
            help="The trace id (32 hex digits, any case, 0x or not) or a unique prefix of 8 digits or more.",
        ),
    ],
    as_json: JsonOpt = False,
    width: Annotated[int, typer.Option("--width", min=10, max=200, help="Width of the time axis.")] = 40,
    data_dir: DataDirOpt = None,
) -> None:
    """One trace as a waterfall: the span tree, each span's bar on a shared time axis."""
    from agenttrace.commands.render import waterfall
    from agenttrace.format import fmt_cost, fmt_duration_ns
    from agenttrace.query.ids import trace_tree

    tree = run_query(data_dir, lambda engine: trace_tree(engine, trace_id))
    if json_printed(tree, as_json):
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
