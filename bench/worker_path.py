"""A worker's hot path in one process: decode → enrichment stages → store → metrics.

    .venv/bin/python bench/worker_path.py                       # compiled and twins, 3 repeats
    .venv/bin/python bench/worker_path.py --spans 200000 --json bench/results/worker_path.json
    .venv/bin/python bench/worker_path.py --builds compiled --traffic ingest
    .venv/bin/python bench/worker_path.py --no-gc                # what the cyclic GC costs

No sockets, rings or subprocess workers: datagrams are built up front (``wire.batch`` of
spans from :mod:`agenttrace.store.synthetic`, or the uniform spans ``bench/ingest.py``
sends with ``--traffic ingest``), then fed ``BATCH`` (256) at a time through exactly what
``agenttrace.collector.worker._Worker._process`` and ``_tick`` call: ``decode_batch``,
the stages of ``build_stages`` (cost attribution), ``SegmentWriter.append_batch`` +
``tick`` on a temporary data directory (WAL, pending spans, seals of ``seal_rows``
spans with their rollup section) and ``DomainCounters.observe``.

Each build (``compiled`` = the Cython modules, ``twin`` = ``AGENTTRACE_NO_EXTENSIONS=1``)
runs in a fresh subprocess. The figure is **spans per CPU-second** of that process
(``time.process_time``), the median of ``--repeats`` runs, with the per-stage split in
µs per span (the stages add up to the total, bar loop overhead). A span's LLM cost is
cleared before sending so the cost stage really prices it (as it does for SDKs that
send no cost). The ratio line compares the two builds measured in this same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STAGES = ("decode", "bounds", "cost", "wal_append", "seal_rollup", "seal_columns", "metrics")


def _datagrams(n_spans: int, traffic: str) -> list[bytes]:
    from agenttrace import wire
    from agenttrace.model import Span, Usage
    from agenttrace.store.synthetic import generate_spans

    if traffic == "ingest":
        now = time.time_ns()
        spans = [
            Span(
                trace_id=(i // 50).to_bytes(16, "little"),
                span_id=(i + 1).to_bytes(8, "little"),
                name="chat.completions",
                start_ns=now,
                end_ns=now + 850_000_000,
                kind="llm",
                status=1,
                session_id=f"sess-{i // 50 % 16}",
                service="bench-agent",
                model="gpt-4o-mini",
                provider="openai",
                usage=Usage(input_tokens=1200, output_tokens=180, cache_read_tokens=600),
                attributes={"attempt": 1},
            )
            for i in range(n_spans)
        ]
        return [wire.encode(spans[i : i + 50], sender_id=1, seq=i // 50, compress=False) for i in range(0, n_spans, 50)]
    spans = list(generate_spans(n_spans, seed=7))
    for s in spans:
        if s.usage is not None:
            s.cost_usd = None  # the collector prices it
            s.cost_source = ""
    return wire.batch(spans, 8192, sender_id=1, seq=0)


def _run_once(grams: list[bytes], data_dir: str, extra_stages: tuple[Any, ...] = ()) -> dict[str, Any]:
    import agenttrace.store.writer as writer_mod
    from agenttrace._native import is_compiled, load
    from agenttrace.collector.counters import DomainCounters
    from agenttrace.pricing import CostStage
    from agenttrace.store.writer import SegmentWriter, WriterConfig

    decode_batch = load("decode").decode_batch
    try:  # the range guard (agenttrace/bounds.py, compiled: _native/bounds.pyx); absent before it
        sanitize_batch = load("bounds").sanitize_batch
    except ImportError:
        sanitize_batch = None
    stages = [CostStage.from_config(None), *extra_stages]  # extra: bench/guards.py adds the guards
    domain = DomainCounters(64)
    writer = SegmentWriter(data_dir, 0, WriterConfig())
    writer.open()
    split = dict.fromkeys(STAGES, 0.0)
    clock = time.process_time
    # Time the seal (CPU, so the fsync's wait is left out) and its rollup part by wrapping
    # the writer's own functions; the wrappers cost two clock reads per seal.
    seal_cpu = [0.0, 0.0]
    real_seal, real_rollup = writer._seal, writer_mod._rollup_bytes

    def timed_seal() -> Any:
        t = clock()
        try:
            return real_seal()
        finally:
            seal_cpu[0] += clock() - t

    def timed_rollup(spans: Any) -> Any:
        t = clock()
        try:
            return real_rollup(spans)
        finally:
            seal_cpu[1] += clock() - t

    writer._seal = timed_seal
    writer_mod._rollup_bytes = timed_rollup
    spans_total = 0
    batch = 256
    t_start = clock()
    try:
        for i in range(0, len(grams), batch):
            t0 = clock()
            good, _errors = decode_batch(grams[i : i + batch])
            tb = clock()
            if sanitize_batch is not None:
                sanitize_batch(good, time.time_ns())
            tb1 = clock()
            all_spans = [s for _, spans in good for s in spans] if len(good) > 1 else good[0][1]
            t1 = clock()
            for stage in stages:
                stage(all_spans)
            t2 = clock()
            writer.append_batch(good)
            writer.tick()
            t3 = clock()
            domain.observe(all_spans)
            t4 = clock()
            spans_total += len(all_spans)
            split["decode"] += t1 - t0 - (tb1 - tb)
            split["bounds"] += tb1 - tb
            split["cost"] += t2 - t1
            split["wal_append"] += t3 - t2
            split["metrics"] += t4 - t3
        t0 = clock()
        writer.close()
        split["wal_append"] += clock() - t0
    finally:
        writer_mod._rollup_bytes = real_rollup
    split["wal_append"] -= seal_cpu[0]
    split["seal_rollup"] = seal_cpu[1]
    split["seal_columns"] = seal_cpu[0] - seal_cpu[1]
    cpu = clock() - t_start
    return {
        "compiled": is_compiled(load("columns")),
        "spans": spans_total,
        "cpu_s": cpu,
        "spans_per_cpu_s": spans_total / cpu,
        "us_per_span": {k: v / spans_total * 1e6 for k, v in split.items()},
    }


def child(args: argparse.Namespace) -> None:
    import gc

    grams = _datagrams(args.spans, args.traffic)
    # What the worker does after startup (see worker.py).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    if args.no_gc:
        gc.disable()  # to see what the cyclic GC costs on this path
    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="at-worker-path-") as d:
            runs.append(_run_once(grams, d))
    print(json.dumps(runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--builds", default="compiled,twin")
    ap.add_argument("--traffic", choices=("synthetic", "ingest"), default="synthetic")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--no-gc", action="store_true", help="disable the cyclic GC (shows its share of the time)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    results: dict[str, Any] = {}
    for build in args.builds.split(","):
        env = dict(os.environ)
        env.pop("AGENTTRACE_NO_EXTENSIONS", None)
        if build == "twin":
            env["AGENTTRACE_NO_EXTENSIONS"] = "1"
        cmd = [sys.executable, __file__, "--child", "--spans", str(args.spans), "--repeats", str(args.repeats)]
        cmd += ["--traffic", args.traffic] + (["--no-gc"] if args.no_gc else [])
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        runs = json.loads(out.strip().splitlines()[-1])
        best = statistics.median(r["spans_per_cpu_s"] for r in runs)
        split = {k: statistics.median(r["us_per_span"][k] for r in runs) for k in STAGES}
        results[build] = {"median_spans_per_cpu_s": best, "us_per_span": split, "runs": runs}
    cores = os.cpu_count()
    print(f"worker hot path, {args.traffic} traffic, {args.spans} spans x {args.repeats} repeats, {cores} cores")
    head = f"{'build':<10}{'spans/CPU-s':>14}" + "".join(f"{k:>13}" for k in STAGES) + f"{'total µs':>11}"
    print(head)
    for build, r in results.items():
        split = r["us_per_span"]
        row = f"{build:<10}{r['median_spans_per_cpu_s']:>14,.0f}" + "".join(f"{split[k]:>13.2f}" for k in STAGES)
        print(row + f"{1e6 / r['median_spans_per_cpu_s']:>11.2f}")
    print("(stage columns: µs of CPU per span, median of the repeats)")
    if "compiled" in results and "twin" in results:
        ratio = results["compiled"]["median_spans_per_cpu_s"] / results["twin"]["median_spans_per_cpu_s"]
        print(f"compiled / twin: {ratio:.2f}x")
    if args.json:
        doc = {
            "bench": "worker_path",
            "cores": cores,
            "python": platform.python_version(),
            "spans": args.spans,
            "traffic": args.traffic,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
