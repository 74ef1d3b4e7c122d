"""The store commands of ``agenttrace``: sessions, traces, spans, costs, metrics, export, status, fsck.

They ask the read layer (:func:`agenttrace.query.open_engine`, a QueryEngine)
(read-only, no collector needed); ``status`` asks a running collector over HTTP.
:func:`register` adds them all to the root Typer app.
"""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the read commands to ``app`` (called once from ``agenttrace/cli.py``)."""
    from agenttrace.commands import costs, export, fsck, gitlinks, metrics, sessions, spans, status, traces

    app.add_typer(sessions.app, name="sessions")
    app.add_typer(traces.app, name="traces")
    app.command("spans")(spans.spans)
    app.command("costs")(costs.costs)
    app.add_typer(metrics.app, name="metrics")
    app.command("export")(export.export)
    app.command("status")(status.status)
    app.command("fsck")(fsck.fsck)
    app.command("git-links")(gitlinks.git_links)
