"""Store benchmark: bytes per span, write throughput and query times, against Parquet + DuckDB.

    .venv/bin/python bench/store.py                    # 1M spans
    .venv/bin/python bench/store.py --spans 10000000   # 10M (about 15 min)
    .venv/bin/python bench/store.py --json out.json

On generated agent traffic (``agenttrace.store.synthetic``: LLM and tool spans, real
model names, token counts, previews and attributes) it measures, in one run:

- bytes per span of our segments, of Parquet (pyarrow; LZ4 and zstd) and of raw
  msgpack (the spans as the wire format encodes them);
- write throughput of one SegmentWriter (one process: spans per second per core),
  WAL, column encoding, rollups and fsyncs included, datagram decoding not;
- query times, cold (a fresh engine / a fresh DuckDB connection) and warm (median of
  ``--reps`` runs): (a) cost and tokens by model over the whole range, (b) one trace
  by id, (c) p95 latency by kind, for our QueryEngine and for DuckDB over the same
  spans in one Parquet (zstd) file. Ratios are DuckDB's time over ours, same run.

Targets (issue 3): our bytes/span <= Parquet+LZ4's; (a) and (c) >= 10x faster than
DuckDB over Parquet; (b) under 50 ms at 10M spans.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from agenttrace import wire
from agenttrace.query.segments import SegmentQueryEngine as QueryEngine
from agenttrace.store.synthetic import generate_spans
from agenttrace.store.writer import SegmentWriter, WriterConfig

CHUNK = 50_000
DATAGRAM_SPANS = 40


def _arrow_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("trace_id", pa.binary(16)),
            ("span_id", pa.binary(8)),
            ("parent_id", pa.binary()),
            ("name", pa.string()),
            ("start_ns", pa.int64()),
            ("end_ns", pa.int64()),
            ("kind", pa.string()),
            ("status", pa.int8()),
            ("status_message", pa.string()),
            ("session_id", pa.string()),
            ("service", pa.string()),
            ("user_id", pa.string()),
            ("environment", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("model", pa.string()),
            ("provider", pa.string()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("cache_read_tokens", pa.int64()),
            ("cache_write_tokens", pa.int64()),
            ("reasoning_tokens", pa.int64()),
            ("cost_usd", pa.float64()),
            ("input_preview", pa.string()),
            ("output_preview", pa.string()),
            ("attributes", pa.string()),  # JSON text, as an exporter would write it
            ("events", pa.string()),
            ("service_tier", pa.string()),
            ("cost_source", pa.string()),
        ]
    )


def _arrow_table(spans, schema):
    import pyarrow as pa

    enc = msgspec.json.encode
    cols: dict[str, list] = {f.name: [] for f in schema}
    for s in spans:
        u = s.usage
        cols["trace_id"].append(s.trace_id)
        cols["span_id"].append(s.span_id)
        cols["parent_id"].append(s.parent_id)
        cols["name"].append(s.name)
        cols["start_ns"].append(s.start_ns)
        cols["end_ns"].append(s.end_ns)
        cols["kind"].append(s.kind)
        cols["status"].append(s.status)
        cols["status_message"].append(s.status_message)
        cols["session_id"].append(s.session_id)
        cols["service"].append(s.service)
        cols["user_id"].append(s.user_id)
        cols["environment"].append(s.environment)
        cols["tags"].append(s.tags)
        cols["model"].append(s.model)
        cols["provider"].append(s.provider)
        cols["input_tokens"].append(u.input_tokens if u else 0)
        cols["output_tokens"].append(u.output_tokens if u else 0)
        cols["cache_read_tokens"].append(u.cache_read_tokens if u else 0)
        cols["cache_write_tokens"].append(u.cache_write_tokens if u else 0)
        cols["reasoning_tokens"].append(u.reasoning_tokens if u else 0)
        cols["cost_usd"].append(s.cost_usd)
        cols["input_preview"].append(s.input_preview)
        cols["output_preview"].append(s.output_preview)
        cols["attributes"].append(enc(s.attributes).decode() if s.attributes else "")
        cols["events"].append(enc(s.events).decode() if s.events else "")
        cols["service_tier"].append(s.service_tier)
        cols["cost_source"].append(s.cost_source)
    return pa.Table.from_pydict(cols, schema=schema)


def _median_time(fn, reps: int) -> tuple[float, float]:
    """(first run, median of the next ``reps`` runs) in seconds."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times)


