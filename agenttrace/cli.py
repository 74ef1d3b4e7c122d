"""The ``agenttrace`` command: one Typer app; each area registers its sub-commands.

Sub-apps live beside the code they drive (``agenttrace/pricing/cli.py`` and so on)
so this file stays a table of contents.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="agenttrace",
    help="Observability for AI agents: collector, live view, sessions, traces and costs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# --- sub-commands (one line per area) ---
__import__("agenttrace.commands").commands.register(app)  # sessions traces spans costs metrics export status
app.add_typer(__import__("agenttrace.pricing.cli").pricing.cli.app, name="pricing")  # update show check
app.command("top")(__import__("agenttrace.commands.top").commands.top.top)  # live TUI
app.command("demo")(__import__("agenttrace.demo").demo.demo)  # simulated agent traffic
app.command("collector")(__import__("agenttrace.collector.main").collector.main.collector_command)  # appliance
app.add_typer(__import__("agenttrace.service").service.app, name="service")  # systemd install


def main() -> None:
    app()


if __name__ == "__main__":
    main()
