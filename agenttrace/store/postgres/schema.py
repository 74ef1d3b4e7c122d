"""The PostgreSQL schema: versioned migrations, day partitions, retention.

Migrations are the ``migrations/NNN_name.sql`` files beside this module, applied in
order, each in its own transaction, under an advisory lock (many collectors starting at
once apply each exactly once); ``agenttrace_schema`` records what is applied.

Day partitions ``spans_YYYYMMDD`` cover ``[midnight, next midnight)`` UTC in Unix ns.
:func:`ensure_partitions` creates them (the sink, for the days of each batch and a few
ahead); :func:`drop_partitions_before` is retention.
"""

from __future__ import annotations

import datetime as _dt
import re
from importlib import resources

import asyncpg

__all__ = [
    "DAY_NS",
    "MIGRATIONS_LOCK",
    "applied_versions",
    "drop_partitions_before",
    "ensure_partitions",
    "migrate",
    "migrations",
    "partition_name",
]

DAY_NS = 86_400_000_000_000
MIGRATIONS_LOCK = 0x41_54_4D_49  # advisory lock key ("ATMI")
PARTITION_LOCK = 0x41_54_50_41  # "ATPA"
_NAME_RE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_PART_RE = re.compile(r"^spans_(\d{8})$")


def migrations() -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` of every migration shipped, in order."""
    out = []
    for entry in resources.files("agenttrace.store.postgres").joinpath("migrations").iterdir():
        m = _NAME_RE.match(entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text()))
    return sorted(out)


async def applied_versions(conn: asyncpg.Connection) -> list[int]:
    exists = await conn.fetchval("SELECT to_regclass('agenttrace_schema') IS NOT NULL")
    if not exists:
        return []
    return [r[0] for r in await conn.fetch("SELECT version FROM agenttrace_schema ORDER BY version")]


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations not yet applied; return the names of those applied now."""
    done: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATIONS_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS agenttrace_schema ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        have = set(await applied_versions(conn))
        for version, name, sql in migrations():
            if version in have:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO agenttrace_schema (version, name) VALUES ($1, $2)", version, name)
            done.append(f"{version:03d}_{name}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATIONS_LOCK)
    return done


def day_start_ns(unix_ns: int) -> int:
    return unix_ns - unix_ns % DAY_NS


def partition_name(day_ns: int) -> str:
    return "spans_" + _dt.datetime.fromtimestamp(day_ns // 1_000_000_000, _dt.UTC).strftime("%Y%m%d")


async def existing_partitions(conn: asyncpg.Connection) -> dict[str, int]:
    """``{name: day_start_ns}`` of the day partitions of ``spans``."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'spans'::regclass"
    )
    out = {}
    for r in rows:
        m = _PART_RE.match(r["relname"])
        if m:
            day = _dt.datetime.strptime(m.group(1), "%Y%m%d").replace(tzinfo=_dt.UTC)
            out[r["relname"]] = int(day.timestamp()) * 1_000_000_000
    return out


async def ensure_partitions(conn: asyncpg.Connection, days_ns: set[int] | list[int]) -> list[str]:
    """Create the day partitions of ``days_ns`` (day starts) that are missing.

    Rows of such a day already in ``spans_default`` (written while no partition
    existed) are moved into the new partition: PostgreSQL refuses to attach it otherwise."""
    created = []
    have = set((await existing_partitions(conn)).values())
    missing = sorted(d for d in set(days_ns) if d not in have and 0 <= d < 253_402_300_800 * 1_000_000_000)
    for day in missing:
        name = partition_name(day)
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITION_LOCK)
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name):
                continue
            hi = day + DAY_NS
            await conn.execute(
                f"CREATE TEMP TABLE _moving ON COMMIT DROP AS SELECT * FROM spans_default "
                f"WHERE start_ns >= {day} AND start_ns < {hi}"
            )
            await conn.execute(f"DELETE FROM spans_default WHERE start_ns >= {day} AND start_ns < {hi}")
            await conn.execute(f"CREATE TABLE {name} PARTITION OF spans FOR VALUES FROM ({day}) TO ({hi})")
            await conn.execute("INSERT INTO spans SELECT * FROM _moving")
        created.append(name)
    return created


async def drop_partitions_before(conn: asyncpg.Connection, cutoff_ns: int) -> list[str]:
    """Retention: drop every day partition that ends at or before ``cutoff_ns``, and the
    rollup hours before it."""
    dropped = []
    for name, day in sorted((await existing_partitions(conn)).items(), key=lambda kv: kv[1]):
        if day + DAY_NS <= cutoff_ns:
            await conn.execute(f"DROP TABLE IF EXISTS {name}")
            dropped.append(name)
    await conn.execute("DELETE FROM span_rollup_hourly WHERE hour_ns < $1", day_start_ns(cutoff_ns))
    return dropped
