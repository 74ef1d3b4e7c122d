"""``agenttrace top``: the live view of a running collector (the Textual app in ``agenttrace.tui``).

    agenttrace top                                # the local collector
    agenttrace top --url http://10.0.0.5:4318 --api-key KEY
    NO_COLOR=1 agenttrace top                     # or --no-color; automatic on a monochrome $TERM

Textual is an optional extra; without it the command says which extra to install.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

__all__ = ["DEFAULT_URL", "terminal_has_colours", "top"]

DEFAULT_URL = "http://127.0.0.1:4318"


def terminal_has_colours() -> bool:
    """False when terminfo says ``$TERM`` shows fewer than 8 colours (a vt100, a serial console)."""
    try:
        import curses

        curses.setupterm()
        return curses.tigetnum("colors") >= 8
    except Exception:  # no terminfo entry, not a terminal: let Textual decide
        return True


def top(
    url: Annotated[
        str, typer.Option("--url", envvar="AGENTTRACE_URL", help="The collector's HTTP address.")
    ] = DEFAULT_URL,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="AGENTTRACE_API_KEY", help="Bearer key, when the collector requires one."),
    ] = None,
    active: Annotated[
        str, typer.Option("--active", help="Show sessions with activity within this window (15m, 1h, today).")
    ] = "15m",
    no_color: Annotated[bool, typer.Option("--no-color", help="Monochrome (also: the NO_COLOR variable).")] = False,
) -> None:
    """Live view of a collector: throughput, loss, cost burn, per-kind latency, active sessions."""
    from agenttrace.extras import MissingExtraError, require

    try:
        for module in ("httpx", "textual"):
            require("tui", module, "agenttrace top")
    except MissingExtraError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if no_color or not terminal_has_colours():
        os.environ["NO_COLOR"] = "1"  # Textual reads it when the app is built
    if "://" not in url:
        url = "http://" + url
    from agenttrace.tui import AgentTraceTop, CollectorClient

    AgentTraceTop(CollectorClient(url, api_key=api_key), active_since=active).run()
