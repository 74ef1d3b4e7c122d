"""What the one bill formula costs the cost stage: CostStage (which calls
``pricing.calculate.bill_atto`` per span) against the same stage with the formula
inlined in its loop, as it was before the formula had one home.

Both price the same batches (bench/pricing_stage.py's spread of models), interleaved
rep by rep so a loaded machine slows both alike; reported: the minimum and median ns per
span of each, their ratio, the machine's cores, and that both give the same floats.

Usage::

    python bench/cost_formula.py [--spans 20000] [--reps 31] [--json bench/results/cost_formula.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from agenttrace.model import CostSource, Span
from agenttrace.pricing import CostStage
from agenttrace.pricing.calculate import ATTO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pricing_stage import make_spans  # the same batches as the stage benchmark

_MISSING = object()


class InlinedStage(CostStage):
    """CostStage.__call__ with the bill formula written out in the loop (the comparison)."""

    def __call__(self, spans: list[Span]) -> None:
        groups: dict = {}
        sdk_source, unknown_source = CostSource.SDK.value, CostSource.UNKNOWN.value
        priced = 0
        for span in spans:
            if span.cost_usd is not None:
                if not span.cost_source:
                    span.cost_source = sdk_source
                    self.sdk += 1
                continue
            usage = span.usage
            if usage is None:
                continue
            key = (span.model, span.provider, span.service_tier)
            group = groups.get(key, _MISSING)
            if group is _MISSING:
                group = groups[key] = self._group(*key)
            if group is None:
                span.cost_source = unknown_source
                self.unknown += 1
                self._count_unknown(span.model)
                continue
            prices, source, tier, fixed = group
            cr = usage.cache_read_tokens
            if cr < 0:
                cr = 0
            cw1h = usage.cache_write_1h_tokens
            if cw1h < 0:
                cw1h = 0
            cw = usage.cache_write_tokens
            if cw < cw1h:
                cw = cw1h
            total_in = usage.input_tokens
            if total_in < cr + cw:
                total_in = cr + cw
            rsn = usage.reasoning_tokens
            if rsn < 0:
                rsn = 0
            out = usage.output_tokens
            if out < rsn:
                out = rsn
            r = fixed if fixed is not None else prices.rates(prices.threshold_for(total_in), tier)
            span.cost_usd = (
                (total_in - cr - cw) * r.input
                + cr * r.cache_read
                + (cw - cw1h) * r.cache_write
                + cw1h * r.cache_write_1h
                + (out - rsn) * r.output
                + rsn * r.reasoning
            ) / ATTO
            span.cost_source = source
            priced += 1
        self.priced += priced


def _ns_per_span(stage: CostStage, n: int) -> float:
    spans = make_spans(n)
    t0 = time.perf_counter_ns()
    stage(spans)
    return (time.perf_counter_ns() - t0) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=31)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    one, inlined = CostStage(), InlinedStage()
    a, b = make_spans(args.spans), make_spans(args.spans)
    one(a)
    inlined(b)
    same = [s.cost_usd for s in a] == [s.cost_usd for s in b]
    t_one: list[float] = []
    t_inl: list[float] = []
    for _ in range(args.reps):
        t_one.append(_ns_per_span(one, args.spans))
        t_inl.append(_ns_per_span(inlined, args.spans))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    result = {
        "benchmark": "cost_formula",
        "commit": commit,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "spans": args.spans,
        "reps": args.reps,
        "bill_atto_min_ns": round(min(t_one), 1),
        "bill_atto_median_ns": round(statistics.median(t_one), 1),
        "inlined_min_ns": round(min(t_inl), 1),
        "inlined_median_ns": round(statistics.median(t_inl), 1),
        "ratio_min": round(min(t_one) / min(t_inl), 3),
        "ratio_median": round(statistics.median(t_one) / statistics.median(t_inl), 3),
        "same_floats": same,
    }
    cores, py = result["cores"], result["python"]
    print(f"cost formula in CostStage, {cores} cores, Python {py}, {args.reps} interleaved reps")
    print(f"  {'':<44}{'min ns/span':>12}{'median':>10}")
    print(f"  {'CostStage (calculate.bill_atto per span)':<44}{min(t_one):>12.0f}{statistics.median(t_one):>10.0f}")
    print(f"  {'same stage, formula inlined (the comparison)':<44}{min(t_inl):>12.0f}{statistics.median(t_inl):>10.0f}")
    print(f"  ratio one formula / inlined: {result['ratio_min']:.2f}x (min), {result['ratio_median']:.2f}x (median)")
    print(f"  same floats, bit for bit: {same}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
