"""Trace lookup by id: ``QueryEngine.trace_spans`` (``reader.rows_where`` on the dictionary-
encoded ``trace_id`` column) against reading the whole column and comparing, as it did before.

    .venv/bin/python bench/trace_lookup.py                  # 300k spans, 30 trace ids
    .venv/bin/python bench/trace_lookup.py --spans 1000000 --json out.json

Both are timed in the same run on the same store, warm (each lookup repeated ``--reps``
times, median taken); the ratio is the column-scan time over ours. Both must find the
same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from agenttrace import wire
from agenttrace.query.segments import SegmentQueryEngine as QueryEngine
from agenttrace.store.synthetic import generate_spans
from agenttrace.store.writer import SegmentWriter, WriterConfig

DATAGRAM_SPANS = 40


def build(data_dir: Path, n: int, seed: int) -> list[bytes]:
    writer = SegmentWriter(data_dir, 0, WriterConfig())
    writer.open()
    rng = random.Random(seed)
    sample: list[bytes] = []
    chunk = []
    for s in generate_spans(n, seed=seed):
        chunk.append(s)
        if not s.parent_id and rng.random() < 0.002:
            sample.append(s.trace_id)
        if len(chunk) == DATAGRAM_SPANS:
            writer.append(wire.encode(chunk, sender_id=1, seq=0), chunk)
            chunk = []
            writer.tick()
    if chunk:
        writer.append(wire.encode(chunk, sender_id=1, seq=0), chunk)
    writer.close()
    return sample


def column_scan_rows(engine: QueryEngine, tid: bytes) -> list[tuple[str, int]]:
    """The previous lookup: materialise each candidate segment's trace_id column."""
    segs, _ = engine.segments()
    out = []
    for seg in segs:
        if not seg.reader.may_contain_trace(tid):
            continue
        col = seg.reader.read_columns(["trace_id"])["trace_id"]
        out += [(seg.path, i) for i, t in enumerate(col) if t == tid]
    return out


def rows_where_rows(engine: QueryEngine, tid: bytes) -> list[tuple[str, int]]:
    segs, _ = engine.segments()
    out = []
    for seg in segs:
        if not seg.reader.may_contain_trace(tid):
            continue
        out += [(seg.path, i) for i in seg.reader.rows_where("trace_id", tid)]
    return out


def median_s(fn, reps: int) -> float:
    fn()  # warm
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=300_000)
    ap.add_argument("--traces", type=int, default=30)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "store"
        sample = build(data_dir, args.spans, args.seed)[: args.traces]
        engine = QueryEngine(data_dir)
        segments = len(engine.segments()[0])
        scan, ours, full = [], [], []
        for tid in sample:
            assert column_scan_rows(engine, tid) == rows_where_rows(engine, tid)
            scan.append(median_s(lambda tid=tid: column_scan_rows(engine, tid), args.reps))
            ours.append(median_s(lambda tid=tid: rows_where_rows(engine, tid), args.reps))
            full.append(median_s(lambda tid=tid: engine.trace_spans(tid), args.reps))
    result = {
        "spans": args.spans,
        "segments": segments,
        "traces": len(sample),
        "cores": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "python": platform.python_version(),
        "find_rows_column_scan_ms": statistics.median(scan) * 1e3,
        "find_rows_rows_where_ms": statistics.median(ours) * 1e3,
        "ratio_column_scan_over_rows_where": statistics.median(scan) / statistics.median(ours),
        "trace_spans_ms": statistics.median(full) * 1e3,
    }
    print(f"{args.spans:,} spans in {segments} segments; {len(sample)} trace ids; {os.cpu_count()} cores")
    print(f"  find a trace's rows, column scan (before):  {result['find_rows_column_scan_ms']:8.3f} ms (median)")
    print(f"  find a trace's rows, rows_where (now):      {result['find_rows_rows_where_ms']:8.3f} ms (median)")
    print(f"  ratio column scan / rows_where:             {result['ratio_column_scan_over_rows_where']:8.1f}x")
    print(f"  QueryEngine.trace_spans (rows + spans):     {result['trace_spans_ms']:8.3f} ms (median)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
