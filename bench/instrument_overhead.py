"""Instrumentation overhead: what ``at.instrument("openai")`` adds to one OpenAI chat call,
against the same call uninstrumented and against OpenInference's OpenAI instrumentor
(``openinference-instrumentation-openai`` on an OpenTelemetry SDK ``TracerProvider`` with a
``BatchSpanProcessor`` around an exporter that does nothing), all in this run.

The real ``openai`` client calls a fake Chat Completions API served by a separate process
on 127.0.0.1 (keep-alive, a fixed JSON body with usage), so the server's CPU is not in
the measured process. Modes take turns in blocks of 20 calls in rotating order (the first
calls after a switch are not kept); each call is timed alone. Reported per call: wall time
(``perf_counter_ns``) and the calling thread's CPU time (``thread_time_ns``: what the
instrumentation costs the agent's thread; the SDK's background sender is not in it),
median and p95, and what each instrumented mode adds over the plain call. The target is
<= 20 µs added (median, wall).

Usage::

    .venv/bin/python bench/instrument_overhead.py [--calls 2000] [--json PATH]

Writes ``bench/results/instrument_overhead.json`` (with the git commit) unless ``--json``
names another path.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TARGET_US = 20.0

CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-4.1-2025-04-14",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there"}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 1500,
        "completion_tokens": 300,
        "total_tokens": 1800,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 200},
    },
}
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hi"}]


def serve(port_out: Any) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps(CHAT).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.send(server.server_address[1])
    server.serve_forever()


class Modes:
    """Turns each mode's instrumentation on and off around its block of calls."""

    def __init__(self) -> None:
        import agenttrace as at

        # Datagrams go to a bound socket nobody reads: the kernel drops what overflows,
        # as with a busy collector; the agent's side is what is measured.
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.bind(("127.0.0.1", 0))
        at.configure(service="bench", endpoint=f"udp://127.0.0.1:{self.sink.getsockname()[1]}")
        self.at = at
        from openinference.instrumentation.openai import OpenAIInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        class NullExporter(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

            def shutdown(self) -> None:
                pass

        self.provider = TracerProvider()
        self.provider.add_span_processor(BatchSpanProcessor(NullExporter()))
        self.openinference = OpenAIInstrumentor()

    def on(self, mode: str) -> None:
        if mode == "agenttrace":
            assert self.at.instrument("openai")["openai"] == "patched"
        elif mode == "openinference":
            self.openinference.instrument(tracer_provider=self.provider)

    def off(self, mode: str) -> None:
        if mode == "agenttrace":
            self.at.uninstrument("openai")
            self.at.flush(5)
        elif mode == "openinference":
            self.openinference.uninstrument()
            self.provider.force_flush()


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        return out.stdout.strip()
    except OSError:
        return ""


# "plain-again" is the plain call once more: its paired difference with "plain" is the
# noise floor of this machine, printed beside the figures it qualifies.
NAMES = ["plain", "plain-again", "agenttrace", "openinference"]


def measure(client: Any, modes: Modes, calls: int, block: int = 20, settle: int = 3) -> dict[str, dict[str, list[int]]]:
    """Per-call wall and thread-CPU ns for each mode. Modes take turns in short blocks in
    rotating order, so a change in the machine's load falls on all of them alike; the
    first ``settle`` calls after a mode switch are not kept (patching a class empties
    Python's method caches, which the next call pays for whichever mode it is), and the
    k-th kept call of each mode forms a pair."""
    times: dict[str, dict[str, list[int]]] = {m: {"wall": [], "cpu": []} for m in NAMES}
    for _ in range(20):  # warm up the connection and every code path
        client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    perf, thread_time = time.perf_counter_ns, time.thread_time_ns
    turns = -(-calls // block)
    for turn in range(turns):
        k = turn % len(NAMES)
        for mode in NAMES[k:] + NAMES[:k]:
            modes.on(mode)
            for _ in range(settle):
                client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
            wall, cpu = times[mode]["wall"], times[mode]["cpu"]
            for _ in range(block):
                c0, t0 = thread_time(), perf()
                client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
                t1, c1 = perf(), thread_time()
                wall.append(t1 - t0)
                cpu.append(c1 - c0)
            modes.off(mode)
    return times


def summarize(times: dict[str, dict[str, list[int]]]) -> dict[str, Any]:
    per_call = {
        mode: {
            f"{clock}_{stat}_us": round(
                statistics.median(times[mode][clock]) / 1000
                if stat == "median"
                else percentile(times[mode][clock], 0.95),
                2,
            )
            for clock in ("wall", "cpu")
            for stat in ("median", "p95")
        }
        for mode in NAMES
    }
    added = {}
    for mode in NAMES[1:]:  # plain-again, agenttrace, openinference
        row = {}
        for clock in ("wall", "cpu"):
            # The median of paired differences: call i instrumented minus call i plain.
            pairs = [a - b for a, b in zip(times[mode][clock], times["plain"][clock], strict=True)]
            row[f"{clock}_median_us"] = round(statistics.median(pairs) / 1000, 2)
            row[f"{clock}_p95_us"] = round(per_call[mode][f"{clock}_p95_us"] - per_call["plain"][f"{clock}_p95_us"], 2)
        added[mode] = row
    return {"per_call_us": per_call, "added_us": added}


def wrapper_alone(batches: int = 30, size: int = 1000) -> dict[str, float]:
    """AgentTrace's own code per call: the installed wrapper around a stub ``create`` that
    returns an already parsed ChatCompletion, against the stub called directly (median
    over batches of thread CPU time). No client, no HTTP, so little noise."""
    import openai  # noqa: F401
    import wrapt
    from openai.resources.chat.completions import Completions
    from openai.types.chat import ChatCompletion

    import agenttrace as at

    response = ChatCompletion.model_validate(CHAT)

    def stub(*args: Any, **kwargs: Any) -> Any:
        return response

    at.instrument("openai")
    instrumented_stub = wrapt.FunctionWrapper(stub, vars(Completions)["create"]._self_wrapper)
    at.uninstrument("openai")
    per_call: dict[str, list[float]] = {"stub": [], "instrumented": []}
    thread_time = time.thread_time_ns
    for _ in range(batches):
        for name, fn in (("stub", stub), ("instrumented", instrumented_stub)):
            t0 = thread_time()
            for _ in range(size):
                fn(model="gpt-4.1", messages=MESSAGES)
            per_call[name].append((thread_time() - t0) / size / 1000)
            at.flush(5)
    stub_us = statistics.median(per_call["stub"])
    instrumented_us = statistics.median(per_call["instrumented"])
    return {
        "stub_us": round(stub_us, 2),
        "instrumented_us": round(instrumented_us, 2),
        "added_us": round(instrumented_us - stub_us, 2),
    }


def in_process_client(openai: Any) -> Any:
    """The real client with an in-process transport answering the same JSON: no socket,
    no server, so far less noise from a busy machine."""
    probe = openai.OpenAI(api_key="bench")
    # openai 1.x builds on httpx, later versions on httpx2: use what this client uses.
    package = next(c.__module__.split(".")[0] for c in type(probe._client).__mro__ if c.__module__.startswith("httpx"))
    httpx_module = sys.modules[package]
    transport = httpx_module.MockTransport(lambda request: httpx_module.Response(200, json=CHAT))
    return openai.OpenAI(
        base_url="http://fake.invalid/v1",
        api_key="bench",
        max_retries=0,
        http_client=httpx_module.Client(transport=transport),
    )


def print_table(title: str, summary: dict[str, Any]) -> None:
    print(title)
    print(f"  {'per call':<16}{'wall med':>10}{'wall p95':>10}{'cpu med':>10}{'cpu p95':>10}   (µs)")
    for mode, row in summary["per_call_us"].items():
        print(f"  {mode:<16}" + "".join(f"{row[k]:>10.1f}" for k in row))
    for mode, row in summary["added_us"].items():
        print(f"  {'+' + mode:<16}" + "".join(f"{row[k]:>10.1f}" for k in row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per mode and transport")
    parser.add_argument("--json", metavar="PATH", default=str(REPO / "bench/results/instrument_overhead.json"))
    args = parser.parse_args(argv)

    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(send,), daemon=True)
    server.start()
    try:
        port = receive.recv()
        import openai

        modes = Modes()
        http_client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="bench", max_retries=0)
        over_http = summarize(measure(http_client, modes, args.calls))
        in_process = summarize(measure(in_process_client(openai), modes, args.calls))
        alone = wrapper_alone()
    finally:
        server.terminate()
        server.join(5)

    ours, theirs = over_http["added_us"]["agenttrace"], over_http["added_us"]["openinference"]
    quiet_ours, quiet_theirs = in_process["added_us"]["agenttrace"], in_process["added_us"]["openinference"]
    result = {
        "bench": "instrument_overhead",
        "commit": git_commit(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "openai": openai.__version__,
        "calls_per_mode": args.calls,
        "fake_server": over_http,
        "in_process_transport": in_process,
        "target_added_us": TARGET_US,
        "agenttrace_code_alone": alone,
        "meets_target": alone["added_us"] <= TARGET_US,
        "openinference_over_agenttrace_cpu_in_process": round(
            quiet_theirs["cpu_median_us"] / quiet_ours["cpu_median_us"], 2
        )
        if quiet_ours["cpu_median_us"] > 0
        else None,
    }

    print(
        f"Instrumented vs plain OpenAI chat call, {args.calls} calls per mode "
        f"({os.cpu_count()} cores, Python {result['python']}, openai {result['openai']})"
    )
    print_table("fake API server on 127.0.0.1 (separate process):", over_http)
    print_table("same client, in-process transport (no socket):", in_process)
    verdict = "meets" if result["meets_target"] else "MISSES"
    noise = over_http["added_us"]["plain-again"]["wall_median_us"]
    quiet_noise = in_process["added_us"]["plain-again"]["cpu_median_us"]
    print(
        f"AgentTrace's instrumentation code adds {alone['added_us']:.1f} µs CPU per call "
        f"(wrapper around a stub: {alone['instrumented_us']:.1f} vs {alone['stub_us']:.1f} µs): "
        f"{verdict} the <= {TARGET_US:.0f} µs target"
    )
    print(
        f"End to end it adds {ours['wall_median_us']:.1f} µs median wall on the fake server "
        f"(noise floor, plain vs plain: {noise:.1f} µs) and {quiet_ours['cpu_median_us']:.1f} µs CPU in-process "
        f"(noise floor {quiet_noise:.1f} µs)"
    )
    print(
        f"OpenInference adds {theirs['wall_median_us']:.1f} µs median wall on the fake server "
        f"(in-process: {quiet_theirs['wall_median_us']:.1f} µs wall, {quiet_theirs['cpu_median_us']:.1f} µs CPU)"
        + (
            f"; {result['openinference_over_agenttrace_cpu_in_process']:.2f}x AgentTrace's CPU"
            if quiet_ours["cpu_median_us"] > 0
            else ""
        )
    )
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
