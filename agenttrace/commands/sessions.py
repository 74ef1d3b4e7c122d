"""``agenttrace sessions list|show ID``: agent sessions, most recently active first."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace.commands._common import (
    DataDirOpt,
    JsonOpt,
    LimitOpt,
    ServiceOpt,
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

app = typer.Typer(help="Agent sessions: list them, or show one with its traces.", no_args_is_help=True)


@app.command("list")
def list_sessions(
    since: SinceOpt = None,
    until: UntilOpt = None,
    service: ServiceOpt = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user id.")] = None,
    limit: LimitOpt = 20,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Sessions with activity in the range, most recently active first."""
    from agenttrace.commands.render import print_table
    from agenttrace.format import fmt_cost, fmt_duration_ns, fmt_tokens

    lo, hi = time_range(since, until)
    result = run_query(
        data_dir,
        lambda engine: engine.sessions(lo, hi, service=service, user_id=user, limit=limit),
        allow_empty=as_json,
    )
    if json_printed(result, as_json):
        return
    if not result.sessions:
        typer.echo("no sessions in that range", err=True)
        return
    print_table(
        None,
        [
            ("session", "left"),
            ("service", "left"),
            ("user", "left"),
            ("last seen", "left"),
            ("duration", "right"),
            ("traces", "right"),
            ("spans", "right"),
            ("errors", "right"),
            ("tokens", "right"),
            ("cost", "right"),
            ("models", "left"),
        ],
        [
            (
                s.session_id,
                s.service,
                s.user_id,
                local_time(s.last_seen_ns),
                fmt_duration_ns(s.duration_ms * 1e6),
                s.traces,
                s.spans,
                s.errors or "",
                fmt_tokens(s.tokens.total_tokens),
                fmt_cost(s.cost_usd),
                ", ".join(s.models),
            )
            for s in result.sessions
        ],
    )
    say_cut(len(result.sessions), result.total, "session", limit)


@app.command("show")
def show_session(
    session_id: Annotated[
        str,
        typer.Argument(
            metavar="SESSION_ID",
            help="The session id, as `sessions list` shows it, or a unique prefix of it (8 characters or more).",
        ),
    ],
    limit: LimitOpt = 100,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """One session: its totals and its traces, oldest first (at most --limit of them)."""
    from agenttrace.commands.render import print_traces
    from agenttrace.format import fmt_cost, fmt_duration_ns
    from agenttrace.query.ids import session_detail

    detail = run_query(data_dir, lambda engine: session_detail(engine, session_id))
    detail.traces = detail.traces[:limit]
    if json_printed(detail, as_json):
        return
    s = detail.summary
    t = s.tokens
    typer.echo(
        f"session {s.session_id} · {s.service or '-'} · user {s.user_id or '-'} · "
        f"{local_time(s.first_seen_ns)} → {local_time(s.last_seen_ns)} ({fmt_duration_ns(s.duration_ms * 1e6)})"
    )
    typer.echo(
        f"{plural(s.traces, 'trace')} · {plural(s.spans, 'span')} · {plural(s.errors, 'error')} · "
        f"tokens in {t.input_tokens:,} "
        f"(cache read {t.cache_read_tokens:,}) out {t.output_tokens:,} · cost {fmt_cost(s.cost_usd) or '$0'}"
    )
    print_traces(detail.traces)
    # Coding sessions: files touched, commands run, commits (agenttrace/coding/gitlinks.py).
    from agenttrace.coding.gitlinks import session_activity
    from agenttrace.commands.gitlinks import print_session_activity

    print_session_activity(run_query(data_dir, lambda engine: session_activity(engine, s.session_id)))
