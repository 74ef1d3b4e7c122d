"""Sustained spans/s from the collector's WAL into PostgreSQL, with the sink's CPU and backlog.

What runs: a throwaway PostgreSQL server (Debian's binaries, ``LocalPostgres``), a real
:class:`~agenttrace.store.SegmentWriter` appending SDK-sized datagrams (20 spans each) to
its WAL and sealing segments as the collector's worker does, and the collector's
:class:`~agenttrace.store.postgres.sink.PostgresSink` (one connection per worker WAL)
copying them into PostgreSQL. Measured: spans/s from the first append until PostgreSQL
holds every span; the sink thread's CPU per span; the largest backlog seen; and, in the
same run, the segment store alone (same spans, same writer, no sink) for comparison.

Usage::

    .venv/bin/python bench/postgres_sink.py [--spans 400000] [--workers 2] [--json bench/results/postgres_sink.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from agenttrace import wire
from agenttrace.store.postgres.localserver import LocalPostgres
from agenttrace.store.postgres.sink import PostgresSink
from agenttrace.store.synthetic import generate_spans
from agenttrace.store.writer import SegmentWriter, WriterConfig

PER_DATAGRAM = 20
APPEND_BATCH = 64  # datagrams per append_batch, as a worker pops its ring


def _datagrams(n: int) -> list[tuple[bytes, list]]:
    spans = list(generate_spans(n, seed=5))
    out = []
    for i in range(0, n, PER_DATAGRAM):
        chunk = spans[i : i + PER_DATAGRAM]
        out.append((wire.encode(chunk, sender_id=1, seq=i), chunk))
    return out


def _write(data_dir: str, worker: int, items: list, keep: bool) -> float:
    cfg = WriterConfig(wal_fsync="interval", wal_keep_rotated=keep, wal_rotate_bytes=16 << 20)
    w = SegmentWriter(data_dir, worker, cfg, replay=lambda raw: wire.decode(raw).spans)
    w.open()
    t0 = time.perf_counter()
    for i in range(0, len(items), APPEND_BATCH):
        w.append_batch(items[i : i + APPEND_BATCH])
        w.tick()
    w.close()
    return time.perf_counter() - t0


def _split(items: list, k: int) -> list[list]:
    return [items[i::k] for i in range(k)]


def segments_alone(items: list, workers: int) -> dict:
    d = tempfile.mkdtemp(prefix="at-bench-seg-")
    try:
        parts = _split(items, workers)
        t0 = time.perf_counter()
        threads = [threading.Thread(target=_write, args=(d, i, p, False)) for i, p in enumerate(parts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        secs = time.perf_counter() - t0
    finally:
        shutil.rmtree(d, ignore_errors=True)
    n = sum(len(s) for _, s in items)
    return {"spans": n, "seconds": secs, "spans_per_s": n / secs}


async def _migrate(dsn: str) -> None:
    import asyncpg

    from agenttrace.store.postgres.schema import migrate

    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()


def with_postgres(items: list, workers: int, dsn: str) -> dict:
    d = tempfile.mkdtemp(prefix="at-bench-pg-")
    n = sum(len(s) for _, s in items)
    try:
        asyncio.run(_migrate(dsn))  # the schema is not part of the sustained figure
        sink = PostgresSink(dsn, d, decode=lambda raw: wire.decode(raw).spans, poll_s=0.005, migrate_at_start=False)
        sink.start()
        clock = time.pthread_getcpuclockid(sink._thread.ident)  # type: ignore[union-attr]
        cpu0 = time.clock_gettime(clock)
        parts = _split(items, workers)
        t0 = time.perf_counter()
        threads = [threading.Thread(target=_write, args=(d, i, p, True)) for i, p in enumerate(parts)]
        for t in threads:
            t.start()
        max_backlog = 0
        while sink.stats.sent_spans < n:
            max_backlog = max(max_backlog, sink.stats.backlog_bytes)
            time.sleep(0.02)
            if time.perf_counter() - t0 > 600:
                raise SystemExit(f"the sink did not finish: {sink.stats}")
        secs = time.perf_counter() - t0
        cpu = time.clock_gettime(clock) - cpu0
        for t in threads:
            t.join()
        sink.stop()
        return {
            "spans": n, "seconds": secs, "spans_per_s": n / secs, "sink_cpu_s": cpu,
            "sink_cpu_us_per_span": cpu / n * 1e6, "sink_cpu_cores": cpu / secs,
            "max_backlog_bytes": max_backlog, "batches": sink.stats.batches, "errors": sink.stats.errors,
        }  # fmt: skip
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=400_000)
    ap.add_argument("--workers", type=int, default=2, help="worker WALs (one sink connection each)")
    ap.add_argument("--pg-fsync", action="store_true", help="run PostgreSQL with fsync and synchronous_commit on")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "postgres_sink.json")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"generating {args.spans:,} spans in datagrams of {PER_DATAGRAM}...")
    items = _datagrams(args.spans)
    alone = segments_alone(items, args.workers)
    print(f"segment store alone : {alone['spans_per_s']:>10,.0f} spans/s ({alone['seconds']:.2f} s)")
    pg = LocalPostgres(fsync=args.pg_fsync)
    pg.start()
    try:
        version = subprocess.run([os.path.join(pg.bindir, "postgres"), "--version"], capture_output=True,
                                 text=True).stdout.strip()  # fmt: skip
        r = with_postgres(items, args.workers, pg.dsn)
    finally:
        pg.cleanup()
    target = 50_000
    print(f"into PostgreSQL     : {r['spans_per_s']:>10,.0f} spans/s sustained ({r['seconds']:.2f} s, {version}, "
          f"fsync {'on' if args.pg_fsync else 'off'})")  # fmt: skip
    print(f"  sink CPU          : {r['sink_cpu_us_per_span']:.2f} us/span, {r['sink_cpu_cores']:.2f} cores")
    print(f"  max backlog       : {r['max_backlog_bytes'] / 1e6:.1f} MB of WAL; {r['batches']} batches")
    print(f"  vs segments alone : {r['spans_per_s'] / alone['spans_per_s']:.2f}x; "
          f"target {target:,} spans/s {'met' if r['spans_per_s'] >= target else 'NOT met'}")  # fmt: skip
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = {
        "commit": commit, "cpu_count": os.cpu_count(), "postgres": version, "pg_fsync": args.pg_fsync,
        "workers": args.workers, "segments_alone": alone, "postgres_sink": r, "target_spans_per_s": target,
    }  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
