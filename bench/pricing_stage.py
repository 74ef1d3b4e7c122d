"""Cost attribution throughput: what CostStage costs a collector worker per LLM span.

A batch of LLM spans with a realistic spread of model strings (exact names, provider
prefixes, Bedrock profiles, dated names, an alias, an unknown model) is priced by

* ``batch``: ``stage(spans)`` as a collector worker runs it (one match per distinct
  ``(model, provider)``, then a dict lookup per span);
* ``span``: ``stage([span])`` per span, with the match cache;
* ``nocache``: ``stage([span])`` per span with the match cache cleared first, i.e. the
  normaliser pipeline and catalogue lookups for every span (the comparison: what the
  cache saves).

Each repetition re-creates the spans (pricing edits them in place) outside the timed
region. Reported: median ns per span and spans per second of each, the ratio, the
machine's cores, and the time to load the shipped catalogue against ``json.loads`` of
the LiteLLM source file it was built from (when that file is present).

Usage::

    python bench/pricing_stage.py [--spans 20000] [--reps 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from agenttrace.model import Span, Usage
from agenttrace.pricing import CostStage
from agenttrace.pricing.catalogue import Catalogue

MODELS = [
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-sonnet-4-5-20250929", "anthropic"),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
    ("openrouter/anthropic/claude-3.5-sonnet", "openrouter"),
    ("gemini-2.5-pro", "google"),
    ("claude-sonnet-4-20250514", "anthropic"),
    ("prod-gpt4o", "azure"),
    ("deepseek-chat", "deepseek"),
    ("in-house-llm-v3", ""),  # unknown: counted
]
SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "litellm-model-prices.json"


def make_spans(n: int) -> list[Span]:
    out = []
    for i in range(n):
        model, provider = MODELS[i % len(MODELS)]
        out.append(
            Span(
                trace_id=b"t" * 16,
                span_id=i.to_bytes(8, "big"),
                name="chat",
                start_ns=i,
                end_ns=i + 1,
                kind="llm",
                model=model,
                provider=provider,
                usage=Usage(input_tokens=1_000 + i % 5_000, output_tokens=200, cache_read_tokens=i % 800),
                service_tier="batch" if i % 17 == 0 else "",
            )
        )
    return out


def time_stage(stage: CostStage, n: int, mode: str) -> float:
    """Median-able ns per span: ``batch`` = one call for all spans (as the worker runs it);
    ``span`` = one call per span; ``nocache`` = one call per span, match cache cleared first."""
    spans = make_spans(n)
    clear = stage.matcher.clear_cache
    t0 = time.perf_counter_ns()
    if mode == "batch":
        stage(spans)
    elif mode == "span":
        for s in spans:
            stage([s])
    else:
        for s in spans:
            clear()
            stage([s])
    return (time.perf_counter_ns() - t0) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    stage = CostStage.from_config({"aliases": {"prod-gpt4o": "azure/gpt-4o"}})
    batch: list[float] = []
    cached: list[float] = []
    uncached: list[float] = []
    for _ in range(args.reps):  # interleaved so drift hits all alike
        batch.append(time_stage(stage, args.spans, "batch"))
        cached.append(time_stage(stage, args.spans, "span"))
        uncached.append(time_stage(stage, max(args.spans // 10, 100), "nocache"))
    b, c, u = statistics.median(batch), statistics.median(cached), statistics.median(uncached)

    ref = Path(__import__("agenttrace.pricing", fromlist=["x"]).__file__).with_name("catalogue.json")
    raw = ref.read_bytes()
    load = []
    src_load = []
    src = SOURCE.read_bytes() if SOURCE.exists() else None
    for _ in range(args.reps):
        t0 = time.perf_counter_ns()
        Catalogue.from_bytes(raw)
        load.append((time.perf_counter_ns() - t0) / 1e6)
        if src is not None:
            t0 = time.perf_counter_ns()
            json.loads(src)
            src_load.append((time.perf_counter_ns() - t0) / 1e6)

    result = {
        "benchmark": "pricing_stage",
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "spans": args.spans,
        "reps": args.reps,
        "batch_ns_per_span": round(b, 1),
        "batch_spans_per_s": round(1e9 / b),
        "cached_ns_per_span": round(c, 1),
        "cached_spans_per_s": round(1e9 / c),
        "uncached_ns_per_span": round(u, 1),
        "uncached_spans_per_s": round(1e9 / u),
        "ratio_uncached_over_cached": round(u / c, 2),
        "catalogue_load_ms": round(statistics.median(load), 2),
        "catalogue_bytes": len(raw),
        "litellm_json_loads_ms": round(statistics.median(src_load), 2) if src_load else None,
        "litellm_bytes": len(src) if src is not None else None,
    }
    print(f"pricing stage, {result['cores']} cores, Python {result['python']}, median of {args.reps} reps")
    print(f"  {'':<40}{'ns/span':>10}{'spans/s':>14}")
    print(f"  {'stage(batch), as a worker runs it':<40}{b:>10.0f}{1e9 / b:>14,.0f}")
    print(f"  {'stage([span]), match cache':<40}{c:>10.0f}{1e9 / c:>14,.0f}")
    print(f"  {'stage([span]), cache cleared each span':<40}{u:>10.0f}{1e9 / u:>14,.0f}")
    print(f"  ratio no-cache / cache (per-span calls): {u / c:.1f}x")
    line = f"  catalogue load: {result['catalogue_load_ms']} ms ({len(raw):,} bytes)"
    if src_load:
        line += f"; json.loads of the LiteLLM source: {result['litellm_json_loads_ms']} ms ({len(src):,} bytes)"
    print(line)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