def run(n: int, reps: int, workdir: Path, seed: int, compact_first: bool = False) -> dict:
    import duckdb
    import pyarrow.parquet as pq

    data_dir = workdir / "store"
    pq_lz4 = workdir / "spans.lz4.parquet"
    pq_zstd = workdir / "spans.zstd.parquet"
    schema = _arrow_schema()
    w_lz4 = pq.ParquetWriter(pq_lz4, schema, compression="lz4")
    w_zstd = pq.ParquetWriter(pq_zstd, schema, compression="zstd")
    writer = SegmentWriter(data_dir, 0, WriterConfig())
    writer.open()
    rng = random.Random(seed)
    sample_traces: list[bytes] = []
    msgpack_bytes = 0
    write_s = 0.0
    gen_s = 0.0
    t_gen = time.perf_counter()
    chunk = []
    first_start = last_start = None
    gen = generate_spans(n, seed=seed)

    def flush(chunk):
        nonlocal msgpack_bytes, write_s
        msgpack_bytes += len(msgspec.msgpack.encode(chunk))
        datagrams = [
            (wire.encode(chunk[k : k + DATAGRAM_SPANS], sender_id=1, seq=k), chunk[k : k + DATAGRAM_SPANS])
            for k in range(0, len(chunk), DATAGRAM_SPANS)
        ]
        t0 = time.perf_counter()
        for raw, spans in datagrams:
            writer.append(raw, spans)
        writer.tick()
        write_s += time.perf_counter() - t0
        table = _arrow_table(chunk, schema)
        w_lz4.write_table(table)
        w_zstd.write_table(table)

    for s in gen:
        chunk.append(s)
        if not s.parent_id and rng.random() < 0.001 and len(sample_traces) < 50:
            sample_traces.append(s.trace_id)
        if first_start is None:
            first_start = s.start_ns
        last_start = s.start_ns
        if len(chunk) == CHUNK:
            gen_s += time.perf_counter() - t_gen
            flush(chunk)
            chunk = []
            t_gen = time.perf_counter()
    gen_s += time.perf_counter() - t_gen
    if chunk:
        flush(chunk)
    t0 = time.perf_counter()
    writer.close()
    write_s += time.perf_counter() - t0
    w_lz4.close()
    w_zstd.close()
    del chunk
    gc.collect()

    compact_s = None
    if compact_first:
        from agenttrace.store.compaction import compact

        t0 = time.perf_counter()
        compact(data_dir)  # merges small segments, writes the days' hour rollup files
        compact_s = time.perf_counter() - t0

    seg_bytes = sum(p.stat().st_size for p in (data_dir / "segments").rglob("*.seg"))
    segments = len(list((data_dir / "segments").rglob("*.seg")))
    sizes = {
        "agenttrace_segments": seg_bytes / n,
        "parquet_lz4": pq_lz4.stat().st_size / n,
        "parquet_zstd": pq_zstd.stat().st_size / n,
        "msgpack_raw": msgpack_bytes / n,
    }

    # --- queries ---------------------------------------------------------------------
    tids = sample_traces[:reps] or sample_traces
    src = f"read_parquet('{pq_zstd}')"

    def q_a_ours(engine):
        return engine.aggregate(["model"], latency=False)  # cost and tokens: no percentiles asked

    def q_c_ours(engine):
        return engine.aggregate(["kind"])

    sql_a = (
        f"SELECT model, count(*), sum(cost_usd), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
        f"sum(cache_write_tokens), sum(reasoning_tokens) FROM {src} GROUP BY model"
    )
    sql_c = f"SELECT kind, quantile_disc(end_ns - start_ns, 0.95) FROM {src} GROUP BY kind"
    sql_b = f"SELECT * FROM {src} WHERE trace_id = ?"

    results: dict[str, dict] = {}

    # cold: a fresh engine (footers, rollup sections and hour/day folds not yet cached)
    t0 = time.perf_counter()
    cold_engine = QueryEngine(data_dir)
    ans_a = q_a_ours(cold_engine)
    ours_a_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    ans_c = q_c_ours(QueryEngine(data_dir))
    ours_c_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    QueryEngine(data_dir).trace(tids[0])
    ours_b_cold = time.perf_counter() - t0

    engine = QueryEngine(data_dir)
    _, ours_a = _median_time(lambda: q_a_ours(engine), reps)
    _, ours_c = _median_time(lambda: q_c_ours(engine), reps)
    it = iter(tids * (reps + 1))
    _, ours_b = _median_time(lambda: engine.trace(next(it)), reps)

    con = duckdb.connect()
    t0 = time.perf_counter()
    duck_a_rows = con.execute(sql_a).fetchall()
    duck_a_cold = time.perf_counter() - t0
    _, duck_a = _median_time(lambda: con.execute(sql_a).fetchall(), reps)
    t0 = time.perf_counter()
    duck_c_rows = duckdb.connect().execute(sql_c).fetchall()
    duck_c_cold = time.perf_counter() - t0
    _, duck_c = _median_time(lambda: con.execute(sql_c).fetchall(), reps)
    it2 = iter(tids * (reps + 1))
    t0 = time.perf_counter()
    duckdb.connect().execute(sql_b, [tids[0]]).fetchall()
    duck_b_cold = time.perf_counter() - t0
    _, duck_b = _median_time(lambda: con.execute(sql_b, [next(it2)]).fetchall(), reps)

    # Sanity: both engines agree (counts exactly; p95 within the sketch's stated error).
    ours_counts = {r.group["model"]: r.count for r in ans_a.rows}
    duck_counts = {m: c for m, c, *_ in duck_a_rows}
    agree_a = ours_counts == duck_counts
    duck_p95 = {k: v for k, v in duck_c_rows}
    agree_c = all(
        abs(r.p95_ms * 1e6 - duck_p95[r.group["kind"]]) <= 0.0101 * duck_p95[r.group["kind"]] for r in ans_c.rows
    )

    results = {
        "a_cost_tokens_by_model": {
            "ours_warm_s": ours_a,
            "ours_cold_s": ours_a_cold,
            "duckdb_warm_s": duck_a,
            "duckdb_cold_s": duck_a_cold,
            "ratio_warm": duck_a / ours_a,
            "ratio_cold": duck_a_cold / ours_a_cold,
            "answers_agree": agree_a,
            "source": ans_a.source,
        },
        "b_trace_by_id": {
            "ours_warm_s": ours_b,
            "ours_cold_s": ours_b_cold,
            "duckdb_warm_s": duck_b,
            "duckdb_cold_s": duck_b_cold,
            "ratio_warm": duck_b / ours_b,
            "ratio_cold": duck_b_cold / ours_b_cold,
        },
        "c_p95_by_kind": {
            "ours_warm_s": ours_c,
            "ours_cold_s": ours_c_cold,
            "duckdb_warm_s": duck_c,
            "duckdb_cold_s": duck_c_cold,
            "ratio_warm": duck_c / ours_c,
            "ratio_cold": duck_c_cold / ours_c_cold,
            "answers_agree_within_1pct": agree_c,
            "source": ans_c.source,
        },
    }
    return {
        "spans": n,
        "segments": segments,
        "simulated_hours": (last_start - first_start) / 3.6e12,
        "machine": {
            "cpu_count": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "duckdb": duckdb.__version__,
            "pyarrow": __import__("pyarrow").__version__,
        },
        "bytes_per_span": sizes,
        "bytes_ratio_parquet_lz4_over_ours": sizes["parquet_lz4"] / sizes["agenttrace_segments"],
        "write": {
            "spans_per_s_one_core": n / write_s,
            "seconds": write_s,
            "generate_seconds": gen_s,
            "compaction_seconds": compact_s,
        },
        "queries": results,
        "reps": reps,
    }


