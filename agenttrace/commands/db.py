"""``agenttrace db``: the PostgreSQL schema by hand (the collector migrates at start too).

The store is imported inside the commands, so ``agenttrace`` starts (and names a missing
extra) without the collector's dependencies."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

DSN_ENV = "AGENTTRACE_POSTGRES_DSN"  # the same name as agenttrace.store.postgres.DSN_ENV (a test pins it)

app = typer.Typer(help="The PostgreSQL store: apply migrations, drop expired day partitions.", no_args_is_help=True)

DsnOption = Annotated[
    str | None, typer.Option("--dsn", help=f"postgresql://user@host/db (default: ${DSN_ENV}).", show_default=False)
]


def _dsn(dsn: str | None) -> str:
    value = dsn or os.environ.get(DSN_ENV)
    if not value:
        typer.echo(f"error: give --dsn postgresql://... or set {DSN_ENV}", err=True)
        raise typer.Exit(2)
    return value


async def _with_conn(dsn: str, fn):  # type: ignore[no-untyped-def]
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await fn(conn)
    finally:
        await conn.close()


def _run(dsn: str, fn):  # type: ignore[no-untyped-def]
    try:
        return asyncio.run(_with_conn(dsn, fn))
    except (TimeoutError, OSError) as exc:
        typer.echo(f"error: cannot reach PostgreSQL: {exc}", err=True)
        raise typer.Exit(1) from None
    except Exception as exc:  # asyncpg.PostgresError and friends: say what the server said
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("migrate")
def migrate_command(dsn: DsnOption = None) -> None:
    """Apply the schema migrations not yet applied (safe to run any number of times)."""
    from agenttrace.store.postgres.schema import applied_versions, migrate

    async def go(conn):  # type: ignore[no-untyped-def]
        done = await migrate(conn)
        return done, await applied_versions(conn)

    done, versions = _run(_dsn(dsn), go)
    for name in done:
        typer.echo(f"applied {name}")
    typer.echo(f"schema at version {max(versions) if versions else 0} ({len(done)} applied now)")


@app.command("retention")
def retention_command(
    days: Annotated[int, typer.Option("--days", min=1, help="Keep this many days of spans.")],
    dsn: DsnOption = None,
) -> None:
    """Drop the day partitions (and rollup hours) older than ``--days``."""
    import time

    from agenttrace.store.postgres.schema import DAY_NS, drop_partitions_before

    cutoff = time.time_ns() - days * DAY_NS
    dropped = _run(_dsn(dsn), lambda conn: drop_partitions_before(conn, cutoff))
    typer.echo(f"dropped {len(dropped)} partition(s): {' '.join(dropped) or '-'}")
