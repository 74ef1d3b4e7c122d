"""The ``agenttrace`` command: one Typer app; each area registers its sub-commands.

Sub-commands live beside the code they drive (``agenttrace/pricing/cli.py``,
``agenttrace/commands/``, ...) so this file stays a table of contents. Every module
imported here keeps its heavy imports (Litestar, Textual, pyarrow) inside the
commands, so ``agenttrace --help`` starts fast and ``top`` works with the TUI extra
alone.
"""

from __future__ import annotations

import typer

from agenttrace import commands, demo, service
from agenttrace.coding import cli as coding_cli
from agenttrace.collector import main as collector_main
from agenttrace.commands import dashboard, db, top
from agenttrace.commands._help import WordyGroup
from agenttrace.pricing import cli as pricing_cli

app = typer.Typer(
    name="agenttrace",
    help="Observability for AI agents: collector, live view, sessions, traces and costs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=WordyGroup,  # option values read as words (--since WHEN), flags show no <bool>
)

app.command("collector")(collector_main.collector_command)  # the appliance (same as agenttrace-collector)
app.command("demo")(demo.demo)  # simulated agent traffic
app.command("top")(top.top)  # live terminal UI
app.command("dashboard")(dashboard.dashboard)  # the web dashboard's URL, opened in a browser
commands.register(app)  # status sessions traces spans costs metrics export fsck
app.add_typer(pricing_cli.app, name="pricing")  # update show check
app.add_typer(service.app, name="service")  # systemd install
app.command("wrap", context_settings=coding_cli.WRAP_CONTEXT)(coding_cli.wrap)  # run a coding agent as a session
app.add_typer(coding_cli.import_app, name="import")  # claude-code codex transcripts
app.add_typer(db.app, name="db")  # PostgreSQL: migrate retention


@app.callback()
def _global_options(
    store: str | None = typer.Option(
        None,
        "--store",
        envvar="AGENTTRACE_STORE",
        help="Read from PostgreSQL (postgresql://user@host/db) instead of the local segment store.",
        show_default=False,
    ),
) -> None:
    import os

    if store:
        if not store.startswith(("postgresql://", "postgres://")):
            raise typer.BadParameter("give a postgresql:// URI", param_hint="--store")
        os.environ["AGENTTRACE_STORE"] = store  # read by every command's open_engine


def main() -> None:
    app()


if __name__ == "__main__":
    main()
