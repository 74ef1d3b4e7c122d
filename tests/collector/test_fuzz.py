"""Fuzzed datagrams at full rate against a real collector: no crash, every one counted."""

from __future__ import annotations

import os

from collector_helpers import make_spans
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenttrace._native.recv_py import OK, classify
from agenttrace.wire import encode

_VALID = [encode(make_spans(n), sender_id=0, seq=0, compress=n > 10) for n in (1, 3, 25)]


@st.composite
def datagram(draw) -> bytes:
    """A valid datagram, a mutation of one (bit flips, cuts, splices), or noise."""
    kind = draw(st.sampled_from(["valid", "flip", "cut", "splice", "noise", "header+noise"]))
    base = draw(st.sampled_from(_VALID))
    if kind == "valid":
        return base
    if kind == "noise":
        return draw(st.binary(max_size=300))
    if kind == "header+noise":
        return base[:20] + draw(st.binary(max_size=300))
    data = bytearray(base)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    elif kind == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    else:
        other = draw(st.sampled_from(_VALID))
        data = data[: draw(st.integers(0, len(data)))] + other[draw(st.integers(0, len(other))) :]
    return bytes(data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(datagram(), min_size=1, max_size=200))
def test_every_fuzzed_datagram_is_stored_or_counted(shared_collector, batch):
    c = shared_collector
    before = c.metrics()
    # Keep sender ids and sequence numbers of the senders we impersonate consistent, so
    # every "lost" we see would be a real bug, not a gap the fuzzer made up.
    # (A fresh sender per example: Hypothesis replays examples, and a sender id seen
    # again with its sequence back at 0 would look reordered.)
    sender = int.from_bytes(os.urandom(8), "little")
    stamped = []
    seq = 0
    for d in batch:
        # Only a datagram whose header and framing pass the receiver's check carries a
        # sequence number the collector believes; the others must not use one up.
        if classify(d[:25], len(d)) == OK:
            d = d[:8] + sender.to_bytes(8, "little") + seq.to_bytes(4, "little") + d[20:]
            seq += 1
        stamped.append(d)
    sock = c.udp_socket()
    c.send_udp(stamped, sock)
    sock.close()

    def delta(m, key):
        return m.get(key, 0) - before.get(key, 0)

    def dropped(m):
        return sum(delta(m, k) for k in m if k.startswith("agenttrace_datagrams_dropped_total"))

    m = c.wait_for(
        lambda m: (
            delta(m, 'agenttrace_datagrams_received_total{transport="udp"}') == len(batch)
            and delta(m, "agenttrace_datagrams_stored_total") + dropped(m) == len(batch)
        )
    )
    assert delta(m, "agenttrace_datagrams_lost_total") == 0
    assert sum(v for k, v in m.items() if k.startswith("agenttrace_worker_restarts_total")) == 0
    assert c.proc.poll() is None
