"""Exact accounting with real SDK senders: every datagram a sender numbered is stored,
dropped by reason or counted lost — including a lost last datagram."""

from __future__ import annotations

import json
import subprocess
import sys
import time

DROPPED = "agenttrace_datagrams_dropped_total"

SENDER = """
import json, sys
import agenttrace as at
at.configure(endpoint=sys.argv[1], service="accounting")
for i in range(int(sys.argv[2])):
    with at.span("step", kind="tool", note="n" * 40):
        pass
at.flush(30)
print(json.dumps(at.stats()))
"""

LOSSY_SENDER = """
import sys
import agenttrace as at
from agenttrace.sdk import runtime
at.configure(endpoint=sys.argv[1], service="lossy")
for i in range(50):
    with at.span(f"kept-{i}"):
        pass
assert at.flush(5)
transport = runtime._emitter.transport
send_once = transport._send_once
eaten = []
def network_eats_the_next_datagram_with_spans(sock, data):
    if not eaten and data[4:6] != b"\\x00\\x00":
        eaten.append(data)  # the kernel took it; the network lost it
        return
    send_once(sock, data)
transport._send_once = network_eats_the_next_datagram_with_spans
for i in range(5):
    with at.span(f"lost-{i}"):
        pass
# No flush: interpreter exit sends what is queued, then the tail.
"""


def _figures(m: dict[str, float]) -> dict[str, float]:
    return {
        "stored": m.get("agenttrace_datagrams_stored_total", 0.0),
        "dropped": sum(v for k, v in m.items() if k.startswith(DROPPED)),
        "lost": m.get("agenttrace_datagrams_lost_total", 0.0),
        "received": sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_received_total")),
    }


def _settled(c, before: dict[str, float], sent: int, timeout: float = 60.0) -> dict[str, float]:
    """Wait until every datagram received is stored or dropped and the books balance
    (or stop moving: then the assertion shows the difference)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        now = _figures(c.metrics())
        d = {k: now[k] - before[k] for k in now}
        if d["stored"] + d["dropped"] == d["received"] and d["received"] + d["lost"] >= sent:
            return d
        if time.monotonic() > deadline or (last == d and time.monotonic() > deadline - timeout / 2):
            return d
        last = d
        time.sleep(0.2)


def test_a_lost_last_datagram_is_counted_thanks_to_the_tail(start_collector):
    c = start_collector("--workers", "1")
    udp = f"udp://{c.udp[0]}:{c.udp[1]}"
    run = subprocess.run([sys.executable, "-c", LOSSY_SENDER, udp], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    # 50 spans + a tail, then one datagram eaten, then the exit's tail.
    m = c.wait_for(lambda m: m.get("agenttrace_datagrams_stored_total") == 3, timeout=30)
    assert m["agenttrace_spans_stored_total"] == 50
    assert m["agenttrace_datagrams_lost_total"] == 1


def test_sent_equals_stored_plus_dropped_plus_lost_under_overload(start_collector):
    # One worker and a small ring against four processes sending as fast as the SDK
    # goes: the ring overflows (dropped, ring_full) and the kernel buffer may too
    # (sequence gaps, lost). The books must balance exactly, every time.
    c = start_collector(
        "--workers", "1", config="[collector]\nring_bytes = 1048576\n[receive]\nrcvbuf_bytes = 8388608\n"
    )
    udp = f"udp://{c.udp[0]}:{c.udp[1]}"
    overloaded = False
    for _ in range(3):
        before = _figures(c.metrics())
        senders = [
            subprocess.Popen(
                [sys.executable, "-c", SENDER, udp, "15000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        sent = 0
        for p in senders:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            st = json.loads(out.strip().splitlines()[-1])
            # Every sequence number used: datagrams with spans (taken by the kernel or
            # refused) and the tail.
            sent += st["datagrams_sent"] + st["datagrams_dropped"] + st["tails"]
        d = _settled(c, before, sent)
        assert d["stored"] + d["dropped"] + d["lost"] == sent, (d, sent)
        overloaded = overloaded or d["dropped"] + d["lost"] > 0
    assert overloaded, "the senders never overloaded the collector"
