"""Fuzzed datagrams over real sockets: the receiver never dies and counts every
datagram in exactly one outcome, the one ``agenttrace.wire.decode_header`` and the
payload framing rule imply."""

from __future__ import annotations

import random
import socket
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from native_helpers import OUTCOMES, outcomes, wait_for

from agenttrace.collector.sockets import open_udp_sockets
from agenttrace.errors import WireError
from agenttrace.wire import decode_header, encode

MAX_RECORD = 1024


def _framing(flags: int, span_count: int, payload: bytes) -> str | None:
    """The receiver's payload framing rule (docs/receive-path.md), modelled plainly."""
    if flags & 0x01:  # LZ4: a u32 length, at most 1 MiB
        if len(payload) < 4:
            return "dropped_truncated"
        return "dropped_bad_payload" if int.from_bytes(payload[:4], "little") > 1 << 20 else None
    if not payload:
        return "dropped_truncated"
    size = {0xDC: 2, 0xDD: 4}.get(payload[0])
    if size is None:
        if not 0x90 <= payload[0] <= 0x9F:
            return "dropped_bad_payload"
        count = payload[0] & 0x0F
    elif len(payload) < 1 + size:
        return "dropped_truncated"
    else:
        count = int.from_bytes(payload[1 : 1 + size], "big")
    return None if count == span_count else "dropped_bad_payload"


def expected_outcome(data: bytes) -> str:
    try:
        header = decode_header(data)
    except WireError as exc:
        return "dropped_" + exc.reason
    bad = _framing(header.flags, header.span_count, data[20:])
    if bad:
        return bad
    return "dropped_oversize" if len(data) > MAX_RECORD else "accepted"


@st.composite
def datagrams(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "valid", "mutated", "cut"]))
    if kind == "random":
        return draw(st.binary(max_size=MAX_RECORD + 200))
    valid = encode([], sender_id=draw(st.integers(0, 2**64 - 1)), seq=draw(st.integers(0, 2**32 - 1)))
    valid += draw(st.binary(max_size=MAX_RECORD + 100))
    if kind == "valid":
        return valid
    if kind == "cut":
        return valid[: draw(st.integers(0, 25))]
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 3))):
        data[draw(st.integers(0, 19))] = draw(st.integers(0, 255))
    return bytes(data)


def test_fuzzed_datagrams_each_counted_once(make_ring, recv_mod) -> None:
    ring = make_ring(1 << 20, max_record=MAX_RECORD)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver = recv_mod.Receiver(b.fileno(), [ring], "unix")
    receiver.start()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(datagrams(), max_size=40))
    def check(batch: list[bytes]) -> None:
        before = receiver.stats()
        for data in batch:
            a.send(data)
        assert wait_for(lambda: receiver.stats()["received"] == before["received"] + len(batch))
        after = receiver.stats()
        want = {k: 0 for k in OUTCOMES}
        for data in batch:
            want[expected_outcome(data)] += 1
        assert {k: after[k] - before[k] for k in OUTCOMES} == want
        assert after["errors"] == 0
        accepted = [d for d in batch if expected_outcome(d) == "accepted"]
        assert ring.pop_many(len(batch) + 1) == accepted

    try:
        check()
    finally:
        receiver.stop()
        a.close()
        b.close()


def test_fuzz_at_full_rate_over_udp(make_ring, recv_mod) -> None:
    rings = [make_ring(1 << 22, max_record=MAX_RECORD) for _ in range(2)]
    socks = open_udp_sockets("127.0.0.1", 0, 2, 4 << 20)
    addr = socks[0].getsockname()
    receivers = [recv_mod.Receiver(s.fileno(), rings, "udp") for s in socks]
    rng = random.Random(4319)
    valid = encode([], sender_id=1, seq=0)
    pool = [rng.randbytes(rng.randrange(0, 1500)) for _ in range(200)]
    pool += [valid[:i] for i in range(25)] + [valid + rng.randbytes(rng.randrange(2000)) for _ in range(50)]
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
    sent = 20_000
    try:
        for r in receivers:
            r.start()
        for i in range(sent):  # as fast as this process can send
            senders[i % 4].sendto(pool[i % len(pool)], addr)

        def seen() -> int:
            return sum(r.stats()["received"] + r.stats()["kernel_dropped"] for r in receivers)

        assert wait_for(lambda: seen() >= sent, timeout=30)
        time.sleep(0.05)
    finally:
        for r in receivers:
            r.stop()
        for s in (*socks, *senders):
            s.close()
    stats = [r.stats() for r in receivers]
    assert sum(s["received"] + s["kernel_dropped"] for s in stats) == sent
    for s in stats:
        assert outcomes(s) == s["received"]
        assert s["errors"] == 0
    assert sum(r.stats()["pushed"] for r in rings) == sum(s["accepted"] for s in stats)
