"""Ring throughput: one producer process pushes, this process pops; compiled vs twin.

    .venv/bin/python bench/ring.py                  # defaults: 100 and 1000-byte messages
    .venv/bin/python bench/ring.py --sizes 64 4096 --repeats 7 --json bench/results/ring.json

For every message size and build it runs the transfer ``--repeats`` times and prints
the median messages/s and GB/s (payload bytes), the machine's cores, and the ratio
compiled/twin measured in this run. The last line is the same data as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time


def _ring_module(build: str):
    return importlib.import_module("agenttrace._native.ring" + ("_py" if build == "twin" else ""))


def _produce(build: str, name: str, count: int, size: int, go) -> None:
    ring = _ring_module(build).Ring.attach(name)
    msg = bytes(range(256)) * (size // 256) + bytes(size % 256)
    push = ring.push
    yield_cpu = os.sched_yield
    go.wait()
    for _ in range(count):
        while not push(msg):
            yield_cpu()  # full: let the consumer (maybe on this core) drain
    ring.close()


def transfer(build: str, count: int, size: int) -> float:
    """Seconds to move ``count`` messages of ``size`` bytes from a child process to this one."""
    mod = _ring_module(build)
    ring = mod.Ring.create(8 << 20, max_record=max(size, 16))
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    proc = ctx.Process(target=_produce, args=(build, ring.name, count, size, go))
    proc.start()
    got = 0
    pop_many = ring.pop_many
    try:
        time.sleep(0.05)  # let the child reach go.wait()
        t0 = time.perf_counter()
        go.set()
        while got < count:
            n = len(pop_many(4096))
            got += n
            if not n:
                os.sched_yield()
        elapsed = time.perf_counter() - t0
    finally:
        proc.join()
        ring.close()
        ring.unlink()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--messages", type=int, default=1_000_000, help="per compiled run")
    ap.add_argument("--twin-messages", type=int, default=100_000, help="per twin run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", help="also write the JSON result to this file")
    args = ap.parse_args(argv)

    try:
        _ring_module("compiled")
        builds = ["compiled", "twin"]
    except ImportError:
        print("agenttrace._native.ring is not compiled: measuring the twin only", file=sys.stderr)
        builds = ["twin"]
    cores = len(os.sched_getaffinity(0))
    print(f"ring throughput, 2 processes (producer → consumer); {cores} cores usable, {platform.machine()}")
    print(f"{'size':>6} {'build':>9} {'messages':>10} {'median s':>9} {'msgs/s':>12} {'GB/s':>7}")
    results = []
    for size in args.sizes:
        row = {"size": size}
        for build in builds:
            count = args.messages if build == "compiled" else args.twin_messages
            times = [transfer(build, count, size) for _ in range(args.repeats)]
            med = statistics.median(times)
            rate = count / med
            row[build] = {
                "messages": count,
                "median_s": med,
                "msgs_per_s": rate,
                "gb_per_s": rate * size / 1e9,
                "runs_s": times,
            }
            print(f"{size:>6} {build:>9} {count:>10} {med:>9.3f} {rate:>12,.0f} {rate * size / 1e9:>7.3f}")
        if len(builds) == 2:
            row["ratio_compiled_over_twin"] = row["compiled"]["msgs_per_s"] / row["twin"]["msgs_per_s"]
            print(f"{size:>6} {'ratio':>9} compiled/twin msgs/s = {row['ratio_compiled_over_twin']:.1f}x")
        results.append(row)
    out = {"bench": "ring", "cores": cores, "machine": platform.machine(), "repeats": args.repeats, "results": results}
    line = json.dumps(out)
    print(line)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
