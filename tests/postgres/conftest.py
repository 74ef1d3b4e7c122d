"""A real PostgreSQL server for the whole session, started by the suite itself.

``AGENTTRACE_TEST_PG_DSN`` points the tests at a server you run instead (its database
is wiped per test). Otherwise Debian's ``postgresql`` binaries start one in a temporary
directory (``agenttrace.store.postgres.localserver``). No skip: a machine without
PostgreSQL fails here, loudly, with the install command (``.ci/run`` provides it).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator

import asyncpg
import pytest

from agenttrace.store.postgres.localserver import LocalPostgres

pytestmark = pytest.mark.postgres

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres | None]:
    if os.environ.get("AGENTTRACE_TEST_PG_DSN"):
        yield None
        return
    server = LocalPostgres()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def pg_admin_dsn(pg_server: LocalPostgres | None) -> str:
    return os.environ.get("AGENTTRACE_TEST_PG_DSN") or pg_server.dsn  # type: ignore[union-attr]


def _with_db(dsn: str, db: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{db}"


@pytest.fixture
def pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A fresh, empty database per test (created from the server's template)."""
    name = f"agenttrace_test_{os.getpid()}_{next(_counter)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_db(pg_admin_dsn, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
