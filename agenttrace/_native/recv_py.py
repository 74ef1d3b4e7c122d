"""Pure-Python twin of ``recv.pyx``: a receive thread per socket that checks each
datagram's 20-byte header, tracks every sender's sequence numbers and pushes the
datagram into the emptiest ring.

Every datagram read from the socket is counted in ``received`` and in exactly one
outcome: ``accepted`` (now in a ring) or one of the ``dropped_*`` counters. Only a
datagram whose header and payload framing are valid (:func:`classify`) updates its
sender's sequence state, in a :class:`SenderTable` that the receivers of one
collector share. The
outcome is counted first, so a snapshot never shows more ``received`` than outcomes. Besides,
``lost`` counts sequence numbers never seen (gaps), ``reordered`` datagrams that came
after a later one of the same sender, and ``kernel_dropped`` the socket's own drop
counter (SO_RXQ_OVFL) as last reported by the kernel.

``allow`` (UDP only) is a list of networks (CIDR strings or ``ipaddress`` networks);
a datagram whose source address is in none of them is counted in
``dropped_not_allowed``, before its header is read and without touching the
sequence table. ``None`` accepts every source. Both builds compare the source as 16
bytes (IPv4 as ``::ffff:a.b.c.d``) against each network's address and mask, so they
agree on every address.

    >>> import socket
    >>> from agenttrace._native.ring_py import Ring
    >>> from agenttrace.wire import encode
    >>> a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    >>> ring = Ring.create(1 << 16)
    >>> r = Receiver(b.fileno(), [ring], "unix")
    >>> r.start(); _ = a.send(encode([], sender_id=1, seq=0)); r.stop()
    >>> r.stats()["accepted"], len(ring.pop())
    (1, 21)
    >>> ring.close(); ring.unlink(); a.close(); b.close()
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import select
import socket
import struct
import threading
from collections.abc import Sequence
from typing import Any

__all__ = [
    "BATCH",
    "COUNTERS",
    "MAX_GAP",
    "POLL_MS",
    "REORDER_WINDOW",
    "SEQ_GRACE",
    "SEQ_TABLE_SIZE",
    "SEQ_WAYS",
    "Receiver",
    "SenderTable",
    "allow_rules",
    "check_datagram_socket",
    "classify",
    "socket_drops",
]

log = logging.getLogger("agenttrace.recv")

BATCH = 32  # datagrams per recvmmsg (compiled) / per ring choice (twin)
POLL_MS = 50  # how long a receive thread waits for data before looking at stop()
SEQ_TABLE_SIZE = 4096  # senders tracked per receiver
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
HEADER_SIZE = 20
_MAGIC = b"AT"
_VERSION = 1
_ID_SEQ = struct.Struct("<QI")
_U32 = struct.Struct("=I")
_U32_LE = struct.Struct("<I")

COUNTERS = (
    "received",
    "bytes",
    "accepted",
    "kernel_dropped",
    "lost",
    "reordered",
    "dropped_ring_full",
    "dropped_oversize",
    "dropped_bad_magic",
    "dropped_unknown_version",
    "dropped_truncated",
    "errors",
    "spans",  # spans in the accepted datagrams (their headers' span count)
    "dropped_bad_payload",
    "dropped_not_allowed",
)
MAX_ALLOW_RULES = 256

SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)
_SK_MEMINFO_DROPS = 8  # index in the u32 array SO_MEMINFO returns (Linux >= 4.6)


def socket_drops(fd: int) -> int:
    """The kernel's drop count of the socket ``fd`` right now (0 if unknown). The
    SO_RXQ_OVFL cmsg only arrives with a later datagram; this also sees drops at
    the end of a burst."""
    sock = socket.socket(fileno=fd)
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * 9)
    except OSError:
        return 0
    finally:
        sock.detach()
    if len(raw) < 4 * (_SK_MEMINFO_DROPS + 1):
        return 0
    return struct.unpack_from("=I", raw, 4 * _SK_MEMINFO_DROPS)[0]


def check_datagram_socket(fd: int) -> None:
    """Raise OSError (ENOTSOCK) unless ``fd`` is a socket, ValueError unless a datagram one."""
    sock = socket.socket(fileno=fd)
    try:
        if sock.type != socket.SOCK_DGRAM:
            raise ValueError(f"fd {fd} is a {sock.type.name} socket; a receiver needs a datagram socket")
    finally:
        sock.detach()


_V4_MAPPED = 0xFFFF << 32


def allow_rules(allow: Sequence[Any] | None) -> list[tuple[int, int]] | None:
    """``allow`` as (network, mask) pairs of 128-bit integers, IPv4 mapped into
    ``::ffff:0:0/96``; None when every source is allowed.

        >>> [(hex(n), hex(m)) for n, m in allow_rules(["10.0.0.0/8"])]
        [('0xffff0a000000', '0xffffffffffffffffffffffffff000000')]
    """
    if allow is None:
        return None
    rules = []
    for item in allow:
        net = (
            item
            if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network)
            else ipaddress.ip_network(str(item), strict=False)
        )
        if net.version == 4:
            value, prefix = _V4_MAPPED | int(net.network_address), 96 + net.prefixlen
        else:
            value, prefix = int(net.network_address), net.prefixlen
        mask = ((1 << 128) - 1) ^ ((1 << (128 - prefix)) - 1)
        rules.append((value & mask, mask))
    if len(rules) > MAX_ALLOW_RULES:
        raise ValueError(f"at most {MAX_ALLOW_RULES} allowed networks, got {len(rules)}")
    return rules


def _source_value(addr: Any) -> int | None:
    """A recvmsg source address as the 128-bit integer allow rules are matched on."""
    if not isinstance(addr, tuple) or not addr:
        return None
    host = addr[0].partition("%")[0]  # an IPv6 scope (fe80::1%eth0) is not part of the address
    if len(addr) == 2:
        return _V4_MAPPED | int.from_bytes(socket.inet_pton(socket.AF_INET, host), "big")
    return int.from_bytes(socket.inet_pton(socket.AF_INET6, host), "big")


def source_allowed(rules: list[tuple[int, int]] | None, addr: Any) -> bool:
    """True when ``addr`` (as recvmsg returns it) is in one of ``rules``."""
    if rules is None:
        return True
    value = _source_value(addr)
    if value is None:
        return False
    return any(value & mask == net for net, mask in rules)


# classify() outcomes
OK, BAD_MAGIC, UNKNOWN_VERSION, TRUNCATED, BAD_PAYLOAD = 0, 1, 2, 3, 4
_FLAG_LZ4 = 0x01
_MAX_RAW_PAYLOAD = 1 << 20


def classify(head: bytes | memoryview, length: int) -> int:
    """Check one datagram of ``length`` bytes whose first bytes are ``head`` (at least
    the 20-byte header and, when the datagram has them, the next 5): the header rules
    of :func:`agenttrace.wire.decode_header`, and the payload's framing (the msgpack
    array header must announce ``span_count`` spans; an LZ4 payload must carry its
    length). Only a datagram that passes updates its sender's sequence state."""
    if length < HEADER_SIZE:
        if length >= 2 and bytes(head[:2]) != _MAGIC:
            return BAD_MAGIC
        return TRUNCATED
    if bytes(head[:2]) != _MAGIC:
        return BAD_MAGIC
    if head[2] != _VERSION:
        return UNKNOWN_VERSION
    avail = min(len(head), length) - HEADER_SIZE
    if head[3] & _FLAG_LZ4:
        if avail < 4:
            return TRUNCATED
        raw_len = _U32_LE.unpack_from(head, HEADER_SIZE)[0]
        return BAD_PAYLOAD if raw_len > _MAX_RAW_PAYLOAD else OK
    if avail < 1:
        return TRUNCATED
    b = head[HEADER_SIZE]
    if 0x90 <= b <= 0x9F:
        count = b & 0x0F
    elif b == 0xDC:
        if avail < 3:
            return TRUNCATED
        count = (head[HEADER_SIZE + 1] << 8) | head[HEADER_SIZE + 2]
    elif b == 0xDD:
        if avail < 5:
            return TRUNCATED
        count = int.from_bytes(bytes(head[HEADER_SIZE + 1 : HEADER_SIZE + 5]), "big")
    else:
        return BAD_PAYLOAD
    return OK if count == head[4] | (head[5] << 8) else BAD_PAYLOAD


