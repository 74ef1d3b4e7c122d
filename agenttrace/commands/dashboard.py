"""``agenttrace dashboard``: print the web dashboard's address and open it in a browser.

The dashboard is served by the collector itself (``/`` on its HTTP address), so this
command only checks that a collector answers there, prints the URL and, unless
``--no-open``, hands it to the ``webbrowser`` module (which honours ``$BROWSER``; on a
machine without a browser it prints the URL only). The API key is never put in the
URL: with one set, the page asks for it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import webbrowser
from typing import Annotated, Literal

import typer

from agenttrace.commands.status import DEFAULT_URL

__all__ = ["dashboard"]

View = Literal["overview", "sessions", "live", "search", "costs"]


def dashboard(
    url: Annotated[str, typer.Option("--url", envvar="AGENTTRACE_URL", help="Collector HTTP address.")] = DEFAULT_URL,
    view: Annotated[View, typer.Option("--view", help="The view to open.")] = "overview",
    no_open: Annotated[bool, typer.Option("--no-open", help="Print the URL only; do not start a browser.")] = False,
) -> None:
    """Open the web dashboard the collector serves (prints its URL)."""
    base = url.rstrip("/")
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=3):
            pass
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        typer.echo(f"no collector answers at {base} ({reason}); start one with: agenttrace collector", err=True)
        raise typer.Exit(1) from None
    page = f"{base}/#/{view}"
    typer.echo(page)
    if no_open:
        return
    try:
        opened = webbrowser.open(page, new=2)
    except webbrowser.Error:
        opened = False
    if not opened:
        typer.echo("(no browser found here: open the URL above in one)", err=True)