def _print(r: dict) -> None:
    m = r["machine"]
    print(
        f"\nAgentTrace store benchmark: {r['spans']:,} spans, {r['segments']} segments, "
        f"{r['simulated_hours']:.1f} h of simulated traffic"
    )
    print(f"machine: {m['cpu_count']} cores ({m['usable_cores']} usable), Python {m['python']}, {m['platform']}")
    print(f"comparison: DuckDB {m['duckdb']} over one Parquet (zstd) file written by pyarrow {m['pyarrow']}\n")
    print("bytes per span")
    for k, v in r["bytes_per_span"].items():
        print(f"  {k:<22} {v:8.1f}")
    print(f"  Parquet+LZ4 / ours: {r['bytes_ratio_parquet_lz4_over_ours']:.2f}x  (target >= 1.0)\n")
    w = r["write"]
    print(f"write: {w['spans_per_s_one_core']:,.0f} spans/s on one core ({w['seconds']:.1f} s)")
    if w["compaction_seconds"] is not None:
        print(f"compaction before the queries: {w['compaction_seconds']:.1f} s")
    print()
    print(f"queries (warm = median of {r['reps']}; cold = fresh engine / fresh DuckDB connection)")
    head = f"  {'query':<26}{'ours warm':>11}{'DuckDB warm':>13}{'ratio':>8}"
    print(head + f"{'ours cold':>11}{'DuckDB cold':>13}{'ratio':>8}")
    for name, q in r["queries"].items():
        print(
            f"  {name:<26}{q['ours_warm_s'] * 1e3:>9.2f}ms{q['duckdb_warm_s'] * 1e3:>11.2f}ms{q['ratio_warm']:>7.1f}x"
            f"{q['ours_cold_s'] * 1e3:>9.1f}ms{q['duckdb_cold_s'] * 1e3:>11.1f}ms{q['ratio_cold']:>7.1f}x"
        )
    qa, qc = r["queries"]["a_cost_tokens_by_model"], r["queries"]["c_p95_by_kind"]
    agree = f"(a) {qa['answers_agree']}, (c) p95 within 1%: {qc['answers_agree_within_1pct']}"
    print(f"\n  answers agree with DuckDB: {agree}")
    print("  targets: (a), (c) ratio >= 10; (b) ours < 50 ms at 10M spans")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one, removed)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--compact", action="store_true", help="run compaction (and hour rollups) before the queries")
    args = ap.parse_args(argv)
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        r = run(args.spans, args.reps, args.dir, args.seed, args.compact)
    else:
        with tempfile.TemporaryDirectory(prefix="agenttrace-bench-") as d:
            r = run(args.spans, args.reps, Path(d), args.seed, args.compact)
    _print(r)
    print("\n" + json.dumps(r, indent=2))
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
