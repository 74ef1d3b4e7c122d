"""Migrations, day partitions and retention against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import msgspec
from pg_helpers import fetch

from agenttrace.store.postgres.schema import DAY_NS, drop_partitions_before, ensure_partitions, migrate, migrations
from agenttrace.store.postgres.sink import write_spans
from agenttrace.store.synthetic import generate_spans

DAY0 = 1_763_683_200 * 1_000_000_000  # 2025-11-21T00:00:00Z


def _run(dsn: str, fn):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        conn = await asyncpg.connect(dsn)
        try:
            return await fn(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_db_migrate_command_applies_once_and_reports_the_version(pg_dsn: str) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "agenttrace.cli", "db", "migrate", *args], capture_output=True, text=True,
            timeout=60, env={**os.environ, "AGENTTRACE_POSTGRES_DSN": pg_dsn},
        )  # fmt: skip

    first = cli()
    assert first.returncode == 0, first.stderr
    assert "applied 001_spans" in first.stdout
    again = cli("--dsn", pg_dsn)
    assert again.returncode == 0, again.stderr
    assert "applied 0" not in again.stdout and "(0 applied now)" in again.stdout
    assert f"schema at version {migrations()[-1][0]}" in again.stdout
    assert [r[0] for r in fetch(pg_dsn, "SELECT version FROM agenttrace_schema")] == [m[0] for m in migrations()]
    cols = {r[0] for r in fetch(pg_dsn, "SELECT column_name FROM information_schema.columns WHERE table_name='spans'")}
    assert {"trace_id", "span_id", "attributes", "events", "cost_usd", "cache_write_1h_tokens"} <= cols
    idx = {r[0] for r in fetch(pg_dsn, "SELECT indexname FROM pg_indexes WHERE tablename = 'spans'")}
    assert {"spans_session_idx", "spans_service_idx", "spans_start_idx", "spans_pkey"} <= idx


def test_db_migrate_without_a_dsn_or_server_says_why(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGENTTRACE_POSTGRES_DSN"}
    none = subprocess.run([sys.executable, "-m", "agenttrace.cli", "db", "migrate"], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert none.returncode == 2 and "AGENTTRACE_POSTGRES_DSN" in none.stderr
    down = subprocess.run([sys.executable, "-m", "agenttrace.cli", "db", "migrate", "--dsn",
                           "postgresql://postgres@127.0.0.1:9/x"], capture_output=True, text=True, env=env,
                          timeout=60)  # fmt: skip
    assert down.returncode == 1 and "cannot reach PostgreSQL" in down.stderr


def test_spans_land_in_day_partitions_and_retention_drops_old_days(pg_dsn: str) -> None:
    spans = [  # three days
        msgspec.structs.replace(s, start_ns=s.start_ns + (i % 3) * DAY_NS, end_ns=s.end_ns + (i % 3) * DAY_NS)
        for i, s in enumerate(generate_spans(300, seed=3, start_ns=DAY0))
    ]
    days = {s.start_ns - s.start_ns % DAY_NS for s in spans}
    assert len(days) >= 2

    async def go(conn: asyncpg.Connection) -> None:
        await migrate(conn)
        await write_spans(conn, spans)
        await write_spans(conn, spans)  # a replay adds nothing, to spans or to the rollup

    _run(pg_dsn, go)
    parts = {r[0]: r[1] for r in fetch(pg_dsn, "SELECT tableoid::regclass::text, count(*) FROM spans GROUP BY 1")}
    assert "spans_default" not in parts
    assert sum(parts.values()) == len(spans) and len(parts) == len(days)
    rollup = fetch(pg_dsn, "SELECT sum(spans), sum(cost_usd), sum(input_tokens) FROM span_rollup_hourly")[0]
    assert rollup[0] == len(spans)
    assert abs(rollup[1] - sum(s.cost_usd or 0 for s in spans)) < 1e-6
    assert rollup[2] == sum(s.usage.input_tokens for s in spans if s.usage)

    oldest = min(days)
    dropped = _run(pg_dsn, lambda c: drop_partitions_before(c, oldest + DAY_NS))
    assert len(dropped) == 1
    left = fetch(pg_dsn, "SELECT count(*) FROM spans")[0][0]
    assert left == sum(1 for s in spans if s.start_ns >= oldest + DAY_NS)


def test_a_day_first_written_to_the_default_partition_moves_into_its_own(pg_dsn: str) -> None:
    spans = list(generate_spans(50, seed=4, start_ns=DAY0))

    async def go(conn: asyncpg.Connection) -> None:
        await migrate(conn)
        await write_spans(conn, spans, known_days={DAY0})  # lies: no partition exists yet
        assert await conn.fetchval("SELECT count(*) FROM spans_default") == len(spans)
        assert await ensure_partitions(conn, {DAY0}) == ["spans_20251121"]

    _run(pg_dsn, go)
    assert fetch(pg_dsn, "SELECT count(*) FROM spans_default")[0][0] == 0
    assert fetch(pg_dsn, "SELECT count(*) FROM spans_20251121")[0][0] == len(spans)