SEQ_WAYS = 8  # the table is set-associative: a sender may live in one of 8 slots
# Sequence rules (docs/receive-path.md, "Loss accounting"); the compiled build uses the same.
SEQ_GRACE = 64  # a sender's sequence starts at 0: a first sight below this counts the seqs before it
REORDER_WINDOW = 1024  # a datagram at most this far behind is late (it was counted lost; now it came)
MAX_GAP = 1 << 16  # a jump further ahead is not believed to be loss: a new epoch starts there
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


class SenderTable:
    """sender_id → next expected seq, in ``size`` slots grouped in sets of SEQ_WAYS,
    shared by every receiver of a collector (a sender is known by its id, whichever
    socket or source address its datagrams come from).

    A sender hashes to one set; when its set is full the least recently seen sender
    of that set is evicted (and is treated as new if it comes back). The compiled
    receiver uses the same hash and rules, so both builds count the same."""

    def __init__(self, size: int = 0) -> None:
        size = size or SEQ_TABLE_SIZE
        self.nsets = size // SEQ_WAYS
        self.sets: dict[int, list[list[int]]] = {}
        self.tick = 0
        self.lock = threading.Lock()

    def see(self, sender: int, seq: int) -> tuple[int, int]:
        """Record ``seq`` from ``sender``; returns (lost, reordered) increments."""
        with self.lock:
            return self._see(sender, seq)

    def _see(self, sender: int, seq: int) -> tuple[int, int]:
        self.tick += 1
        index = (((sender * _GOLDEN) & _MASK64) >> 32) % self.nsets
        ways = self.sets.setdefault(index, [])
        for slot in ways:
            if slot[0] == sender:
                slot[2] = self.tick
                gap = (seq - slot[1]) & 0xFFFFFFFF
                if gap < MAX_GAP:
                    slot[1] = (seq + 1) & 0xFFFFFFFF
                    return gap, 0
                behind = (slot[1] - seq) & 0xFFFFFFFF
                if behind <= REORDER_WINDOW and not (seq < SEQ_GRACE < behind):
                    return 0, 1
                # A restart (back near 0), or a jump no loss explains: a new epoch.
                slot[1] = (seq + 1) & 0xFFFFFFFF
                return (seq if seq < SEQ_GRACE else 0), 0
        entry = [sender, (seq + 1) & 0xFFFFFFFF, self.tick]
        if len(ways) < SEQ_WAYS:
            ways.append(entry)
        else:
            oldest = min(range(SEQ_WAYS), key=lambda j: ways[j][2])
            ways[oldest] = entry
        return (seq if seq < SEQ_GRACE else 0), 0


