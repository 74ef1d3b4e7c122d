"""CPU cost of ``agenttrace top`` while the collector ingests a heavy load.

Starts a collector (temporary data directory, ephemeral ports), runs ``agenttrace top``
in a private tmux server at 80x24, and reads the TUI process's CPU time from
``/proc/PID/stat`` over a window, twice per run:

- **idle**: the collector receives nothing (the comparison, measured in the same run);
- **loaded**: the collector receives demo traffic at ``--rate`` spans/s. The load replays
  datagrams captured from ``agenttrace demo`` (real SDK encoding) from ``--processes``
  senders with fresh sequence numbers (:func:`agenttrace.demo.replay`), because one Python
  process cannot build spans one by one at 100k/s.

Prints, per run and as medians: TUI CPU % of one core (idle, loaded), their ratio, the
ingest rate the collector reported (median of ``/api/v1/live`` spans_per_s during the
window: what was actually reached), and the machine's cores; then JSON.

    .venv/bin/python bench/tui_cpu.py --rate 100000 --seconds 20 --runs 3 [--json out.json]

Target (issue 7): under 5% of one core while the collector ingests 100,000 spans/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from agenttrace.demo import capture, replay

BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (and its reaped children) in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / TICKS


class Collector:
    def __init__(self, data_dir: str, workers: int) -> None:
        self.proc = subprocess.Popen(
            [
                str(BIN / "agenttrace-collector"),
                "--data-dir",
                data_dir,
                "--udp",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--unix",
                "off",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.udp = self.http = ""
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if m := re.search(r"(udp://[0-9.]+:\d+)", line):
                    self.udp = m.group(1)
                if m := re.search(r"(http://[0-9.]+:\d+)", line):
                    self.http = m.group(1)
                if line.strip() == "ready":
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60):
            self.stop()
            raise SystemExit("collector did not start")

    def live(self) -> dict:
        with urllib.request.urlopen(self.http + "/api/v1/live", timeout=5) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Top:
    """``agenttrace top`` in a private tmux server."""

    def __init__(self, url: str, tmp: str) -> None:
        self.tmux = ["tmux", "-S", os.path.join(tmp, "tmux.sock")]
        subprocess.run(
            [
                *self.tmux,
                "new-session",
                "-d",
                "-s",
                "top",
                "-x",
                "80",
                "-y",
                "24",
                f"exec {BIN / 'agenttrace'} top --url {url}",
            ],
            check=True,
        )
        out = subprocess.run([*self.tmux, "display", "-p", "-t", "top", "#{pane_pid}"], capture_output=True, text=True)
        self.pid = int(out.stdout.strip())

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", "top"], capture_output=True, text=True).stdout

    def stop(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def wait_idle(collector: Collector, timeout: float = 60.0) -> None:
    """Wait until the collector has drained the previous run's backlog."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if collector.live()["spans_per_s"] == 0:
                return
        time.sleep(1.0)


def measure(top: Top, collector: Collector, seconds: float) -> tuple[float, float]:
    """(TUI CPU % of one core, median ingest spans/s) over ``seconds``."""
    rates = []
    c0, t0 = cpu_seconds(top.pid), time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        time.sleep(1.0)
        with contextlib.suppress(OSError):
            rates.append(collector.live()["spans_per_s"])
    c1, t1 = cpu_seconds(top.pid), time.monotonic()
    return 100.0 * (c1 - c0) / (t1 - t0), statistics.median(rates) if rates else 0.0


