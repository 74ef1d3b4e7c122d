"""Receivers over real sockets: what arrives, what is dropped and why, what is lost."""

from __future__ import annotations

import os
import random
import socket
import stat
import threading
import time
from collections import Counter

import pytest
from native_helpers import dgram, load_build, wait_for

from agenttrace.collector.sockets import open_udp_sockets, open_unix_socket, rcvbuf_warning


@pytest.fixture
def pair():
    """A connected Unix datagram socket pair: (sender, receiving end)."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    yield a, b
    a.close()
    b.close()


def drain(rings) -> list[bytes]:
    out: list[bytes] = []
    for ring in rings:
        out.extend(ring.pop_many(1 << 20))
    return out


def test_udp_reuseport_counts_match_and_spread_over_rings(make_ring, recv_mod) -> None:
    rings = [make_ring(1 << 20) for _ in range(3)]
    socks = open_udp_sockets("127.0.0.1", 0, 3, 4 << 20)
    port = socks[0].getsockname()[1]
    receivers = [recv_mod.Receiver(s.fileno(), rings, "udp") for s in socks]
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
    sent: list[bytes] = []
    try:
        for r in receivers:
            r.start()
        for seq in range(400):
            for k, snd in enumerate(senders):
                data = dgram(k + 1, seq, spans=1 + seq % 3, size=seq % 50)
                snd.sendto(data, ("127.0.0.1", port))
                sent.append(data)
            if seq % 20 == 0:
                time.sleep(0.002)  # let a slow (twin) receiver keep up with loopback

        def total(key: str) -> int:
            return sum(r.stats()[key] for r in receivers)

        assert wait_for(lambda: total("received") + total("kernel_dropped") >= len(sent))
    finally:
        for r in receivers:
            r.stop()
        for s in (*socks, *senders):
            s.close()
    stats = [r.stats() for r in receivers]
    received = sum(s["received"] for s in stats)
    assert received + sum(s["kernel_dropped"] for s in stats) == len(sent)
    assert sum(s["accepted"] for s in stats) == received
    assert sum(s["lost"] for s in stats) == sum(s["kernel_dropped"] for s in stats)
    per_ring = [r.stats()["pushed"] for r in rings]
    got = drain(rings)
    assert len(got) == received
    assert sum(s["spans"] for s in stats) == sum(d[4] for d in got)  # the headers' span counts
    assert not Counter(got) - Counter(sent)  # every popped datagram is one that was sent
    assert min(per_ring) > received / (2 * len(rings)), per_ring  # all workers get work


def test_unix_socket_counts_match_exactly(make_ring, recv_mod, tmp_path) -> None:
    rings = [make_ring(1 << 20), make_ring(1 << 20)]
    path = tmp_path / "collector.sock"
    sock = open_unix_socket(path, 1 << 20)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    receiver = recv_mod.Receiver(sock.fileno(), rings, "unix")
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sent = [dgram(7, seq, spans=2, size=seq % 300) for seq in range(3000)]
    with receiver:
        for data in sent:
            sender.sendto(data, str(path))  # blocks while the queue is full: nothing is lost
        assert wait_for(lambda: receiver.stats()["received"] == len(sent))
    sender.close()
    sock.close()
    stats = receiver.stats()
    assert stats["accepted"] == len(sent)
    assert stats["lost"] == stats["kernel_dropped"] == stats["errors"] == 0
    assert stats["bytes"] == sum(map(len, sent))
    assert stats["spans"] == 2 * len(sent)
    assert sorted(drain(rings)) == sorted(sent)


def test_bad_headers_are_dropped_and_counted_by_reason(make_ring, recv_mod, pair) -> None:
    a, b = pair
    ring = make_ring(1 << 16)
    good = dgram(1, 0)
    bad = {
        "dropped_bad_magic": [b"XX" + good[2:], b"HTTP/1.1 200 OK", b"{}"],
        "dropped_unknown_version": [good[:2] + b"\x02" + good[3:], good[:2] + b"\x00" + good[3:]],
        "dropped_truncated": [b"", b"A", b"AT", good[:19]],
    }
    with recv_mod.Receiver(b.fileno(), [ring], "unix") as receiver:
        for datagrams in bad.values():
            for data in datagrams:
                a.send(data)
        a.send(good)
        assert wait_for(lambda: receiver.stats()["received"] == 10)
    stats = receiver.stats()
    for reason, datagrams in bad.items():
        assert stats[reason] == len(datagrams), reason
    assert stats["accepted"] == 1
    assert ring.pop_many(10) == [good]


def test_sequence_gaps_are_lost_and_late_ones_reordered(make_ring, recv_mod, pair) -> None:
    a, b = pair
    ring = make_ring(1 << 16)
    plan = [(1, s) for s in (0, 1, 2, 5, 6, 7)]  # sender 1 skips 3 and 4
    plan += [(2, s) for s in (1000, 1001, 1003, 1002, 1003)]  # 1002 comes late, 1003 twice
    plan += [(3, s) for s in (0xFFFFFFFE, 0xFFFFFFFF, 0, 1)]  # wraps at 2**32
    plan += [(4, 100)]  # a sender first seen mid-stream loses nothing
    with recv_mod.Receiver(b.fileno(), [ring], "unix") as receiver:
        for sender, seq in plan:
            a.send(dgram(sender, seq))
        assert wait_for(lambda: receiver.stats()["received"] == len(plan))
    stats = receiver.stats()
    assert stats["lost"] == 2 + 1  # 3, 4 of sender 1; 1002 of sender 2 (counted before it came)
    assert stats["reordered"] == 2  # the late 1002 and the repeated 1003
    assert stats["accepted"] == len(plan)  # late and duplicate datagrams are still stored


def test_full_ring_drops_and_counts_and_never_blocks(make_ring, recv_mod, pair) -> None:
    a, b = pair
    ring = make_ring(4096, max_record=1024)
    sent = [dgram(5, seq, size=60) for seq in range(60)]
    with recv_mod.Receiver(b.fileno(), [ring], "unix") as receiver:
        for data in sent:
            a.send(data)
        assert wait_for(lambda: receiver.stats()["received"] == len(sent))
        stats = receiver.stats()
        assert stats["dropped_ring_full"] > 0
        assert stats["accepted"] + stats["dropped_ring_full"] == len(sent)
        assert ring.stats()["dropped_full"] == stats["dropped_ring_full"]
        assert ring.pop_many(1000) == sent[: stats["accepted"]]
        # Room again: the receiver carries on.
        a.send(dgram(5, 60))
        assert wait_for(lambda: receiver.stats()["accepted"] == stats["accepted"] + 1)
    assert receiver.stats()["lost"] == 0  # dropped for room is not lost on the network


def test_oversize_datagrams_are_counted(make_ring, recv_mod, pair) -> None:
    a, b = pair
    ring = make_ring(1 << 16, max_record=1024)
    big = dgram(9, 0, size=3000)
    fits = dgram(9, 1, size=900)
    assert len(big) > 1024 >= len(fits)
    with recv_mod.Receiver(b.fileno(), [ring], "unix") as receiver:
        a.send(big)
        a.send(fits)
        assert wait_for(lambda: receiver.stats()["received"] == 2)
    stats = receiver.stats()
    assert stats["dropped_oversize"] == 1 and stats["accepted"] == 1
    assert stats["bytes"] == len(big) + len(fits)
    assert ring.pop_many(5) == [fits]


@pytest.mark.parametrize("source", ["meminfo", "cmsg"])
def test_kernel_drops_are_reported(make_ring, recv_mod, monkeypatch, source: str) -> None:
    real_drops = recv_mod.socket_drops
    if source == "cmsg":  # only the SO_RXQ_OVFL control message may tell
        monkeypatch.setattr(recv_mod, "socket_drops", lambda fd: 0)
    ring = make_ring(1 << 20)
    (sock,) = open_udp_sockets("127.0.0.1", 0, 1, 4096)  # a tiny buffer overflows at once
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver = recv_mod.Receiver(sock.fileno(), [ring], "udp")
    try:
        for seq in range(200):  # nobody reads yet
            sender.sendto(dgram(3, seq, size=500), sock.getsockname())
        receiver.start()
        assert wait_for(lambda: receiver.stats()["received"] + real_drops(sock.fileno()) == 200)
        sender.sendto(dgram(3, 200), sock.getsockname())  # carries SO_RXQ_OVFL; shows the gap
        assert wait_for(lambda: receiver.stats()["received"] + receiver.stats()["kernel_dropped"] == 201)
    finally:
        receiver.stop()
        sender.close()
        sock.close()
    stats = receiver.stats()
    assert stats["kernel_dropped"] > 0
    assert stats["lost"] == stats["kernel_dropped"]  # the sequence gaps say the same


def test_stop_is_prompt_and_start_twice_refused(make_ring, recv_mod, pair) -> None:
    _, b = pair
    ring = make_ring(1 << 16)
    receiver = recv_mod.Receiver(b.fileno(), [ring], "unix")
    receiver.start()
    with pytest.raises(RuntimeError):
        receiver.start()
    with pytest.raises(RuntimeError):
        ring.close()  # the running receiver holds it
    stopper = threading.Thread(target=receiver.stop)
    stopper.start()
    stopper.join(5)  # ~POLL_MS in practice; 5 s only catches a hang
    assert not stopper.is_alive()
    receiver.stop()  # idempotent
    assert b.fileno() >= 0  # the caller's socket is untouched


def test_constructor_refuses_bad_arguments(make_ring, recv_mod, pair) -> None:
    _, b = pair
    ring = make_ring(1 << 16)
    with pytest.raises(ValueError):
        recv_mod.Receiver(b.fileno(), [ring], "tcp")
    with pytest.raises(ValueError):
        recv_mod.Receiver(b.fileno(), [], "unix")
    r, w = os.pipe()
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError):
            recv_mod.Receiver(r, [ring], "unix")  # not a socket
        with pytest.raises(ValueError, match="datagram"):
            recv_mod.Receiver(tcp.fileno(), [ring], "udp")
    finally:
        os.close(r)
        os.close(w)
        tcp.close()


def test_compiled_receiver_feeds_twin_rings(pair) -> None:
    recv_c = load_build("recv", "compiled")
    ring_py = load_build("ring", "twin")
    a, b = pair
    ring = ring_py.Ring.create(1 << 16)
    try:
        sent = [dgram(1, s, size=s) for s in range(100)]
        with recv_c.Receiver(b.fileno(), [ring], "unix") as receiver:
            for data in sent:
                a.send(data)
            assert wait_for(lambda: receiver.stats()["received"] == len(sent))
        assert ring.pop_many(1000) == sent
    finally:
        ring.close()
        ring.unlink()


def test_rcvbuf_warning_names_the_sysctl() -> None:
    with open("/proc/sys/net/core/rmem_max") as f:
        rmem_max = int(f.read())
    asked = rmem_max * 4
    (sock,) = open_udp_sockets("127.0.0.1", 0, 1, asked)
    try:
        warning = rcvbuf_warning(sock, asked)
        assert warning is not None and warning.endswith(f"sysctl -w net.core.rmem_max={asked}")
        assert rcvbuf_warning(sock, 4096) is None
    finally:
        sock.close()


def test_unix_socket_replaces_a_stale_socket_but_not_a_file(tmp_path) -> None:
    path = tmp_path / "s.sock"
    first = open_unix_socket(path, 0)
    first.close()  # leaves the socket file behind, as a crash would
    second = open_unix_socket(path, 0, mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second.close()
    other = tmp_path / "data.txt"
    other.write_text("keep me")
    with pytest.raises(FileExistsError):
        open_unix_socket(other, 0)
    assert other.read_text() == "keep me"


def test_sequence_table_evicts_least_recently_seen_sender_of_its_set(make_ring, recv_mod, pair) -> None:
    a, b = pair
    ring = make_ring(4 << 20, max_record=64)
    rng = random.Random(11)
    senders = [rng.getrandbits(64) for _ in range(6000)]  # more than SEQ_TABLE_SIZE (4096) slots
    # Independent model of the documented rule: 8-way sets, Fibonacci hash, LRU per set.
    nsets = recv_mod.SEQ_TABLE_SIZE // recv_mod.SEQ_WAYS
    sets: dict[int, list[int]] = {}
    for sender in senders:  # first pass: each set keeps its 8 most recent senders
        ways = sets.setdefault((((sender * 0x9E3779B97F4A7C15) % 2**64) >> 32) % nsets, [])
        ways.append(sender)
        del ways[: -recv_mod.SEQ_WAYS]
    # Second pass in reverse, seq 102 (seq 101 never sent): a tracked sender shows a gap
    # of 1 and is refreshed; an evicted one comes back as new (mid-stream: nothing lost)
    # and evicts the least recently seen of its set.
    expected_lost = 0
    for sender in reversed(senders):
        ways = sets[(((sender * 0x9E3779B97F4A7C15) % 2**64) >> 32) % nsets]
        if sender in ways:
            expected_lost += 1
            ways.remove(sender)
        ways.append(sender)
        del ways[: -recv_mod.SEQ_WAYS]
    # Uneven sets: fewer hits than a table-wide LRU (which would keep the last 4096).
    assert 0 < expected_lost < recv_mod.SEQ_TABLE_SIZE
    with recv_mod.Receiver(b.fileno(), [ring], "unix") as receiver:
        for seq, order in ((100, senders), (102, senders[::-1])):
            for sender in order:
                a.send(dgram(sender, seq, spans=0))
            ring.pop_many(1 << 20)
        assert wait_for(lambda: receiver.stats()["received"] == 2 * len(senders))
    assert receiver.stats()["lost"] == expected_lost


def test_receivers_sharing_one_ring_take_turns(make_ring, recv_mod) -> None:
    """Four receive threads drain full sockets into one ring at once: every datagram
    arrives whole and each sender's datagrams stay in order (the ring's producer claim
    serializes the threads)."""
    ring = make_ring(1 << 23)
    socks = [open_udp_sockets("127.0.0.1", 0, 1, 4 << 20)[0] for _ in range(4)]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    per_sender = 3000
    sent = {k: [dgram(k, seq, size=(seq * 7 + k) % 200) for seq in range(per_sender)] for k in range(4)}
    receivers = [recv_mod.Receiver(s.fileno(), [ring], "udp") for s in socks]
    got: list[bytes] = []
    try:
        for k, sock in enumerate(socks):  # queue everything first, so the threads overlap
            for data in sent[k]:
                sender.sendto(data, sock.getsockname())
        for r in receivers:
            r.start()

        def done() -> bool:
            got.extend(ring.pop_many(1 << 16))
            return all(r.stats()["received"] + r.stats()["kernel_dropped"] >= per_sender for r in receivers)

        assert wait_for(done, timeout=60)
    finally:
        for r in receivers:
            r.stop()
        for sock in (*socks, sender):
            sock.close()
    got.extend(ring.pop_many(1 << 16))
    by_sender: dict[int, list[bytes]] = {k: [] for k in range(4)}
    for data in got:
        by_sender[int.from_bytes(data[8:16], "little")].append(data)
    for k in range(4):
        index = {data: i for i, data in enumerate(sent[k])}
        positions = [index[data] for data in by_sender[k]]  # KeyError: a damaged datagram
        assert positions == sorted(positions)
    assert len(got) == sum(r.stats()["accepted"] for r in receivers) > per_sender
