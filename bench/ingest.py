"""Collector ingest throughput: start a collector, drive it from sender processes, count.

    .venv/bin/python bench/ingest.py                          # all modes, 3 repeats, 4 s each
    .venv/bin/python bench/ingest.py --modes batched,single --duration 3 --json bench/results/ingest.json

Modes (each a fresh collector with its own data directory):

1. ``sdk``      — senders use the SDK as agents do (``with at.span(...)`` in a loop);
2. ``batched``  — senders replay pre-encoded datagrams of ``--batch-spans`` spans each
                  (isolates the collector from the SDK's cost);
3. ``single``   — pre-encoded datagrams of one span each (per-datagram overhead);
4. ``sink``     — the same one-span-per-datagram load against a minimal C ``recvmmsg``
                  sink (same number of SO_REUSEPORT sockets and threads) compiled here
                  with gcc: the machine's ceiling. The table shows mode 3 / mode 4.

Each mode runs flat out (``blast``: capacity), then, unless ``--no-paced``, at
``--paced`` × the blast's stored rate (``paced``: is anything lost below capacity?).
Blast runs offer ``--offer`` spans/s per mode (default: SDK and single flat out, batched
at 600,000 = twice its target, since senders flat out would take the collector's CPU on
a small machine). A run lasts ``--duration`` seconds of sending; the stored rate is spans stored divided
by the time from the first send until the collector stored its last span (so a backlog
drained after the senders stopped counts against it). Every datagram is accounted for:
``sent = stored + dropped + lost`` (+ ``sdk_dropped`` in SDK mode: spans the SDK's
queue refused), and the table prints whatever is ``unaccounted``.

CPU is the collector's (main process + workers) user+system seconds over the run,
divided by its wall time (1.0 = one core busy). Peak RSS sums VmHWM of those processes
(the shared-memory rings count once per process that touched them); PSS, read at the
end of the run, splits shared pages between them.
Senders share the machine's cores with the collector, so on a small machine they are
part of the limit; the JSON records the core count.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

MODES = ("sdk", "batched", "single", "sink")
_SEQ = struct.Struct("<I")

SINK_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
static atomic_ulong total, total_bytes;
static atomic_long last_ns;
static atomic_int stopping;

static long now_ns(void) {
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *run(void *arg) {
    int fd = (int)(long)arg;
    static __thread char bufs[BATCH][2048];
    struct mmsghdr msgs[BATCH]; struct iovec iov[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i];
        msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
    }
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!atomic_load(&stopping)) {
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) continue;
        unsigned long b = 0;
        for (int i = 0; i < n; i++) b += msgs[i].msg_len;
        atomic_fetch_add(&total, n); atomic_fetch_add(&total_bytes, b);
        atomic_store(&last_ns, now_ns());
    }
    return NULL;
}

int main(int argc, char **argv) {
    int nsock = argc > 1 ? atoi(argv[1]) : 2;
    int rcvbuf = argc > 2 ? atoi(argv[2]) : (32 << 20);
    int port = 0; pthread_t th[64];
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < nsock; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        struct sockaddr_in a; memset(&a, 0, sizeof a);
        a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 1; }
        socklen_t len = sizeof a; getsockname(fd, (struct sockaddr *)&a, &len); port = ntohs(a.sin_port);
        pthread_create(&th[i], NULL, run, (void *)(long)fd);
    }
    printf("port %d\n", port); fflush(stdout);
    int sig; sigwait(&set, &sig);
    atomic_store(&stopping, 1);
    for (int i = 0; i < nsock; i++) pthread_join(th[i], NULL);
    printf("received %lu bytes %lu last_ns %ld\n", atomic_load(&total), atomic_load(&total_bytes),
           atomic_load(&last_ns));
    return 0;
}
"""


# --- senders (separate processes) ------------------------------------------------


