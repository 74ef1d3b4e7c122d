"""Copy every span the collector stores into PostgreSQL, from the WAL, exactly once.

    sink = PostgresSink(dsn, data_dir, decode=decode_and_enrich)
    sink.start()        # a thread with its own asyncio loop (asyncpg)
    sink.stats          # SinkStats: sent, batches, backlog_bytes, connected, last_error
    sink.stop()         # sends what is there (bounded by timeout), then stops

Why a thread in the collector's main process, reading the WAL (not the workers):

- the workers' hot path (ring → decode → WAL) is untouched: a slow or absent
  PostgreSQL never slows ingest, it only grows the backlog on disk;
- the WAL is already the durable buffer: a record leaves the disk only when the
  sink's cursor has passed it (:mod:`agenttrace.store.postgres.waltail`), so an
  outage, a collector crash or a PostgreSQL crash loses nothing;
- the main process is mostly idle (receive threads release the GIL in ``recvmmsg``);
  one connection per worker WAL lets PostgreSQL parse and index in parallel.

Each batch: decode the WAL records (and enrich them, as the worker did), binary COPY
into a session temp table, then one statement inserts into ``spans`` with
``ON CONFLICT DO NOTHING`` and folds only the rows really inserted into
``span_rollup_hourly``; commit; then the cursor moves. A replay after any crash adds
nothing twice. A batch PostgreSQL rejects as data (not as an outage) is split until
the bad spans are found; those are counted (``rejected``) and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable

import asyncpg
import msgspec

from agenttrace.model import Span
from agenttrace.store.layout import wal_dir
from agenttrace.store.postgres.rows import COLUMNS, span_row
from agenttrace.store.postgres.schema import DAY_NS, drop_partitions_before, ensure_partitions, migrate
from agenttrace.store.postgres.waltail import WalTail, worker_wals

__all__ = ["PostgresSink", "SinkStats", "write_spans"]

log = logging.getLogger("agenttrace.store.postgres")

HOUR_NS = 3_600_000_000_000
STAGING = "_agenttrace_staging"
_COLS = ", ".join(COLUMNS)
_INSERT = f"""
WITH ins AS (
    INSERT INTO spans ({_COLS}) SELECT {_COLS} FROM {STAGING}
    ON CONFLICT DO NOTHING
    RETURNING start_ns, end_ns, service, kind, model, status, input_tokens, output_tokens,
              cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd
)
INSERT INTO span_rollup_hourly AS r
SELECT start_ns - start_ns % {HOUR_NS}, service, kind, model, status, count(*),
       sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
       sum(reasoning_tokens), coalesce(sum(cost_usd), 0), sum(end_ns - start_ns), max(end_ns - start_ns)
FROM ins GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (hour_ns, service, kind, model, status) DO UPDATE SET
    spans = r.spans + EXCLUDED.spans,
    input_tokens = r.input_tokens + EXCLUDED.input_tokens,
    output_tokens = r.output_tokens + EXCLUDED.output_tokens,
    cache_read_tokens = r.cache_read_tokens + EXCLUDED.cache_read_tokens,
    cache_write_tokens = r.cache_write_tokens + EXCLUDED.cache_write_tokens,
    reasoning_tokens = r.reasoning_tokens + EXCLUDED.reasoning_tokens,
    cost_usd = r.cost_usd + EXCLUDED.cost_usd,
    duration_sum_ns = r.duration_sum_ns + EXCLUDED.duration_sum_ns,
    duration_max_ns = greatest(r.duration_max_ns, EXCLUDED.duration_max_ns)
"""
# What PostgreSQL (or asyncpg's encoder) says about the data itself: those spans are
# rejected, counted and skipped. Anything else (a refused or dropped connection, a server
# shutting down or crashing, a timeout, a full disk on the server) is an outage: the same
# batch is retried until it commits, so nothing is ever dropped for want of PostgreSQL.
_REJECTED = (asyncpg.exceptions.DataError, asyncpg.exceptions.IntegrityConstraintViolationError,
             ValueError, TypeError, OverflowError)  # fmt: skip


class SinkStats(msgspec.Struct):
    """Counters of the sink since it started (``backlog_*`` are current values)."""

    sent_spans: int = 0  # committed in PostgreSQL by this sink (replays included)
    sent_records: int = 0
    batches: int = 0
    rejected_spans: int = 0  # PostgreSQL refused them as data (logged, skipped)
    undecodable_records: int = 0
    errors: int = 0  # failed attempts (outages); the batch is retried
    skipped_records: int = 0  # records the cursor wanted that were gone from disk
    backlog_bytes: int = 0  # WAL bytes not yet in PostgreSQL
    connected: bool = False
    last_error: str = ""
    last_commit_unix: float = 0.0


class _Staging:
    def __init__(self) -> None:
        self.ready: set[int] = set()
        self.days: set[int] = set()


_ROLLUP_UPSERT = f"""
INSERT INTO span_rollup_hourly AS r
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::bigint[], $7::bigint[],
                     $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::float8[], $13::bigint[],
                     $14::bigint[])
