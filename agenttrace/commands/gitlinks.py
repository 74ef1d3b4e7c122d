"""``agenttrace git-links COMMIT``, ``costs --by commit`` and the coding part of
``sessions show``: what led to a commit, as tables (the answers come from
:mod:`agenttrace.coding.gitlinks`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agenttrace.commands._common import DataDirOpt, JsonOpt, json_printed, local_time, plural, run_query

__all__ = ["git_links", "print_commit_costs", "print_session_activity"]


def git_links(
    commit: Annotated[str, typer.Argument(help="The commit's sha (at least 4 hex digits).")],
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """The sessions, traces, tokens and cost that led to a commit."""
    from agenttrace.coding.gitlinks import commit_report
    from agenttrace.commands.render import print_table
    from agenttrace.format import fmt_cost, fmt_duration_ns

    report = run_query(data_dir, lambda engine: commit_report(engine, commit))
    if json_printed(report, as_json):
        return
    t = report.tokens
    typer.echo(f"commit {report.commit} · {report.message or '-'}" + (f" · {report.repo}" if report.repo else ""))
    typer.echo(
        f"{plural(len(report.files), 'file')} · +{report.lines_added} -{report.lines_removed} · "
        f"attributed: {plural(report.spans, 'model call')} · tokens in {t.input_tokens:,} "
        f"(cache read {t.cache_read_tokens:,}) out {t.output_tokens:,} · cost {fmt_cost(report.cost_usd) or '$0'}"
    )
    print_table(
        "sessions",
        [
            ("session", "left"),
            ("service", "left"),
            ("user", "left"),
            ("last seen", "left"),
            ("duration", "right"),
            ("traces", "right"),
            ("tokens", "right"),
            ("cost", "right"),
        ],
        [
            (
                s.session_id,
                s.service,
                s.user_id,
                local_time(s.last_seen_ns),
                fmt_duration_ns(s.duration_ms * 1e6),
                s.traces,
                f"{s.tokens.total_tokens:,}",
                fmt_cost(s.cost_usd) or "$0",
            )
            for s in report.sessions
        ],
        caption="traces: " + ", ".join(report.traces) if report.traces else None,
    )


def print_commit_costs(report: Any) -> None:
    from agenttrace.commands.render import print_table
    from agenttrace.format import fmt_cost

    if not report.rows:
        typer.echo("no session links a commit (agenttrace wrap, or at.git_link, records the links)", err=True)
        return
    print_table(
        None,
        [
            ("commit", "left"),
            ("sessions", "right"),
            ("calls", "right"),
            ("input", "right"),
            ("cache read", "right"),
            ("output", "right"),
            ("cost", "right"),
            ("share", "right"),
            ("message", "left"),
        ],
        [
            (
                r.commit[:12],
                r.sessions,
                f"{r.spans:,}",
                f"{r.tokens.input_tokens:,}",
                f"{r.tokens.cache_read_tokens:,}",
                f"{r.tokens.output_tokens:,}",
                fmt_cost(r.cost_usd) or "$0",
                f"{r.share:.1%}",
                r.message,
            )
            for r in report.rows
        ],
        caption=(
            f"total {fmt_cost(report.total_cost_usd) or '$0'} · after the last commit "
            f"(not attributed) {fmt_cost(report.unattributed_cost_usd) or '$0'}"
        ),
    )


def print_session_activity(activity: Any) -> None:
    from agenttrace.commands.render import print_table

    if activity.commits:
        print_table(
            "commits",
            [("commit", "left"), ("files", "right"), ("+", "right"), ("-", "right"), ("message", "left")],
            [
                (c["commit"][:12], len(c["files"]), c["lines_added"], c["lines_removed"], c["message"])
                for c in activity.commits
            ],
        )
    if activity.files:
        print_table(
            "files touched",
            [("file", "left"), ("operations", "left"), ("+", "right"), ("-", "right")],
            [
                (f["path"], ", ".join(f["operations"]), f["lines_added"] or "", f["lines_removed"] or "")
                for f in activity.files
            ],
        )
    if activity.commands:
        print_table(
            "commands run",
            [("started", "left"), ("exit", "right"), ("command", "left")],
            [
                (local_time(c["start_ns"]), "" if c["exit_code"] is None else c["exit_code"], c["command"])
                for c in activity.commands
            ],
        )