def _spans(n: int, seed: int) -> list[Any]:
    from agenttrace.model import Span, Usage

    now = time.time_ns()
    return [
        Span(
            trace_id=(seed * 1_000_003 + i).to_bytes(16, "little"),
            span_id=(i + 1).to_bytes(8, "little"),
            name="chat.completions",
            start_ns=now,
            end_ns=now + 850_000_000,
            kind="llm",
            status=1,
            session_id=f"sess-{seed}",
            service="bench-agent",
            model="gpt-4o-mini",
            provider="openai",
            usage=Usage(input_tokens=1200, output_tokens=180, cache_read_tokens=600),
            attributes={"attempt": 1},
        )
        for i in range(n)
    ]


def _pace(start: float, sent: int, rate: float) -> None:
    if rate > 0:
        ahead = start + sent / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)


def sender_raw(port: int, spans_per_datagram: int, start_at: float, duration: float, rate: float, idx: int, q) -> None:
    """Replay pre-encoded datagrams, stamping a fresh sequence number into each."""
    from agenttrace.wire import encode

    sender_id = int.from_bytes(os.urandom(8), "little")
    templates = [
        bytearray(encode(_spans(spans_per_datagram, idx * 100 + k), sender_id=sender_id, seq=0, compress=False))
        for k in range(16)
    ]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = ("127.0.0.1", port)
    dg_rate = rate / spans_per_datagram if rate > 0 else 0.0
    seq = 0
    errors = 0
    time.sleep(max(0.0, start_at - time.time()))
    t0 = time.time()
    deadline = t0 + duration
    pack = _SEQ.pack_into
    n_t = len(templates)
    while True:
        for _ in range(64):
            buf = templates[seq % n_t]
            pack(buf, 16, seq & 0xFFFFFFFF)
            try:
                sock.sendto(buf, addr)
            except OSError:
                errors += 1  # consumed its sequence number: the collector counts it lost
            seq += 1
        if time.time() >= deadline:
            break
        _pace(t0, seq, dg_rate)
    # After a pause, one more datagram closes any gap at the end (trailing losses
    # would otherwise be invisible to sequence tracking).
    time.sleep(0.3)
    buf = templates[0]
    pack(buf, 16, seq & 0xFFFFFFFF)
    sock.sendto(buf, addr)
    seq += 1
    q.put({"datagrams": seq, "spans": seq * spans_per_datagram, "send_errors": errors, "t_end": time.time()})


def sender_sdk(port: int, start_at: float, duration: float, rate: float, idx: int, q) -> None:
    """Spans made the way an agent makes them."""
    import agenttrace as at

    at.configure(service="bench-agent", endpoint=f"udp://127.0.0.1:{port}", session_id=f"sess-{idx}")
    time.sleep(max(0.0, start_at - time.time()))
    t0 = time.time()
    deadline = t0 + duration
    n = 0
    while True:
        for _ in range(32):
            with at.llm("chat.completions", model="gpt-4o-mini", provider="openai") as g:
                g.set_usage(input_tokens=1200, output_tokens=180, cache_read_tokens=600)
            n += 1
        if time.time() >= deadline:
            break
        _pace(t0, n, rate)
    at.flush(timeout=10)
    time.sleep(0.3)
    with at.span("bench.last", kind="event"):
        pass
    n += 1
    at.flush(timeout=10)
    st = at.stats()
    at.shutdown(timeout=5)
    q.put(
        {
            "datagrams": st["datagrams_sent"] + st["datagrams_dropped"],
            "spans": n,
            "spans_sent": st["sent"],
            "sdk_dropped": st["dropped_total"],
            "send_errors": st["datagrams_dropped"],
            "t_end": time.time(),
        }
    )


# --- the collector and the sink ---------------------------------------------------