def _sender(datagrams: list[bytes], endpoint: str, rate: float, seconds: float, sender_id: int, out) -> None:
    out.put(replay(datagrams, endpoint=endpoint, rate=rate, duration_s=seconds, sender_id=sender_id))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=100_000, help="load in spans/s (default 100000)")
    ap.add_argument("--seconds", type=float, default=20, help="measurement window per phase")
    ap.add_argument("--warmup", type=float, default=4, help="seconds before each window")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--processes", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="load senders")
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="collector workers")
    ap.add_argument("--json", help="also write the JSON result to this path")
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed: apt-get install tmux")

    print(f"capturing demo traffic for the load ({os.cpu_count()} cores)…", flush=True)
    datagrams = capture(5.0, seed=7, rate=5000)
    print(f"captured {len(datagrams)} datagrams", flush=True)
    tmp = tempfile.mkdtemp(prefix="agenttrace-tui-cpu-")
    collector = Collector(os.path.join(tmp, "data"), args.workers)
    results = []
    try:
        for run in range(args.runs):
            wait_idle(collector)
            top = Top(collector.http, tmp)
            try:
                time.sleep(args.warmup)
                if "AgentTrace" not in top.screen():
                    raise SystemExit("agenttrace top did not start:\n" + top.screen())
                idle_cpu, idle_rate = measure(top, collector, args.seconds)
                ctx = mp.get_context("fork")
                sent_q = ctx.Queue()
                load_s = args.warmup + args.seconds + 2
                senders = [
                    ctx.Process(
                        target=_sender,
                        args=(
                            datagrams,
                            collector.udp,
                            args.rate / args.processes,
                            load_s,
                            (run << 8) + i + 1,
                            sent_q,
                        ),
                    )
                    for i in range(args.processes)
                ]
                for s in senders:
                    s.start()
                time.sleep(args.warmup)
                load_cpu, load_rate = measure(top, collector, args.seconds)
                sent = sum(sent_q.get() for _ in senders)
                for s in senders:
                    s.join()
                live = collector.live()
            finally:
                top.stop()
            r = {
                "run": run + 1,
                "tui_cpu_pct_idle": round(idle_cpu, 2),
                "tui_cpu_pct_loaded": round(load_cpu, 2),
                "ratio_loaded_vs_idle": round(load_cpu / idle_cpu, 2) if idle_cpu else None,
                "ingest_spans_per_s": round(load_rate),
                "load_sent_spans_per_s": round(sent / load_s),
                "idle_spans_per_s": round(idle_rate),
                "collector_dropped_total": live["dropped_total"],
                "collector_lost_total": live["lost_total"],
            }
            results.append(r)
            print(
                f"run {r['run']}: TUI {r['tui_cpu_pct_idle']:5.2f}% idle, {r['tui_cpu_pct_loaded']:5.2f}% loaded "
                f"(×{r['ratio_loaded_vs_idle']}) while the collector stored {r['ingest_spans_per_s']:,} spans/s "
                f"(load sent {r['load_sent_spans_per_s']:,}/s; dropped {r['collector_dropped_total']:,}, "
                f"lost {r['collector_lost_total']:,} datagrams so far)",
                flush=True,
            )
    finally:
        collector.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results if r[key] is not None)

    summary = {
        "benchmark": "tui_cpu",
        "cores": os.cpu_count(),
        "target_rate_spans_per_s": args.rate,
        "seconds": args.seconds,
        "runs": results,
        "median_tui_cpu_pct_idle": round(med("tui_cpu_pct_idle"), 2),
        "median_tui_cpu_pct_loaded": round(med("tui_cpu_pct_loaded"), 2),
        "median_ratio_loaded_vs_idle": round(med("ratio_loaded_vs_idle"), 2),
        "median_ingest_spans_per_s": round(med("ingest_spans_per_s")),
        "median_load_sent_spans_per_s": round(med("load_sent_spans_per_s")),
        "target_cpu_pct": 5.0,
    }
    print()
    print(f"{'':28}{'median':>10}")
    print(f"{'TUI CPU, collector idle':28}{summary['median_tui_cpu_pct_idle']:>9.2f}%")
    print(f"{'TUI CPU, collector loaded':28}{summary['median_tui_cpu_pct_loaded']:>9.2f}%   (target < 5% of one core)")
    print(f"{'ratio loaded / idle':28}{summary['median_ratio_loaded_vs_idle']:>10.2f}")
    print(f"{'ingest reached (spans/s)':28}{summary['median_ingest_spans_per_s']:>10,}   (asked {args.rate:,.0f})")
    print(f"{'load sent (spans/s)':28}{summary['median_load_sent_spans_per_s']:>10,}")
    print(f"{'cores':28}{summary['cores']:>10}")
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
