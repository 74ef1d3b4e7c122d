"""Loss accounting: only datagrams that decode move a sender's sequence, a sender is
known by its id whatever socket it comes through, restarts and reordering are no loss.
Every case runs against the compiled build and the twin; the two tables are also
compared step by step on random sequences."""

from __future__ import annotations

import random
import socket

import pytest
from native_helpers import dgram, load_build, wait_for


@pytest.fixture
def pairs():
    made = []

    def make():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        made.append((a, b))
        return a, b

    yield make
    for a, b in made:
        a.close()
        b.close()


def _run(recv_mod, make_ring, pairs, plan, *, sockets: int = 1, shared: bool = True) -> dict[str, int]:
    """Send ``plan`` = [(socket index, datagram bytes)] in order, one receiver per socket."""
    ring = make_ring(4 << 20)
    table = recv_mod.SenderTable() if shared else None
    ends = [pairs() for _ in range(sockets)]
    receivers = [recv_mod.Receiver(b.fileno(), [ring], "unix", senders=table) for _, b in ends]
    for r in receivers:
        r.start()
    try:
        for i, (k, data) in enumerate(plan):
            ends[k][0].send(data)
            # One socket at a time, in order: wait until this datagram was read.
            assert wait_for(lambda n=i + 1: sum(r.stats()["received"] for r in receivers) == n)
            ring.pop_many(1 << 20)
    finally:
        for r in receivers:
            r.stop()
    total: dict[str, int] = {}
    for r in receivers:
        for key, value in r.stats().items():
            total[key] = total.get(key, 0) + value
    return total


def test_a_sender_that_changes_socket_shows_no_phantom_loss(recv_mod, make_ring, pairs):
    # Seen: a sender whose source port changes lands on another SO_REUSEPORT socket;
    # each receiver kept its own table and counted the other's share as lost.
    plan = [(0, dgram(5, s)) for s in range(0, 10)]
    plan += [(1, dgram(5, s)) for s in range(10, 20)]
    plan += [(0, dgram(5, s)) for s in range(20, 30)]
    stats = _run(recv_mod, make_ring, pairs, plan, sockets=2)
    assert stats["accepted"] == 30
    assert stats["lost"] == 0
    assert stats["reordered"] == 0


def test_garbage_with_a_valid_header_moves_no_sequence(recv_mod, make_ring, pairs):
    # Seen: datagrams that did not decode still set their sender's next sequence number.
    good = dgram(6, 0)
    garbage = [
        good[:8] + (6).to_bytes(8, "little") + (10**9).to_bytes(4, "little") + b"\xc1" * 40,  # not msgpack
        good[:4] + b"\x07\x00" + good[6:16] + (5000).to_bytes(4, "little") + good[20:],  # count differs
        good[:3] + b"\x01" + good[4:16] + (7000).to_bytes(4, "little") + b"\xff\xff\xff\x7f",  # LZ4 > 1 MiB
    ]
    plan = [(0, good)] + [(0, g) for g in garbage] + [(0, dgram(6, 1)), (0, dgram(6, 2))]
    stats = _run(recv_mod, make_ring, pairs, plan)
    assert stats["dropped_bad_payload"] == 3
    assert stats["accepted"] == 3
    assert stats["lost"] == 0
    assert stats["reordered"] == 0


def test_a_sender_restarting_its_sequence_starts_a_new_epoch(recv_mod, make_ring, pairs):
    plan = [(0, dgram(7, s, spans=0)) for s in range(0, 300)]
    plan += [(0, dgram(7, s, spans=0)) for s in (0, 1, 2, 4)]  # restarted; 3 is lost
    stats = _run(recv_mod, make_ring, pairs, plan)
    assert stats["lost"] == 1
    assert stats["reordered"] == 0


def test_a_new_sender_seen_first_just_after_zero_counts_what_it_missed(recv_mod, make_ring, pairs):
    plan = [(0, dgram(8, 3)), (0, dgram(8, 4)), (0, dgram(9, 5000))]
    stats = _run(recv_mod, make_ring, pairs, plan)
    assert stats["lost"] == 3  # 0, 1, 2 of sender 8; sender 9 joined mid-stream


def test_an_implausible_jump_is_a_new_epoch_not_loss(recv_mod, make_ring, pairs):
    plan = [(0, dgram(10, 0)), (0, dgram(10, 1 << 24)), (0, dgram(10, (1 << 24) + 2))]
    stats = _run(recv_mod, make_ring, pairs, plan)
    assert stats["lost"] == 1


def test_late_datagrams_within_the_window_are_reordered_not_lost(recv_mod, make_ring, pairs):
    order = list(range(200))
    order[50], order[60] = order[60], order[50]
    plan = [(0, dgram(11, s, spans=0)) for s in order]
    stats = _run(recv_mod, make_ring, pairs, plan)
    assert stats["lost"] - stats["reordered"] == 0


def test_both_builds_keep_the_same_books():
    compiled, twin = load_build("recv", "compiled"), load_build("recv", "twin")
    rng = random.Random(5)
    a, b = compiled.SenderTable(64), twin.SenderTable(64)
    senders = [rng.getrandbits(64) for _ in range(40)] + list(range(1, 20))
    next_seq = dict.fromkeys(senders, 0)
    for _ in range(20_000):
        sender = rng.choice(senders)
        roll = rng.random()
        if roll < 0.7:
            seq = next_seq[sender]
        elif roll < 0.8:
            seq = next_seq[sender] + rng.randrange(1, 100)
        elif roll < 0.9:
            seq = next_seq[sender] - rng.randrange(1, 2000)
        elif roll < 0.95:
            seq = rng.randrange(0, 70)
        else:
            seq = rng.getrandbits(32)
        seq &= 0xFFFFFFFF
        next_seq[sender] = seq + 1
        assert a.see(sender, seq) == b.see(sender, seq), (sender, seq)