class Collector:
    def __init__(self, workers: int, rcvbuf: int) -> None:
        self.dir = tempfile.mkdtemp(prefix="agenttrace-bench-")
        cfg = Path(self.dir) / "collector.toml"
        cfg.write_text(f"[receive]\nrcvbuf_bytes = {rcvbuf}\n[store]\nmaintenance_interval_s = 0\n")
        args = [
            sys.executable, "-m", "agenttrace.collector.main", "--config", str(cfg),
            "--data-dir", str(Path(self.dir) / "data"), "--udp", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--unix", "off", "--workers", str(workers), "--log-level", "warning",
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = 0
        self.http = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            m = re.search(r"udp://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
            m = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            if m:
                self.http = m.group(1)
            if line.strip() == "ready":
                break
        else:
            raise RuntimeError("collector did not start: " + (self.proc.stderr.read() if self.proc.stderr else ""))
        self.pids = [self.proc.pid] + [w["pid"] for w in self.live()["workers"]]

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.http + path, timeout=10) as r:
            return r.read()

    def live(self) -> dict:
        return json.loads(self._get("/api/v1/live"))

    def metrics(self) -> dict[str, float]:
        out = {}
        for line in self._get("/metrics").decode().split("\n"):
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def cpu_s(self) -> float:
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError):
                pass
        return total

    def peak_rss_mib(self) -> float:
        total = 0
        for pid in self.pids:
            try:
                m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
                total += int(m.group(1)) if m else 0
            except OSError:
                pass
        return total / 1024

    def pss_mib(self) -> float:
        """Proportional set size now: shared pages (the rings) split between processes."""
        total = 0
        for pid in self.pids:
            try:
                m = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M)
                total += int(m.group(1)) if m else 0
            except OSError:
                pass
        return total / 1024

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -9
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


def build_sink(workdir: str) -> str | None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    src = Path(workdir) / "sink.c"
    exe = Path(workdir) / "sink"
    src.write_text(SINK_C)
    subprocess.run([cc, "-O2", "-pthread", "-o", str(exe), str(src)], check=True)
    return str(exe)


# --- runs ------------------------------------------------------------------------------


def _start_senders(mode: str, port: int, n: int, duration: float, rate: float, batch_spans: int):
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + 1.5  # every sender imports and encodes before the clock starts
    per = rate / n if rate > 0 else 0.0
    procs = []
    for i in range(n):
        if mode == "sdk":
            p = ctx.Process(target=sender_sdk, args=(port, start_at, duration, per, i, q))
        else:
            spd = batch_spans if mode == "batched" else 1
            p = ctx.Process(target=sender_raw, args=(port, spd, start_at, duration, per, i, q))
        p.start()
        procs.append(p)
    return procs, q, start_at


def _collect(procs, q) -> list[dict]:
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    return results


def run_collector(mode: str, args, rate: float = 0.0) -> dict:
    c = Collector(args.workers, args.rcvbuf)
    try:
        procs, q, t0 = _start_senders(mode, c.port, args.senders, args.duration, rate, args.batch_spans)
        time.sleep(max(0.0, t0 - time.time()))
        cpu0, wall0 = c.cpu_s(), time.time()
        sent = _collect(procs, q)
        sent_datagrams = sum(s["datagrams"] for s in sent)
        # Wait until every datagram sent is received or counted lost and every one
        # received is stored or dropped; note when the last span was stored.
        last_stored, t_last, idle_since = -1.0, time.time(), time.time()
        while True:
            m = c.metrics()
            stored = m.get("agenttrace_spans_stored_total", 0.0)
            received = sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_received_total"))
            dropped = sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_dropped_total"))
            lost = m.get("agenttrace_datagrams_lost_total", 0.0)
            now = time.time()
            if stored != last_stored:
                last_stored, t_last, idle_since = stored, now, now
            settled = (
                received + lost >= sent_datagrams
                and m.get("agenttrace_datagrams_stored_total", 0) + dropped >= received
            )
            if settled or now - idle_since > 10:
                break
            time.sleep(0.05)
        cpu = c.cpu_s() - cpu0
        wall = max(t_last, max(s["t_end"] for s in sent) - 0.3) - wall0
        rss = c.peak_rss_mib()
        pss = c.pss_mib()
        by_reason = {
            re.search(r'reason="(\w+)"', k).group(1): int(v)
            for k, v in m.items()
            if k.startswith("agenttrace_datagrams_dropped_total") and v
        }
        sent_spans = sum(s["spans"] for s in sent)
        sdk_dropped = sum(s.get("sdk_dropped", 0) for s in sent)
        stored_dg = m.get("agenttrace_datagrams_stored_total", 0)
        return {
            "mode": mode,
            "rate_target": rate,
            "sent_spans": sent_spans,
            "sent_datagrams": sent_datagrams,
            "stored_spans": int(stored),
            "stored_per_s": stored / (t_last - wall0) if t_last > wall0 else 0.0,
            "dropped": by_reason,
            "lost": int(lost),
            "sdk_dropped": sdk_dropped,
            "send_errors": sum(s["send_errors"] for s in sent),
            "unaccounted_datagrams": int(sent_datagrams - stored_dg - sum(by_reason.values()) - lost),
            "collector_cpu": cpu / wall if wall > 0 else 0.0,
            # Spans per collector CPU-second: comparable across runs when other work
            # on the machine takes a varying share of the cores.
            "spans_per_cpu_s": stored / cpu if cpu > 0 else 0.0,
            "peak_rss_mib": rss,
            "pss_mib": pss,
        }
    finally:
        c.stop()


