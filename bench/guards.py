"""What the guards cost a worker: its hot path with and without ``GuardStage``, same run.

    .venv/bin/python bench/guards.py                   # 100,000 spans, 5 rounds
    .venv/bin/python bench/guards.py --spans 200000 --rounds 7

Runs ``bench/worker_path.py``'s single-process worker path (decode → cost stage → WAL
append → seal with rollup, on a temporary data directory) over the same datagrams, once
without and once with the guards (secrets, personal data, injection markers, loops; the
default ``[guards]`` config), alternating so that machine load hits both alike. The
figure is spans per CPU-second (median of the rounds) and the throughput the guards cost,
against the target of at most 10 %. Synthetic traffic (``agenttrace.store.synthetic``)
carries prompts, outputs and tool inputs in its content previews, as captured content does.
Writes the figures as JSON with the git commit to ``bench/results/guards.json``.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import worker_path

from agenttrace.guards import GuardStage


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default="bench/results/guards.json")
    args = ap.parse_args()
    grams = worker_path._datagrams(args.spans, "synthetic")
    runs: dict[str, list[float]] = {"without": [], "with": []}
    findings = 0
    for _ in range(args.rounds):
        for label in ("without", "with"):
            stage = GuardStage()
            with tempfile.TemporaryDirectory(prefix="at-guards-bench-") as d:
                r = worker_path._run_once(grams, d, (stage,) if label == "with" else ())
            runs[label].append(r["spans_per_cpu_s"])
            if label == "with":
                findings = sum(stage.counts.values())
    without, with_ = statistics.median(runs["without"]), statistics.median(runs["with"])
    cost = 1 - with_ / without
    cores = os.cpu_count()
    print(f"guards on the worker hot path: {args.spans:,} synthetic spans x {args.rounds} rounds, {cores} cores")
    print(f"{'worker path':<26}{'spans/CPU-s':>14}{'µs/span':>10}")
    print(f"{'without guards':<26}{without:>14,.0f}{1e6 / without:>10.2f}")
    print(f"{'with guards (default)':<26}{with_:>14,.0f}{1e6 / with_:>10.2f}")
    verdict = "met" if cost <= 0.10 else "MISSED"
    print(f"throughput the guards cost: {cost:.1%} (target ≤ 10%: {verdict}); findings in the traffic: {findings:,}")
    doc = {
        "bench": "guards",
        "commit": _commit(),
        "cores": cores,
        "python": platform.python_version(),
        "spans": args.spans,
        "rounds": args.rounds,
        "spans_per_cpu_s": {"without": without, "with": with_},
        "runs": runs,
        "throughput_cost": cost,
        "findings": findings,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
