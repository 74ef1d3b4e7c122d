"""Receiver throughput: sender processes → one socket → one receive thread → rings.

    .venv/bin/python bench/recv.py                       # Unix socket, 300-byte datagrams
    .venv/bin/python bench/recv.py --transport udp --senders 2 --json bench/results/recv.json

Unix datagram senders block while the socket buffer is full, so nothing is lost and
the run measures how fast one receive thread drains the socket into the rings (a
consumer thread empties them). Over UDP the kernel drops what the receiver cannot
take: the table then also shows ``kernel_dropped``. Compiled and twin run in the
same invocation; it prints medians of ``--repeats`` runs, the cores and the ratio.
The senders are Python processes (one ``sendto`` per datagram): on a small machine
they, not the compiled receiver, can be the limit — the ratio is then a lower bound.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

from agenttrace.collector.sockets import open_udp_sockets, open_unix_socket
from agenttrace.model import Span
from agenttrace.wire import encode


def _mods(build: str):
    suffix = "_py" if build == "twin" else ""
    return (
        importlib.import_module("agenttrace._native.ring" + suffix),
        importlib.import_module("agenttrace._native.recv" + suffix),
    )


def _datagram(size: int, sender: int, seq: int) -> bytes:
    def make(name: str) -> bytes:
        span = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name=name, start_ns=1, end_ns=2)
        return encode([span], sender_id=sender, seq=seq, compress=False)

    return make("x" * max(0, size - len(make(""))))


def _send(transport: str, addr, count: int, size: int, sender: int, go) -> None:
    family = socket.AF_UNIX if transport == "unix" else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    # Prebuilt headers: seq numbers advance, so the receiver sees no false gaps.
    template = bytearray(_datagram(size, sender, 0))
    go.wait()
    for seq in range(count):
        template[16:20] = seq.to_bytes(4, "little")
        sock.sendto(template, addr)
    sock.close()


def run_once(build: str, transport: str, senders: int, count: int, size: int) -> dict:
    ring_mod, recv_mod = _mods(build)
    rings = [ring_mod.Ring.create(16 << 20) for _ in range(2)]
    tmp = tempfile.mkdtemp()
    if transport == "unix":
        addr = os.path.join(tmp, "bench.sock")
        sock = open_unix_socket(addr, 4 << 20)
    else:
        (sock,) = open_udp_sockets("127.0.0.1", 0, 1, 4 << 20)
        addr = sock.getsockname()
    receiver = recv_mod.Receiver(sock.fileno(), rings, transport)
    done = threading.Event()
    popped = [0]

    def consume() -> None:  # stands in for the workers
        while not done.is_set():
            n = sum(len(r.pop_many(4096)) for r in rings)
            popped[0] += n
            if not n:
                time.sleep(0.0005)

    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    procs = [ctx.Process(target=_send, args=(transport, addr, count, size, k + 1, go)) for k in range(senders)]
    for p in procs:
        p.start()
    consumer = threading.Thread(target=consume, daemon=True)
    receiver.start()
    consumer.start()
    total = count * senders
    time.sleep(0.05)
    t0 = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
    while True:  # until every datagram is read or counted as dropped by the kernel
        st = receiver.stats()
        if st["received"] + st["kernel_dropped"] >= total:
            break
        time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    receiver.stop()
    done.set()
    consumer.join()
    st = receiver.stats()
    for r in rings:
        r.close()
        r.unlink()
    sock.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"elapsed_s": elapsed, **st}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transport", choices=["unix", "udp"], default="unix")
    ap.add_argument("--senders", type=int, default=1)
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--messages", type=int, default=200_000, help="per sender")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the JSON result to this file")
    args = ap.parse_args(argv)

    builds = ["compiled", "twin"]
    try:
        _mods("compiled")
    except ImportError:
        print("compiled receive path not built: measuring the twin only", file=sys.stderr)
        builds = ["twin"]
    cores = len(os.sched_getaffinity(0))
    print(
        f"receiver throughput over {args.transport}, {args.senders} sender process(es), "
        f"{args.size}-byte datagrams; {cores} cores usable, {platform.machine()}"
    )
    print(f"{'build':>9} {'datagrams':>10} {'median s':>9} {'received/s':>12} {'MB/s':>7} {'kernel_dropped':>15}")
    out: dict = {"bench": "recv", "cores": cores, "machine": platform.machine(), **vars(args), "results": {}}
    for build in builds:
        runs = [run_once(build, args.transport, args.senders, args.messages, args.size) for _ in range(args.repeats)]
        rates = [r["received"] / r["elapsed_s"] for r in runs]
        med = statistics.median(rates)
        mid = runs[rates.index(med)] if med in rates else runs[0]
        out["results"][build] = {"received_per_s": med, "runs": runs}
        print(
            f"{build:>9} {args.messages * args.senders:>10} {mid['elapsed_s']:>9.3f} {med:>12,.0f} "
            f"{med * args.size / 1e6:>7.1f} {mid['kernel_dropped']:>15}"
        )
    if len(builds) == 2:
        ratio = out["results"]["compiled"]["received_per_s"] / out["results"]["twin"]["received_per_s"]
        out["ratio_compiled_over_twin"] = ratio
        print(f"{'ratio':>9} compiled/twin received/s = {ratio:.1f}x")
    line = json.dumps(out)
    print(line)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
