"""SDK overhead: what one span costs the agent's thread, AgentTrace against OpenTelemetry.

Both run in this process, interleaved repetition by repetition:

* AgentTrace: ``with at.span("step", kind="tool", a=1, b="two", c=3.0): pass``, emitting
  over UDP to a local socket (bound, never read: the kernel discards what overflows,
  as a busy collector would).
* OpenTelemetry SDK: ``with tracer.start_as_current_span("step", attributes={...}): pass``
  with a ``BatchSpanProcessor`` around an exporter that does nothing.

Each repetition times a loop of ``--spans`` spans (50,000 by default: long enough that
the background threads' work falls inside the measurement, and long enough that a queue
may overflow), then flushes. Reported per span, median over repetitions:
``process_cpu_us`` (``process_time_ns`` over the loop *and* the flush: everything the
SDK costs the process, agent thread and background thread together — the number the
target is about), ``cpu_us`` (``time.thread_time_ns``: the agent thread only) and
``wall_us``. Spans an SDK dropped in a repetition (a full queue) cost it less, so the
drops are reported next to the figures: AgentTrace's from ``at.stats()``, OpenTelemetry's
as spans its exporter never received.

Usage::

    python bench/sdk_overhead.py [--spans 50000] [--reps 5] [--json bench/results/sdk_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def agenttrace_loop(n: int) -> Callable[[], None]:
    import agenttrace as at

    span = at.span

    def run() -> None:
        for _ in range(n):
            with span("step", kind="tool", a=1, b="two", c=3.0):
                pass

    return run


def otel_setup() -> tuple[Any, Callable[[], None]]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class NullExporter(SpanExporter):
        exported = 0

        def export(self, spans: Any) -> SpanExportResult:
            NullExporter.exported += len(spans)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NullExporter()))
    provider.exported = lambda: NullExporter.exported  # type: ignore[attr-defined]
    return provider, lambda: provider.force_flush()


def otel_loop(provider: Any, n: int) -> Callable[[], None]:
    tracer = provider.get_tracer("bench")
    start = tracer.start_as_current_span

    def run() -> None:
        for _ in range(n):
            with start("step", attributes={"a": 1, "b": "two", "c": 3.0}):
                pass

    return run


def empty_loop(n: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            pass

    return run


def timed(fn: Callable[[], None], flush: Callable[[], object], n: int) -> tuple[float, float, float]:
    p0 = time.process_time_ns()
    c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
    fn()
    c1, w1 = time.thread_time_ns(), time.perf_counter_ns()
    flush()
    p1 = time.process_time_ns()
    return (c1 - c0) / n / 1000, (w1 - w0) / n / 1000, (p1 - p0) / n / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=50_000, help="spans per timed loop (default 50000)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions; medians are reported (default 5)")
    parser.add_argument(
        "--json",
        metavar="PATH",
        default="bench/results/sdk_overhead.json",
        help="write the results as JSON here ('-' for stdout; default bench/results/sdk_overhead.json)",
    )
    args = parser.parse_args(argv)

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    import agenttrace as at

    at.configure(endpoint=f"udp://127.0.0.1:{sink.getsockname()[1]}", service="bench")
    provider, otel_flush = otel_setup()

    n = args.spans
    runs = {
        "agenttrace": (agenttrace_loop(n), lambda: at.flush(10)),
        "opentelemetry": (otel_loop(provider, n), otel_flush),
        "empty_loop": (empty_loop(n), lambda: None),
    }
    for fn, flush in runs.values():  # warm up caches, lazy imports, background threads
        fn()
        flush()
    samples: dict[str, list[tuple[float, float, float]]] = {k: [] for k in runs}
    dropped: dict[str, list[int]] = {"agenttrace": [], "opentelemetry": []}
    counts = {
        "agenttrace": lambda: at.stats()["dropped_total"],
        "opentelemetry": lambda: -provider.exported(),  # spans that never reached the exporter
    }
    for _ in range(args.reps):
        for key, (fn, flush) in runs.items():
            before = counts[key]() if key in counts else 0
            samples[key].append(timed(fn, flush, n))
            if key in counts:
                after = counts[key]()
                dropped[key].append(after - before + (n if key == "opentelemetry" else 0))

    result: dict[str, Any] = {
        "benchmark": "sdk_overhead",
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
        "spans_per_rep": n,
        "reps": args.reps,
        "commit": _git_commit(),
    }
    for key, rows in samples.items():
        result[key] = {
            "cpu_us_median": statistics.median(r[0] for r in rows),
            "wall_us_median": statistics.median(r[1] for r in rows),
            "process_cpu_us_median": statistics.median(r[2] for r in rows),
        }
    ours, theirs = result["agenttrace"], result["opentelemetry"]
    result["ratio_cpu"] = ours["cpu_us_median"] / theirs["cpu_us_median"]
    result["ratio_wall"] = ours["wall_us_median"] / theirs["wall_us_median"]
    result["ratio_process_cpu"] = ours["process_cpu_us_median"] / theirs["process_cpu_us_median"]
    result["target_ratio"] = 0.1
    result["meets_target"] = result["ratio_process_cpu"] <= 0.1  # the target is process CPU
    result["dropped_per_rep"] = dropped
    st = at.stats()
    result["agenttrace_stats"] = {k: st[k] for k in ("emitted", "sent", "dropped", "datagrams_sent")}
    # The same loop with the SDK disabled (AGENTTRACE_DISABLED=1 / configure(disabled=True)).
    at.configure(disabled=True)
    disabled_loop = agenttrace_loop(n)
    disabled_loop()
    rows = [timed(disabled_loop, lambda: None, n) for _ in range(args.reps)]
    result["agenttrace_disabled"] = {
        "cpu_us_median": statistics.median(r[0] for r in rows),
        "wall_us_median": statistics.median(r[1] for r in rows),
        "process_cpu_us_median": statistics.median(r[2] for r in rows),
    }
    at.shutdown()
    provider.shutdown()

    print(
        f"SDK overhead per span (median of {args.reps} x {n} spans; {os.cpu_count()} cores, Python {result['python']})"
    )
    print(f"{'':<20}{'cpu µs/span':>14}{'wall µs/span':>14}{'process cpu':>14}")
    for key in ("agenttrace", "opentelemetry", "agenttrace_disabled", "empty_loop"):
        r = result[key]
        print(f"{key:<20}{r['cpu_us_median']:>14.3f}{r['wall_us_median']:>14.3f}{r['process_cpu_us_median']:>14.3f}")
    print(
        f"ratio agenttrace/opentelemetry: process cpu {result['ratio_process_cpu']:.3f} "
        f"(target <= 0.100: {'met' if result['meets_target'] else 'NOT met'}), "
        f"agent-thread cpu {result['ratio_cpu']:.3f}, wall {result['ratio_wall']:.3f}"
    )
    print(f"spans dropped per repetition: agenttrace {dropped['agenttrace']}, opentelemetry {dropped['opentelemetry']}")
    print(f"agenttrace stats: {result['agenttrace_stats']}")
    if args.json:
        text = json.dumps(result, indent=2)
        if args.json == "-":
            print(text)
        else:
            os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
            with open(args.json, "w") as fh:
                fh.write(text + "\n")
            print(f"wrote {args.json}")
    return 0


def _git_commit() -> str:
    import subprocess

    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