def run_sink(exe: str, args) -> dict:
    nsock = min(2, os.cpu_count() or 1)
    proc = subprocess.Popen([exe, str(nsock), str(args.rcvbuf)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    procs, q, t0 = _start_senders("single", port, args.senders, args.duration, 0.0, 1)
    sent = _collect(procs, q)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out = proc.stdout.read()
    proc.wait(10)
    m = re.search(r"received (\d+) bytes (\d+) last_ns (\d+)", out)
    received = int(m.group(1))
    last = int(m.group(3)) / 1e9
    # The closing datagram came 0.3 s after the blast; measure up to the blast's end.
    end = min(last, max(s["t_end"] for s in sent) - 0.3)
    return {
        "mode": "sink",
        "sent_datagrams": sum(s["datagrams"] for s in sent),
        "received": received,
        "received_per_s": received / (end - t0) if end > t0 else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--duration", type=float, default=4.0, help="seconds of sending per run")
    ap.add_argument("--senders", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0, help="collector workers (0 = one per core)")
    ap.add_argument("--batch-spans", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--paced", type=float, default=0.5, help="paced run at this fraction of the blast rate")
    ap.add_argument("--no-paced", action="store_true")
    ap.add_argument(
        "--offer",
        default="sdk=0,batched=600000,single=0",
        help="spans/s the senders offer in blast runs, per mode (0 = as fast as they can; on a small machine "
        "senders flat out take the CPU the collector needs, so batched defaults to twice its target)",
    )
    ap.add_argument("--rcvbuf", type=int, default=32 << 20)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    cores = os.cpu_count() or 1
    print(
        f"agenttrace ingest bench: {cores} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{args.senders} senders, {args.duration:g} s per run, median of {args.repeats}; "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine competes for its cores)",
        flush=True,
    )
    results: dict[str, Any] = {"cores": cores, "loadavg_start": os.getloadavg(), "args": vars(args), "modes": {}}
    workdir = tempfile.mkdtemp(prefix="agenttrace-sink-")
    try:
        for mode in modes:
            if mode == "sink":
                exe = build_sink(workdir)
                if exe is None:
                    print("sink: no C compiler; skipped")
                    continue
                runs = [run_sink(exe, args) for _ in range(args.repeats)]
                results["modes"]["sink"] = {
                    "runs": runs,
                    "median_per_s": statistics.median(r["received_per_s"] for r in runs),
                }
            else:
                offer = float(dict(kv.split("=") for kv in args.offer.split(",")).get(mode, 0))
                runs = [run_collector(mode, args, rate=offer) for _ in range(args.repeats)]
                entry: dict[str, Any] = {
                    "runs": runs,
                    "median_per_s": statistics.median(r["stored_per_s"] for r in runs),
                }
                if not args.no_paced:
                    entry["paced"] = run_collector(mode, args, rate=args.paced * entry["median_per_s"])
                results["modes"][mode] = entry
            _print_mode(mode, results["modes"].get(mode))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["loadavg_end"] = os.getloadavg()
    _print_summary(results)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _fmt_run(r: dict) -> str:
    drops = ", ".join(f"{k}={v}" for k, v in sorted(r["dropped"].items())) or "none"
    extra = f" sdk_dropped={r['sdk_dropped']}" if r["mode"] == "sdk" else ""
    return (
        f"{r['stored_per_s']:>11,.0f}/s  stored {r['stored_spans']:>10,} of {r['sent_spans']:>10,} spans  "
        f"dropped[{drops}] lost={r['lost']}{extra} unaccounted={r['unaccounted_datagrams']}  "
        f"cpu {r['collector_cpu']:.2f} cores ({r['spans_per_cpu_s']:,.0f} spans/cpu-s)  "
        f"peak rss {r['peak_rss_mib']:.0f} MiB (pss {r['pss_mib']:.0f})"
    )


def _print_mode(mode: str, entry: dict | None) -> None:
    if entry is None:
        return
    if mode == "sink":
        for r in entry["runs"]:
            print(f"  sink     {r['received_per_s']:>11,.0f}/s  received {r['received']:,} of {r['sent_datagrams']:,}")
        print(f"sink     median {entry['median_per_s']:,.0f} datagrams/s", flush=True)
        return
    for r in entry["runs"]:
        print(f"  {mode:<8} blast  {_fmt_run(r)}")
    if "paced" in entry:
        print(f"  {mode:<8} paced  {_fmt_run(entry['paced'])}")
    print(f"{mode:<8} median {entry['median_per_s']:,.0f} stored spans/s", flush=True)


def _print_summary(results: dict) -> None:
    modes = results["modes"]
    summary: dict[str, Any] = {}
    print("\nmode      stored spans/s (median)   spans per collector cpu-s   target")
    for mode in ("sdk", "batched", "single"):
        if mode in modes:
            rate = modes[mode]["median_per_s"]
            target = 300_000 if mode == "batched" else 50_000
            ok = rate >= target
            per_cpu = statistics.median(r["spans_per_cpu_s"] for r in modes[mode]["runs"])
            summary[mode] = {"stored_per_s": rate, "target": target, "met": ok, "spans_per_cpu_s": per_cpu}
            paced = modes[mode].get("paced")
            if paced:
                loss = paced["lost"] + sum(paced["dropped"].values())
                summary[mode]["paced_loss"] = loss
            print(
                f"{mode:<9} {rate:>14,.0f}            {per_cpu:>14,.0f}              "
                f">= {target:,}  {'met' if ok else 'MISSED'}"
                + (f"; paced at {paced['rate_target']:,.0f}/s: {loss} lost or dropped" if paced else "")
            )
    if "sink" in modes:
        ceiling = modes["sink"]["median_per_s"]
        summary["sink"] = {"received_per_s": ceiling}
        print(f"sink      {ceiling:>14,.0f}            (C recvmmsg ceiling, datagrams/s)")
        if "single" in modes and ceiling > 0:
            ratio = modes["single"]["median_per_s"] / ceiling
            summary["single_vs_sink"] = ratio
            print(f"single / sink = {ratio:.2f}   target >= 0.80  {'met' if ratio >= 0.8 else 'MISSED'}")
    results["summary"] = summary
    print(f"load average at the end: {results['loadavg_end'][0]:.1f} on {results['cores']} cores")
    print("\nJSON: " + json.dumps({"cores": results["cores"], "loadavg": results["loadavg_end"], "summary": summary}))


if __name__ == "__main__":
    raise SystemExit(main())