class Receiver:
    """Receive datagrams from the socket ``fd`` on a thread and push them into ``rings``.

    The receiver does not own ``fd`` (it works on a duplicate and never closes the
    original). ``transport`` is ``"udp"`` or ``"unix"`` (a label; both are datagram
    sockets). Several receivers may feed the same rings.
    """

    def __init__(
        self,
        fd: int,
        rings: Sequence[Any],
        transport: str,
        *,
        batch: int = BATCH,
        senders: SenderTable | None = None,
        allow: Sequence[Any] | None = None,
    ) -> None:
        if transport not in ("udp", "unix"):
            raise ValueError(f"transport must be 'udp' or 'unix', got {transport!r}")
        if not rings:
            raise ValueError("a receiver needs at least one ring")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        check_datagram_socket(fd)
        self.transport = transport
        self._rings = list(rings)
        self._max_record = min(r.max_record for r in self._rings)
        self._sock = socket.socket(fileno=os.dup(fd))
        self._batch = batch
        # Unix datagrams come from this machine: always allowed.
        self._allow = allow_rules(allow) if transport == "udp" else None
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._seq = senders if senders is not None else SenderTable()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._final_drops = 0
        self.last_error: str | None = None

    def start(self) -> None:
        """Start the receive thread."""
        if self._thread is not None:
            raise RuntimeError("receiver already started")
        for ring in self._rings:
            ring.pinned += 1
        self._thread = threading.Thread(target=self._run, name=f"agenttrace-recv-{self.transport}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (within about POLL_MS) and release the socket duplicate."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        for ring in self._rings:
            ring.pinned -= 1
        self._final_drops = socket_drops(self._sock.fileno())
        self._sock.close()

    def stats(self) -> dict[str, int]:
        """A snapshot of the counters (see the module docstring)."""
        out = dict(self._counts)
        drops = self._final_drops if self._sock.fileno() < 0 else socket_drops(self._sock.fileno())
        out["kernel_dropped"] = max(out["kernel_dropped"], drops)
        return out

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the thread -----------------------------------------------------------

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        scratch = bytearray(65536)
        view = memoryview(scratch)
        ancsize = socket.CMSG_SPACE(4)
        while not self._stop.is_set():
            try:
                if not poller.poll(POLL_MS):
                    continue
                self._batch_once(view, ancsize)
            except OSError as exc:
                self._error(exc)
                if exc.errno in (errno.EBADF, errno.ENOTSOCK):
                    return
            except Exception as exc:  # a receive thread never dies silently
                self._error(exc)

    def _error(self, exc: BaseException) -> None:
        self._counts["errors"] += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.error("receiver (%s): %s", self.transport, self.last_error)

    def _pick_ring(self) -> Any:
        return min(self._rings, key=lambda r: r.fill())

    def _batch_once(self, view: memoryview, ancsize: int) -> None:
        c = self._counts
        ring = self._pick_ring()
        for _ in range(self._batch):
            try:
                n, anc, _flags, addr = self._sock.recvmsg_into([view], ancsize, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(data) >= 4:
                    c["kernel_dropped"] = max(c["kernel_dropped"], _U32.unpack_from(data)[0])
            if self._allow is not None and not source_allowed(self._allow, addr):
                c["dropped_not_allowed"] += 1
            else:
                c[self._outcome(view, n, ring)] += 1
            # Last: whoever sees a datagram in `received` also sees its outcome.
            c["bytes"] += n
            c["received"] += 1

    def _outcome(self, view: memoryview, n: int, ring: Any) -> str:
        verdict = classify(view[: min(n, HEADER_SIZE + 5)], n)
        if verdict == BAD_MAGIC:
            return "dropped_bad_magic"
        if verdict == UNKNOWN_VERSION:
            return "dropped_unknown_version"
        if verdict == TRUNCATED:
            return "dropped_truncated"
        if verdict == BAD_PAYLOAD:
            return "dropped_bad_payload"
        sender, seq = _ID_SEQ.unpack_from(view, 8)
        lost, reordered = self._seq.see(sender, seq)
        self._counts["lost"] += lost
        self._counts["reordered"] += reordered
        if n > self._max_record:
            return "dropped_oversize"
        if ring.push(view[:n]):
            self._counts["spans"] += view[4] | (view[5] << 8)
            return "accepted"
        return "dropped_ring_full"
