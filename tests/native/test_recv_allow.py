"""The receivers' source allow list, compiled build and twin alike (issue 20)."""

from __future__ import annotations

import socket

import pytest
from native_helpers import dgram, outcomes, wait_for


@pytest.fixture
def pair():
    """A connected Unix datagram socket pair: (sender, receiving end)."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    yield a, b
    a.close()
    b.close()


def _udp_receiver_socket(family: int = socket.AF_INET, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    return sock


def _send_from(host: str, dest: tuple, payloads: list[bytes], family: int = socket.AF_INET) -> None:
    sender = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sender.bind((host, 0))
        for p in payloads:
            sender.sendto(p, dest)
    finally:
        sender.close()


def test_sources_outside_the_allow_list_are_dropped_and_counted(make_ring, recv_mod) -> None:
    ring = make_ring(1 << 16)
    sock = _udp_receiver_socket()
    try:
        # 127.0.0.2 is loopback but outside 127.0.0.1/32: a real second source address.
        with recv_mod.Receiver(sock.fileno(), [ring], "udp", allow=["127.0.0.1/32", "10.0.0.0/8"]) as receiver:
            _send_from("127.0.0.2", sock.getsockname(), [dgram(7, s) for s in range(5)])
            _send_from("127.0.0.1", sock.getsockname(), [dgram(8, s) for s in range(3)])
            assert wait_for(lambda: receiver.stats()["received"] == 8)
        stats = receiver.stats()
    finally:
        sock.close()
    assert stats["dropped_not_allowed"] == 5
    assert stats["accepted"] == 3
    assert outcomes(stats) == stats["received"]
    # Refused datagrams never reach the sequence table: no phantom loss for sender 7.
    assert stats["lost"] == 0
    assert [d[8] for d in ring.pop_many(10)] == [8, 8, 8]


def test_an_allow_list_without_loopback_drops_loopback_traffic(make_ring, recv_mod) -> None:
    ring = make_ring(1 << 16)
    sock = _udp_receiver_socket()
    try:
        with recv_mod.Receiver(sock.fileno(), [ring], "udp", allow=["10.0.0.0/8"]) as receiver:
            _send_from("127.0.0.1", sock.getsockname(), [dgram(1, s) for s in range(4)] + [b"garbage"])
            assert wait_for(lambda: receiver.stats()["received"] == 5)
        stats = receiver.stats()
    finally:
        sock.close()
    # Checked before the header: even garbage from outside counts as not_allowed.
    assert (stats["dropped_not_allowed"], stats["accepted"], stats["dropped_bad_magic"]) == (5, 0, 0)


def test_ipv6_sources_and_v4_mapped_rules(make_ring, recv_mod) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    ring = make_ring(1 << 16)
    try:
        sock = _udp_receiver_socket(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no ::1 on this machine")
    try:
        dest = sock.getsockname()
        with recv_mod.Receiver(sock.fileno(), [ring], "udp", allow=["127.0.0.0/8"]) as refusing:
            _send_from("::1", dest, [dgram(1, 0)], socket.AF_INET6)
            assert wait_for(lambda: refusing.stats()["received"] == 1)
        assert refusing.stats()["dropped_not_allowed"] == 1
        with recv_mod.Receiver(sock.fileno(), [ring], "udp", allow=["::1"]) as allowing:
            _send_from("::1", dest, [dgram(1, 1)], socket.AF_INET6)
            assert wait_for(lambda: allowing.stats()["received"] == 1)
        assert allowing.stats()["accepted"] == 1
    finally:
        sock.close()


def test_unix_datagrams_are_always_allowed(make_ring, recv_mod, pair) -> None:
    a, b = pair
    ring = make_ring(1 << 16)
    with recv_mod.Receiver(b.fileno(), [ring], "unix", allow=["10.0.0.0/8"]) as receiver:
        a.send(dgram(1, 0))
        assert wait_for(lambda: receiver.stats()["received"] == 1)
    assert receiver.stats()["accepted"] == 1


def test_no_allow_list_accepts_every_source(make_ring, recv_mod) -> None:
    ring = make_ring(1 << 16)
    sock = _udp_receiver_socket()
    try:
        with recv_mod.Receiver(sock.fileno(), [ring], "udp") as receiver:
            _send_from("127.0.0.2", sock.getsockname(), [dgram(1, 0)])
            assert wait_for(lambda: receiver.stats()["received"] == 1)
    finally:
        sock.close()
    assert receiver.stats()["accepted"] == 1