ON CONFLICT (hour_ns, service, kind, model, status) DO UPDATE SET
{_INSERT.split("DO UPDATE SET", 1)[1]}"""


def _rollup_arrays(spans: list[Span]) -> list[list]:
    """The hourly rollup rows of ``spans`` as column arrays, in key order (so concurrent
    writers lock rollup rows in one order and never deadlock)."""
    groups: dict[tuple, list] = {}
    for s in spans:
        key = (s.start_ns - s.start_ns % HOUR_NS, s.service, s.kind, s.model, s.status)
        g = groups.get(key)
        if g is None:
            g = groups[key] = [0, 0, 0, 0, 0, 0, 0.0, 0, 0]
        u = s.usage
        d = s.end_ns - s.start_ns
        g[0] += 1
        if u is not None:
            g[1] += u.input_tokens
            g[2] += u.output_tokens
            g[3] += u.cache_read_tokens
            g[4] += u.cache_write_tokens
            g[5] += u.reasoning_tokens
        g[6] += s.cost_usd or 0.0
        g[7] += d
        g[8] = max(g[8], d) if g[0] > 1 else d
    keys = sorted(groups)
    cols: list[list] = [[k[i] for k in keys] for i in range(5)]
    cols += [[groups[k][i] for k in keys] for i in range(9)]
    return cols


async def write_spans(conn: asyncpg.Connection, spans: list[Span], known_days: set[int] | None = None) -> None:
    """Insert ``spans`` (idempotently) and fold the new ones into the hourly rollup, in
    one transaction. ``known_days`` caches the day partitions known to exist.

    Fast path: binary COPY straight into ``spans`` and the batch's rollup upserted from
    here; a unique violation there means some spans are in already (a replay), and the
    batch goes the idempotent way instead: COPY into a temp table, ``INSERT ... ON
    CONFLICT DO NOTHING RETURNING`` folded into the rollup."""
    known = known_days if known_days is not None else set()
    days = {s.start_ns - s.start_ns % DAY_NS for s in spans} - known
    if days:
        await ensure_partitions(conn, days | {max(days) + DAY_NS})
        known |= days
    rows = [span_row(s) for s in spans]
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("spans", records=rows, columns=COLUMNS)
            await conn.execute(_ROLLUP_UPSERT, *_rollup_arrays(spans))
        return
    except asyncpg.exceptions.UniqueViolationError:
        pass  # a replay (or a span sent twice): the idempotent path below
    async with conn.transaction():
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (LIKE spans INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await conn.copy_records_to_table(STAGING, records=rows, columns=COLUMNS)
        await conn.execute(_INSERT)


class PostgresSink:
    """See the module docstring."""

    def __init__(
        self,
        dsn: str,
        data_dir: str | os.PathLike[str],
        *,
        decode: Callable[[bytes], list[Span]],
        batch_bytes: int = 2 << 20,
        poll_s: float = 0.05,
        retry_max_s: float = 5.0,
        migrate_at_start: bool = True,
        retention_days: float = 0,
        maintenance_interval_s: float = 3600.0,
    ) -> None:
        self.dsn = dsn
        self.wal_dir = str(wal_dir(data_dir))
        self.decode = decode
        self.batch_bytes = batch_bytes
        self.poll_s = poll_s
        self.retry_max_s = retry_max_s
        self.migrate_at_start = migrate_at_start
        self.retention_days = retention_days
        self.maintenance_interval_s = maintenance_interval_s
        self.dropped_partitions: list[str] = []
        self.stats = SinkStats()
        self._tails: dict[int, WalTail] = {}
        self._stop = threading.Event()
        self._drain_deadline = 0.0
        self._thread: threading.Thread | None = None
        self._known_days: set[int] = set()

    # --- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="agenttrace-postgres-sink", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Send what the WAL holds (for up to ``timeout`` s), then stop. Unsent records stay
        on disk for the next start."""
        self._drain_deadline = time.monotonic() + timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout + 5)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        tasks: dict[int, asyncio.Task] = {}
        migrated = not self.migrate_at_start
        delay = 0.2
        while not migrated:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10)
                try:
                    await migrate(conn)
                finally:
                    await conn.close()
                migrated = True
            except Exception as exc:
                self._failed(exc)
                if self._stop.is_set():
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
        next_maintenance = 0.0
        while True:
            if time.monotonic() >= next_maintenance and not self._stop.is_set():
                next_maintenance = time.monotonic() + self.maintenance_interval_s
                await self._maintain()
            for worker, path in worker_wals(self.wal_dir).items():
                if worker not in tasks:
                    self._tails[worker] = WalTail(path)
                    tasks[worker] = asyncio.create_task(self._follow(self._tails[worker]))
            self._update_backlog()
            if all(t.done() for t in tasks.values()) and self._stop.is_set():
                break
            await asyncio.sleep(self.poll_s)
        for t in tasks.values():
            if t.exception() is not None:
                log.error("postgres sink task failed", exc_info=t.exception())
        self._update_backlog()
        for tail in self._tails.values():
            tail.close()

    async def _maintain(self) -> None:
        """Partitions for today and tomorrow ahead of the spans; retention drops old days."""
        try:
            conn = await asyncpg.connect(self.dsn, timeout=10)
        except Exception as exc:
            self._failed(exc)
            return
        try:
            today = time.time_ns() - time.time_ns() % DAY_NS
            await ensure_partitions(conn, {today, today + DAY_NS})
            self._known_days |= {today, today + DAY_NS}
            if self.retention_days > 0:
                cutoff = time.time_ns() - int(self.retention_days * DAY_NS)
                dropped = await drop_partitions_before(conn, cutoff)
                self._known_days = {d for d in self._known_days if d + DAY_NS > cutoff}
                if dropped:
                    log.info("PostgreSQL retention dropped %s", ", ".join(dropped))
                    self.dropped_partitions += dropped
        except Exception as exc:
            self._failed(exc)
        finally:
            conn.terminate()

    def _update_backlog(self) -> None:
        self.stats.backlog_bytes = sum(t.backlog_bytes() for t in list(self._tails.values()))
        self.stats.skipped_records = sum(t.skipped_records for t in list(self._tails.values()))

    def _failed(self, exc: BaseException) -> None:
        self.stats.errors += 1
        self.stats.connected = False
        msg = f"{type(exc).__name__}: {exc}"
        if msg != self.stats.last_error:
            log.warning("PostgreSQL sink: %s (the spans wait in the WAL)", msg)
        self.stats.last_error = msg

    def _stopping(self) -> bool:
        return self._stop.is_set() and time.monotonic() >= self._drain_deadline

    # --- one worker's WAL ---------------------------------------------------------
    async def _follow(self, tail: WalTail) -> None:
        conn: asyncpg.Connection | None = None
        delay = 0.1
        batch: tuple[int, list[bytes]] | None = None
        try:
            while not self._stopping():
                if batch is None:
                    first, payloads = tail.read(self.batch_bytes)
                    if not payloads:
                        if self._stop.is_set():
                            return  # drained
                        await asyncio.sleep(self.poll_s)
                        continue
                    batch = (first, payloads)
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self.dsn, timeout=10)
                        self.stats.connected = True
                    await self._send(conn, batch[1])
                except Exception as exc:  # an outage (see _REJECTED): retry the batch
                    self._failed(exc)
                    if conn is not None:
                        conn.terminate()
                    conn = None
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max_s)
                    continue
                first, payloads = batch
                tail.commit(first + len(payloads))
                self.stats.sent_records += len(payloads)
                self.stats.batches += 1
                self.stats.connected = True
                self.stats.last_commit_unix = time.time()
                batch = None
                delay = 0.1
        finally:
            if conn is not None:
                conn.terminate()

    async def _send(self, conn: asyncpg.Connection, payloads: list[bytes]) -> None:
        spans: list[Span] = []
        for raw in payloads:
            try:
                spans.extend(self.decode(raw))
            except Exception:
                self.stats.undecodable_records += 1
        if spans:
            await self._write(conn, spans)

    async def _write(self, conn: asyncpg.Connection, spans: list[Span]) -> None:
        try:
            await write_spans(conn, spans, self._known_days)
        except _REJECTED as exc:
            if len(spans) == 1:
                self.stats.rejected_spans += 1
                log.error("PostgreSQL rejected span %s of trace %s: %s", spans[0].span_id.hex(),
                          spans[0].trace_id.hex(), exc)  # fmt: skip
                return
            half = len(spans) // 2
            await self._write(conn, spans[:half])
            await self._write(conn, spans[half:])
            return
        self.stats.sent_spans += len(spans)
