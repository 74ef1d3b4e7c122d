"""``agenttrace metrics performance|errors|summary``: latency percentiles, error rates, totals."""

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
    json_printed,
    local_time,
    plural,
    run_query,
    say_cut,
    time_range,
)

__all__ = ["app"]

app = typer.Typer(help="Latency percentiles, error rates and totals over a time range.", no_args_is_help=True)

ByOpt = Annotated[str, typer.Option("--by", help="Group by kind, model or service.")]


def _ms(value: float | None) -> str:
    from agenttrace.format import fmt_duration_ns

    return "" if value is None else fmt_duration_ns(value * 1e6)


def _grouped_range(by: str, since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """Checks ``--by``, then answers :func:`time_range` (so a bad group is reported first)."""
    from agenttrace.query import PERF_GROUPS

    if by not in PERF_GROUPS:
        fail(f"cannot group by {by!r}: use one of {', '.join(PERF_GROUPS)}", EXIT_USAGE)
    return time_range(since, until)


@app.command("performance")
def performance(
    by: ByOpt = "kind",
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """p50/p95/p99 latency per kind (or model, or service), slowest p95 first."""
    from agenttrace.commands.render import print_table

    lo, hi = _grouped_range(by, since, until)
    report = run_query(data_dir, lambda engine: engine.performance(by, lo, hi), allow_empty=as_json)
    every = len(report.rows)
    report.rows = report.rows[:limit]
    if json_printed(report, as_json):
        return
    say_cut(len(report.rows), every, "group", limit)
    if not report.rows:
        typer.echo("no spans in that range", err=True)
        return
    print_table(
        None,
        [(by, "left"), ("spans", "right"), ("avg", "right"), ("p50", "right"), ("p95", "right"), ("p99", "right")],
        [
            (r.key, f"{r.count:,}", _ms(r.duration_avg_ms), _ms(r.p50_ms), _ms(r.p95_ms), _ms(r.p99_ms))
            for r in report.rows
        ],
        caption=f"percentiles within {report.relative_error:.0%} of exact",
    )


@app.command("errors")
def errors(
    by: ByOpt = "kind",
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = 10,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Error counts and rates per kind (or model, or service), and the latest failed spans (--limit)."""
    from agenttrace.commands.render import print_table

    lo, hi = _grouped_range(by, since, until)
    report = run_query(data_dir, lambda engine: engine.errors(by, lo, hi, recent=limit), allow_empty=as_json)
    if json_printed(report, as_json):
        return
    rate = report.total_errors / report.total_spans if report.total_spans else 0.0
    typer.echo(f"{plural(report.total_errors, 'error')} in {plural(report.total_spans, 'span')} ({rate:.2%})")
    if not report.rows:
        return
    print_table(
        None,
        [(by, "left"), ("spans", "right"), ("errors", "right"), ("rate", "right")],
        [(r.key, f"{r.count:,}", f"{r.errors:,}", f"{r.error_rate:.2%}") for r in report.rows],
    )
    print_table(
        "latest errors",
        [("start", "left"), ("trace", "left"), ("name", "left"), ("kind", "left"), ("message", "left")],
        [(local_time(s.start_ns), s.trace_id, s.name, s.kind, s.status_message) for s in report.recent],
    )


@app.command("summary")
def summary(
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Totals over the range: spans, errors, tokens, cost, latency."""
    from agenttrace.format import fmt_cost

    lo, hi = time_range(since, until)
    s = run_query(data_dir, lambda engine: engine.summary(lo, hi), allow_empty=as_json)
    if json_printed(s, as_json):
        return
    t = s.tokens
    typer.echo(
        f"{plural(s.spans, 'span')} · {plural(s.errors, 'error')} ({s.error_rate:.2%}) · "
        f"cost {fmt_cost(s.cost_usd) or '$0'}"
    )
    typer.echo(
        f"tokens: {t.input_tokens:,} input ({t.cache_read_tokens:,} cache read, {t.cache_write_tokens:,} cache write)"
        f" · {t.output_tokens:,} output ({t.reasoning_tokens:,} reasoning)"
    )
    typer.echo(
        f"latency: avg {_ms(s.duration_avg_ms)} · p50 {_ms(s.p50_ms)} · p95 {_ms(s.p95_ms)} · p99 {_ms(s.p99_ms)}"
    )
