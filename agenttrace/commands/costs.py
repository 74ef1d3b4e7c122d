"""``agenttrace costs --by model|service|kind|day|commit``: tokens by type, cost, share of total."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer

from agenttrace.commands._common import (
    EXIT_USAGE,
    DataDirOpt,
    JsonOpt,
    LimitOpt,
    ServiceOpt,
    SinceOpt,
    UntilOpt,
    fail,
    json_printed,
    resolve_data_dir,
    run_query,
    say_cut,
    store_errors,
    time_range,
)

__all__ = ["UnknownModel", "costs"]


class UnknownModel(msgspec.Struct, kw_only=True):
    """A model that carried token usage but matched no price (so its cost is unknown)."""

    model: str
    spans: int
    tokens: int


def _unknown(data_dir: object, as_json: bool, limit: int, config: Path | None = None) -> None:
    from agenttrace.commands.render import print_table
    from agenttrace.errors import ConfigError
    from agenttrace.pricing import unknown_models_in_store
    from agenttrace.pricing.stage import load_pricing_config

    path = resolve_data_dir(data_dir)  # type: ignore[arg-type]
    try:
        # The collector's aliases and overrides decide what is "unknown", as `pricing check --config` does.
        pricing = load_pricing_config(config) if config is not None else None
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    with store_errors():
        found = unknown_models_in_store(path, pricing)
    rows = [UnknownModel(model=m, spans=s, tokens=t) for m, s, t in found][:limit]
    if json_printed(rows, as_json):
        return
    say_cut(len(rows), len(found), "model", limit)
    if not rows:
        typer.echo("every model in the store matched a price")
        return
    typer.echo("These models used tokens but have no price, so their spans count as $0 in every cost total:")
    print_table(
        None,
        [("model", "left"), ("spans", "right"), ("tokens", "right")],
        [(r.model, f"{r.spans:,}", f"{r.tokens:,}") for r in rows],
    )
    typer.echo(UNPRICED_HELP)


# What to do about a model with no price, in the words a newcomer needs.
UNPRICED_HELP = """\
To price one, add to the collector's config (/etc/agenttrace/collector.toml, or the file
you pass with --config) either an alias to a model it knows, or your own price in USD
per million tokens, then reload the collector (SIGHUP):

  [pricing.aliases]
  "my-deployment" = "gpt-4o"

  [pricing.overrides."my-model"]
  input = 0.50
  output = 1.50

New spans are priced from then on; spans already stored keep their $0.
`agenttrace pricing show MODEL` tells whether a name matches a price."""


def costs(
    by: Annotated[str, typer.Option("--by", help="Group by model, service, kind, day or commit.")] = "model",
    since: SinceOpt = None,
    until: UntilOpt = None,
    service: ServiceOpt = None,
    unknown: Annotated[bool, typer.Option("--unknown", help="List the models that matched no price instead.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="With --unknown: the collector TOML whose [pricing] aliases and overrides apply.",
            dir_okay=False,
        ),
    ] = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """What the agents spent: tokens by type, cost and share of the total, per group."""
    from agenttrace.commands.render import print_table
    from agenttrace.format import fmt_cost
    from agenttrace.query import COST_GROUPS, SpanFilter

    if unknown:
        _unknown(data_dir, as_json, limit, config)
        return
    if config is not None:
        fail("--config only applies to --unknown (stored costs were priced when the spans arrived)", EXIT_USAGE)
    lo, hi = time_range(since, until)
    if by == "commit":  # coding agents: what each commit cost (agenttrace/coding/gitlinks.py)
        from agenttrace.coding.gitlinks import commit_costs
        from agenttrace.commands.gitlinks import print_commit_costs

        commit_report = run_query(data_dir, lambda engine: commit_costs(engine, lo, hi), allow_empty=as_json)
        every = len(commit_report.rows)
        commit_report.rows = commit_report.rows[:limit]
        if not json_printed(commit_report, as_json):
            print_commit_costs(commit_report)
            say_cut(len(commit_report.rows), every, "commit", limit)
        return
    if by not in COST_GROUPS:
        fail(f"cannot group costs by {by!r}: use one of {', '.join(COST_GROUPS)}, commit", EXIT_USAGE)
    where = SpanFilter(service=service) if service else None
    report = run_query(data_dir, lambda engine: engine.costs(by, lo, hi, where), allow_empty=as_json)
    every = len(report.rows)
    report.rows = report.rows[:limit]
    if json_printed(report, as_json):
        return
    say_cut(len(report.rows), every, "group", limit)
    if not report.rows:
        typer.echo("no spans in that range", err=True)
        return
    t = report.total_tokens
    print_table(
        None,
        [
            (by, "left"),
            ("spans", "right"),
            ("input", "right"),
            ("cache read", "right"),
            ("cache write", "right"),
            ("output", "right"),
            ("reasoning", "right"),
            ("cost", "right"),
            ("share", "right"),
        ],
        [
            (
                r.key,
                f"{r.spans:,}",
                f"{r.tokens.input_tokens:,}",
                f"{r.tokens.cache_read_tokens:,}",
                f"{r.tokens.cache_write_tokens:,}",
                f"{r.tokens.output_tokens:,}",
                f"{r.tokens.reasoning_tokens:,}",
                fmt_cost(r.cost_usd) or "$0",
                f"{r.share:.1%}",
            )
            for r in report.rows
        ],
        caption=(
            f"total {fmt_cost(report.total_cost_usd) or '$0'} · {t.input_tokens:,} input "
            f"({t.cache_read_tokens:,} cache read) · {t.output_tokens:,} output tokens"
        ),
    )
