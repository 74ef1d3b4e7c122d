"""The WAL-fed PostgreSQL sink: every span exactly once, across rotations, replays and outages."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pg_helpers import append, decode, fetch, span_keys, wait_for, writer

from agenttrace.store.layout import wal_path
from agenttrace.store.postgres.localserver import LocalPostgres
from agenttrace.store.postgres.sink import PostgresSink
from agenttrace.store.postgres.waltail import kept_logs
from agenttrace.store.synthetic import generate_spans


def _count(dsn: str) -> int:
    if not fetch(dsn, "SELECT to_regclass('spans') IS NOT NULL")[0][0]:
        return 0  # the sink has not migrated the empty database yet
    return fetch(dsn, "SELECT count(*) FROM spans")[0][0]


def _rollup_count(dsn: str) -> int:
    return fetch(dsn, "SELECT coalesce(sum(spans), 0) FROM span_rollup_hourly")[0][0]


def test_every_span_arrives_once_across_wal_rotations_and_kept_logs_are_trimmed(tmp_path: Path, pg_dsn: str) -> None:
    spans = list(generate_spans(3000, seed=7))
    w = writer(str(tmp_path), worker=0, seal_rows=500, wal_rotate_bytes=4096)
    w2 = writer(str(tmp_path), worker=1, seal_rows=500, wal_rotate_bytes=4096)
    append(w, spans[:1000])
    append(w2, spans[1000:1500])
    # Rotated while no sink has read them: the records are kept beside the live log.
    assert kept_logs(str(wal_path(tmp_path, 0)))
    sink = PostgresSink(pg_dsn, tmp_path, decode=decode, poll_s=0.01)
    sink.start()
    try:
        append(w, spans[1500:2500])
        append(w2, spans[2500:])
        wait_for(lambda: _count(pg_dsn) >= len(spans), what="all spans in PostgreSQL")
        wait_for(lambda: not kept_logs(str(wal_path(tmp_path, 0))), what="kept logs trimmed")
    finally:
        sink.stop()
        w.close()
        w2.close()
    keys = span_keys(pg_dsn)
    assert len(keys) == len(set(keys)) == len(spans)
    assert set(keys) == {(s.trace_id, s.span_id) for s in spans}
    assert _rollup_count(pg_dsn) == len(spans)
    assert sink.stats.sent_spans == len(spans) and sink.stats.rejected_spans == 0
    assert sink.stats.backlog_bytes == 0
    # The stored span reads back field for field (attributes and events as jsonb).
    from agenttrace.store.postgres.rows import span_from_row

    row = fetch(pg_dsn, "SELECT * FROM spans WHERE span_id = $1", spans[5].span_id)[0]
    assert span_from_row(row) == spans[5]


def test_a_replay_from_an_old_cursor_adds_nothing(tmp_path: Path, pg_dsn: str) -> None:
    spans = list(generate_spans(800, seed=8))
    w = writer(str(tmp_path))
    append(w, spans)
    sink = PostgresSink(pg_dsn, tmp_path, decode=decode, poll_s=0.01)
    sink.start()
    wait_for(lambda: _count(pg_dsn) == len(spans), what="first pass")
    sink.stop()
    # A crash between PostgreSQL's commit and the cursor write: the cursor is behind.
    cursor = tmp_path / "wal" / "worker-0.pg-cursor"
    assert int(cursor.read_text()) == w._wal.next_seq
    cursor.write_text("0")
    again = PostgresSink(pg_dsn, tmp_path, decode=decode, poll_s=0.01)
    again.start()
    wait_for(lambda: again.stats.sent_records >= len(spans) // 20, what="replay")
    again.stop()
    w.close()
    assert _count(pg_dsn) == len(spans)
    assert _rollup_count(pg_dsn) == len(spans)


def test_postgres_killed_mid_load_and_restarted_every_span_arrives_exactly_once(tmp_path: Path) -> None:
    pg = LocalPostgres()
    pg.start()
    spans = list(generate_spans(20_000, seed=9))
    data = tmp_path / "data"
    w = writer(str(data), seal_rows=2000, wal_rotate_bytes=64 << 10)
    sink = PostgresSink(pg.dsn, data, decode=decode, poll_s=0.01, retry_max_s=0.5, batch_bytes=64 << 10)
    sink.start()
    done = threading.Event()

    def load() -> None:
        for i in range(0, len(spans), 500):
            append(w, spans[i : i + 500])
            w.tick()
        done.set()

    loader = threading.Thread(target=load)
    try:
        loader.start()
        wait_for(lambda: sink.stats.batches >= 3, what="the sink writing")
        pg.stop(mode="immediate")  # a crash, as far as clients can tell
        wait_for(lambda: sink.stats.errors > 0, what="the sink noticing the outage")
        wait_for(done.is_set, what="the load finishing during the outage")
        assert sink.stats.backlog_bytes > 0  # waiting on disk, counted
        assert not sink.stats.connected
        pg.start()
        wait_for(lambda: sink.stats.backlog_bytes == 0 and sink.stats.connected, timeout=60, what="the backlog drained")
        loader.join()
        keys = span_keys(pg.dsn)
        assert len(keys) == len(spans), (len(keys), len(spans))
        assert set(keys) == {(s.trace_id, s.span_id) for s in spans}
        assert _rollup_count(pg.dsn) == len(spans)
    finally:
        sink.stop()
        w.close()
        pg.cleanup()
    assert not os.listdir(data / "wal") or not kept_logs(str(wal_path(data, 0)))


def test_retention_drops_old_day_partitions_and_days_ahead_exist(tmp_path: Path, pg_dsn: str) -> None:
    import asyncio
    import time

    import asyncpg

    from agenttrace.store.postgres.schema import DAY_NS, migrate
    from agenttrace.store.postgres.sink import write_spans

    old = list(generate_spans(50, seed=12))  # November 2025: older than a 30-day retention

    async def seed() -> None:
        conn = await asyncpg.connect(pg_dsn)
        await migrate(conn)
        await write_spans(conn, old)
        await conn.close()

    asyncio.run(seed())
    assert _count(pg_dsn) == len(old)
    (tmp_path / "wal").mkdir()
    sink = PostgresSink(pg_dsn, tmp_path, decode=decode, poll_s=0.01, retention_days=30)
    sink.start()
    try:
        wait_for(lambda: sink.dropped_partitions, what="retention")
    finally:
        sink.stop()
    assert _count(pg_dsn) == 0
    today = time.time_ns() - time.time_ns() % DAY_NS
    names = {r[0] for r in fetch(pg_dsn, "SELECT relname FROM pg_class WHERE relname LIKE 'spans_2%'")}
    from agenttrace.store.postgres.schema import partition_name

    assert {partition_name(today), partition_name(today + DAY_NS)} <= names


def test_a_span_postgres_cannot_hold_is_counted_and_the_rest_of_its_batch_is_written(
    tmp_path: Path, pg_dsn: str
) -> None:
    import msgspec

    spans = list(generate_spans(200, seed=13))
    # Beyond PostgreSQL's bigint: the segment store keeps it, PostgreSQL cannot.
    spans[57] = msgspec.structs.replace(spans[57], end_ns=(1 << 64) - 1)
    spans[58] = msgspec.structs.replace(spans[58], name="nul \x00 inside", attributes={"k": "v\x00"})
    w = writer(str(tmp_path))
    append(w, spans)
    sink = PostgresSink(pg_dsn, tmp_path, decode=decode, poll_s=0.01)
    sink.start()
    try:
        wait_for(lambda: sink.stats.backlog_bytes == 0 and sink.stats.sent_records, what="the batch handled")
    finally:
        sink.stop()
        w.close()
    assert sink.stats.rejected_spans == 1
    assert _count(pg_dsn) == len(spans) - 1
    assert fetch(pg_dsn, "SELECT name FROM spans WHERE span_id = $1", spans[58].span_id)[0][0] == "nul \ufffd inside"
    assert not fetch(pg_dsn, "SELECT 1 FROM spans WHERE span_id = $1", spans[57].span_id)


def test_two_collectors_share_one_database_and_its_rollup(tmp_path: Path, pg_dsn: str) -> None:
    """Two data directories (two collectors' WALs) into one database at once: the same
    hours and days, partitions created once, the rollup the exact sum of both."""
    spans = list(generate_spans(4000, seed=14))
    sinks, writers = [], []
    for n, part in enumerate((spans[0::2], spans[1::2])):  # interleaved: same hours, same rollup keys
        data = tmp_path / f"collector{n}"
        w = writer(str(data), seal_rows=300)
        append(w, part, per_datagram=10)
        writers.append(w)
        sinks.append(PostgresSink(pg_dsn, data, decode=decode, poll_s=0.01, batch_bytes=64 << 10))
    for s in sinks:
        s.start()
    try:
        wait_for(lambda: _count(pg_dsn) == len(spans), timeout=60, what="both collectors' spans")
    finally:
        for s in sinks:
            s.stop()
        for w in writers:
            w.close()
    assert _rollup_count(pg_dsn) == len(spans)
    cost = fetch(pg_dsn, "SELECT sum(cost_usd) FROM span_rollup_hourly")[0][0]
    assert abs(cost - sum(s.cost_usd or 0 for s in spans)) < 1e-6
    assert all(s.stats.rejected_spans == 0 for s in sinks)
