"""PostgreSQL as a shared store: schema and migrations (:mod:`.schema`), the span row
(:mod:`.rows`), the WAL-fed sink of the collector (:mod:`.sink`, :mod:`.waltail`).

Needs the ``postgres`` extra (asyncpg); nothing else in the store imports this package.
The reader is :mod:`agenttrace.query.postgres`. See docs/postgres.md.
"""

DSN_ENV = "AGENTTRACE_POSTGRES_DSN"


def is_dsn(value: str | None) -> bool:
    """True for a PostgreSQL connection URI (``postgresql://`` or ``postgres://``)."""
    return bool(value) and str(value).startswith(("postgresql://", "postgres://"))
