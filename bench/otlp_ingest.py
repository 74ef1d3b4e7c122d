"""OTLP ingest throughput, side by side with the native UDP path, in one run.

    .venv/bin/python bench/otlp_ingest.py                      # 3 modes, 5 s each
    .venv/bin/python bench/otlp_ingest.py --duration 8 --senders 3 --json bench/results/otlp.json

Modes (each a fresh collector with its own data directory, ``--workers`` workers):

1. ``otlp_http`` — sender processes POST pre-encoded ``ExportTraceServiceRequest`` bodies
   (``application/x-protobuf``, ``--batch`` spans each, as the OpenTelemetry SDK's batch
   processor sends them) to ``/v1/traces`` over keep-alive connections, back to back;
   a 503 is waited out (its Retry-After) and sent again, as exporters do.
2. ``otlp_grpc`` — the same requests to ``TraceService/Export`` over one gRPC channel per
   sender; RESOURCE_EXHAUSTED is waited out and retried.
3. ``udp`` — the comparison: the same spans as our SDK sends them (wire v1 datagrams of
   at most 8 KiB, the SDK's default), replayed over UDP by the same number of senders,
   offering ``--udp-offer`` spans/s in all (300,000 by default, three times the OTLP
   target: flat-out UDP senders would mostly measure how much CPU they take from the
   collector on a small machine, and the kernel's drops).

The spans are LLM calls with the GenAI attributes an instrumentor sets (model, provider,
tokens, operation, a short prompt and answer). Stored spans/s is spans stored divided by
the time from the first send until the collector stored its last span. CPU is the
collector's (main process + workers) user+system seconds over that time (1.0 = one core
busy). p99 is the export latency a sender saw per request (OTLP modes). Senders share the
machine's cores with the collector; the JSON records the core count and the git commit.
Targets (issue 14): >= 100,000 spans/s over OTLP/HTTP protobuf and >= 0.5x the UDP path.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

MODES = ("otlp_http", "otlp_grpc", "udp")
TARGET_HTTP = 100_000
TARGET_RATIO = 0.5
_SEQ = struct.Struct("<I")


# --- what the senders send --------------------------------------------------------


def _otlp_request(n: int, seed: int) -> Any:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    for key, value in (("service.name", "bench-agent"), ("telemetry.sdk.language", "python")):
        rs.resource.attributes.add(key=key).value.string_value = value
    ss = rs.scope_spans.add()
    ss.scope.name = "openinference.instrumentation.openai"
    now = time.time_ns()
    for i in range(n):
        span = ss.spans.add(
            trace_id=((seed + 1) * 1_000_003 + i // 8).to_bytes(16, "little"),
            span_id=(seed * 100_000 + i + 1).to_bytes(8, "little"),
            parent_span_id=b"" if i % 8 == 0 else (seed * 100_000 + i - i % 8 + 1).to_bytes(8, "little"),
            name="ChatCompletion",
            kind=3,
            start_time_unix_nano=now,
            end_time_unix_nano=now + 850_000_000,
        )
        span.status.code = 1
        for key, value in (
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4o-mini"),
            ("session.id", f"sess-{seed}-{i // 64}"),
            ("input.value", "What is the refund policy for order 1234?"),
            ("output.value", "Orders can be refunded within 30 days."),
        ):
            span.attributes.add(key=key).value.string_value = value
        for key, value in (
            ("gen_ai.usage.input_tokens", 1200),
            ("gen_ai.usage.output_tokens", 180),
            ("gen_ai.usage.cache_read.input_tokens", 600),
        ):
            span.attributes.add(key=key).value.int_value = value
    return req


def _pause(retry_after: float, t_end: float) -> None:
    time.sleep(max(0.0, min(retry_after, t_end - time.time())))


def sender_http(url: str, batch: int, start_at: float, duration: float, idx: int, q) -> None:
    bodies = [_otlp_request(batch, idx * 100 + k).SerializeToString() for k in range(4)]
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": "application/x-protobuf"}
    lat: list[float] = []
    spans = refused = 0
    time.sleep(max(0.0, start_at - time.time()))
    t_end = time.time() + duration
    k = 0
    while time.time() < t_end:
        t = time.perf_counter()
        conn.request("POST", "/v1/traces", bodies[k % len(bodies)], headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status == 200:
            lat.append(time.perf_counter() - t)
            spans += batch
            k += 1
        elif resp.status in (429, 503):
            refused += batch
            _pause(float(resp.getheader("Retry-After", "1")), t_end)
        else:
            raise RuntimeError(f"HTTP {resp.status}")
    q.put({"spans": spans, "refused": refused, "lat": lat, "t_end": time.time()})


def sender_grpc(target: str, batch: int, start_at: float, duration: float, idx: int, q) -> None:
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    requests = [_otlp_request(batch, idx * 100 + k) for k in range(4)]
    channel = grpc.insecure_channel(target)
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    lat: list[float] = []
    spans = refused = 0
    time.sleep(max(0.0, start_at - time.time()))
    t_end = time.time() + duration
    k = 0
    while time.time() < t_end:
        t = time.perf_counter()
        try:
            stub.Export(requests[k % len(requests)], timeout=30)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
            refused += batch
            _pause(1.0, t_end)
            continue
        lat.append(time.perf_counter() - t)
        spans += batch
        k += 1
    channel.close()
    q.put({"spans": spans, "refused": refused, "lat": lat, "t_end": time.time()})


def sender_udp(port: int, batch: int, start_at: float, duration: float, idx: int, q, rate: float = 0.0) -> None:
    """The same spans as our SDK sends them: wire datagrams of <= 8 KiB, seq stamped fresh,
    offered at ``rate`` spans/s (0 = flat out)."""
    from agenttrace.ingest.otlp.mapping import request_to_spans
    from agenttrace.wire import batch as wire_batch

    sender_id = int.from_bytes(os.urandom(8), "little")
    templates = []
    for k in range(4):
        spans = request_to_spans(_otlp_request(batch, idx * 100 + k)).spans
        templates += [(bytearray(g), len(g)) for g in wire_batch(spans, 8192, sender_id=sender_id, seq=0)]
    from agenttrace.wire import decode_header

    counts = [decode_header(bytes(g)).span_count for g, _ in templates]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    addr = ("127.0.0.1", port)
    seq = spans_sent = 0
    time.sleep(max(0.0, start_at - time.time()))
    t0 = time.time()
    t_end = t0 + duration
    n = len(templates)
    while time.time() < t_end:
        if rate > 0:
            # UDP senders flat out would take the collector's CPU on a small machine.
            time.sleep(max(0.0, t0 + spans_sent / rate - time.time()))
        for _ in range(32):
            j = seq % n
            buf = templates[j][0]
            _SEQ.pack_into(buf, 16, seq & 0xFFFFFFFF)
            try:
                sock.sendto(buf, addr)
                spans_sent += counts[j]
            except OSError:
                pass
            seq += 1
    q.put({"spans": spans_sent, "refused": 0, "lat": [], "t_end": time.time()})


# --- the collector ------------------------------------------------------------------


class Collector:
    def __init__(self, workers: int) -> None:
        self.dir = tempfile.mkdtemp(prefix="at-otlp-bench-")
        cfg = Path(self.dir) / "collector.toml"
        cfg.write_text("[store]\nmaintenance_interval_s = 0\n")
        args = [
            sys.executable, "-m", "agenttrace.collector.main", "--config", str(cfg),
            "--data-dir", str(Path(self.dir) / "data"), "--udp", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--otlp-grpc", "127.0.0.1:0", "--unix", "off", "--workers", str(workers), "--log-level", "warning",
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.udp_port, self.http, self.grpc = 0, "", ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if m := re.search(r"udp://127\.0\.0\.1:(\d+)", line):
                self.udp_port = int(m.group(1))
            if m := re.search(r"(http://127\.0\.0\.1:\d+)", line):
                self.http = m.group(1)
            if m := re.search(r"otlp-grpc://(127\.0\.0\.1:\d+)", line):
                self.grpc = m.group(1)
            if line.strip() == "ready":
                break
        else:
            raise RuntimeError("collector did not start")
        live = json.loads(urllib.request.urlopen(self.http + "/api/v1/live", timeout=10).read())
        self.pids = [self.proc.pid] + [w["pid"] for w in live["workers"]]

    def stored(self) -> float:
        body = urllib.request.urlopen(self.http + "/metrics", timeout=10).read().decode()
        m = re.search(r"^agenttrace_spans_stored_total (\S+)$", body, re.M)
        return float(m.group(1)) if m else 0.0

    def cpu_s(self) -> float:
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError):
                pass
        return total

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_mode(mode: str, args) -> dict:
    c = Collector(args.workers)
    try:
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        start_at = time.time() + 2.0  # senders import and encode before the clock starts
        target, where = {"otlp_http": (sender_http, c.http), "otlp_grpc": (sender_grpc, c.grpc),
                         "udp": (sender_udp, c.udp_port)}[mode]  # fmt: skip
        extra = (args.udp_offer / args.senders,) if mode == "udp" else ()
        procs = [
            ctx.Process(target=target, args=(where, args.batch, start_at, args.duration, i, q, *extra))
            for i in range(args.senders)
        ]
        for p in procs:
            p.start()
        time.sleep(max(0.0, start_at - time.time()))
        cpu0, t0, stored0 = c.cpu_s(), time.time(), c.stored()
        results = [q.get(timeout=args.duration + 120) for _ in procs]
        for p in procs:
            p.join(30)
        sent = sum(r["spans"] for r in results)
        last, t_last, idle_since = -1.0, time.time(), time.time()
        while True:  # until everything accepted is stored, or nothing moves for 5 s
            stored = c.stored() - stored0
            now = time.time()
            if stored != last:
                last, t_last, idle_since = stored, now, now
            if stored >= sent or now - idle_since > 5:
                break
            time.sleep(0.05)
        cpu = c.cpu_s() - cpu0
        wall = max(t_last - t0, 1e-9)
        lat = sorted(x for r in results for x in r["lat"])
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else None
        return {
            "mode": mode,
            "sent_spans": sent,
            "stored_spans": int(last),
            "stored_per_s": last / wall,
            "refused_spans": sum(r["refused"] for r in results),
            "collector_cpu": cpu / wall,
            "p99_export_ms": p99,
            "requests": len(lat),
            "wall_s": wall,
        }
    finally:
        c.stop()


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of sending per mode")
    ap.add_argument("--senders", type=int, default=3, help="sender processes per mode")
    ap.add_argument("--batch", type=int, default=512, help="spans per OTLP request")
    ap.add_argument("--workers", type=int, default=2, help="collector worker processes")
    ap.add_argument("--udp-offer", type=float, default=300_000, help="UDP spans/s offered in all (0 = flat out)")
    ap.add_argument("--json", default="bench/results/otlp_ingest.json")
    args = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    print(f"OTLP ingest vs native UDP: {cores} cores, {args.senders} senders, {args.workers} workers, "
          f"{args.batch} spans per OTLP request, {args.duration:g} s per mode")  # fmt: skip
    results: dict[str, Any] = {"cores": cores, "commit": _git_commit(), "args": vars(args),
                               "loadavg_start": os.getloadavg(), "modes": {}}  # fmt: skip
    print(f"{'mode':<10} {'stored/s':>10} {'stored':>9} {'sent':>9} {'refused':>8} {'CPU':>6} {'p99 ms':>8}")
    for mode in args.modes.split(","):
        r = run_mode(mode, args)
        results["modes"][mode] = r
        p99 = f"{r['p99_export_ms']:.1f}" if r["p99_export_ms"] is not None else "-"
        print(f"{mode:<10} {r['stored_per_s']:>10,.0f} {r['stored_spans']:>9,} {r['sent_spans']:>9,} "
              f"{r['refused_spans']:>8,} {r['collector_cpu']:>6.2f} {p99:>8}", flush=True)  # fmt: skip
    modes = results["modes"]
    summary: dict[str, Any] = {}
    if "otlp_http" in modes:
        rate = modes["otlp_http"]["stored_per_s"]
        summary["otlp_http_target"] = TARGET_HTTP
        summary["otlp_http_meets_target"] = rate >= TARGET_HTTP
        print(f"OTLP/HTTP protobuf: {rate:,.0f} spans/s vs target {TARGET_HTTP:,}: "
              f"{'met' if rate >= TARGET_HTTP else 'MISSED'}")  # fmt: skip
    for mode in ("otlp_http", "otlp_grpc"):
        if mode in modes and "udp" in modes and modes["udp"]["stored_per_s"]:
            ratio = modes[mode]["stored_per_s"] / modes["udp"]["stored_per_s"]
            summary[f"{mode}_vs_udp"] = ratio
            print(f"{mode} / udp (same run): {ratio:.2f}x vs target {TARGET_RATIO}x: "
                  f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}")  # fmt: skip
    results["summary"] = summary
    results["loadavg_end"] = os.getloadavg()
    print(f"load average at the end: {results['loadavg_end'][0]:.1f} on {cores} cores")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
