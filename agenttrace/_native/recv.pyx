# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Receive threads (compiled build): ``recvmmsg`` straight into shared-memory ring
slots with the GIL released; no Python object per datagram.

Same names and counters as the twin ``recv_py.py`` (see its docstring for what each
counter means). Per batch the thread picks the emptiest ring it can claim, reserves
up to ``BATCH`` slots of ``max_record`` bytes there, points one iovec into each,
calls ``recvmmsg``, checks every header in C, tracks sequence numbers, compacts the
accepted datagrams into back-to-back records and publishes them with one
store-release. When no ring has room for a slot it still drains the socket (into a
small scratch area, headers only) and counts those datagrams as ``dropped_ring_full``:
a receiver never waits for a worker.
"""

import logging
import os
import threading

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.errno cimport EAGAIN, EBADF, EINTR, EINVAL, ENOTSOCK, errno
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove, memset
from posix.time cimport nanosleep, timespec
from posix.uio cimport iovec


from agenttrace._native.ring cimport (
    Ring,
    RingC,
    at_bump,
    at_bump_release,
    at_flag_load,
    at_load_acquire,
    at_flag_store,
    at_load_relaxed,
    at_store_relaxed,
    at_try_lock,
    at_unlock,
    ring_commit,
    ring_count_dropped,
    ring_free,
    ring_record_size,
    ring_release_claim,
    ring_reserve,
    ring_try_claim,
    sched_yield,
)

from agenttrace._native.recv_py import (
    BATCH,
    COUNTERS,
    MAX_GAP,
    POLL_MS,
    REORDER_WINDOW,
    SEQ_GRACE,
    SEQ_TABLE_SIZE,
    SEQ_WAYS,
    allow_rules,
    check_datagram_socket,
    classify,
    socket_drops,
)

__all__ = [
    "BATCH",
    "COUNTERS",
    "POLL_MS",
    "MAX_GAP",
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


cdef enum:
    C_RECEIVED
    C_BYTES
    C_ACCEPTED
    C_KERNEL_DROPPED
    C_LOST
    C_REORDERED
    C_RING_FULL
    C_OVERSIZE
    C_BAD_MAGIC
    C_UNKNOWN_VERSION
    C_TRUNCATED
    C_ERRORS
    C_SPANS
    C_BAD_PAYLOAD
    C_NOT_ALLOWED
    N_COUNTERS

cdef enum:
    V_OK = 0
    V_BAD_MAGIC = 1
    V_UNKNOWN_VERSION = 2
    V_TRUNCATED = 3
    V_BAD_PAYLOAD = 4
    HEADER_SIZE = 20
    DRAIN_SLOT = 32       # bytes kept per datagram when draining a full ring: the header
    WAYS = 8              # sequence table: set-associative, LRU within a set (recv_py.SEQ_WAYS)
    CTRL_SPACE = 64       # room for one SO_RXQ_OVFL cmsg, rounded up generously
    NAME_SPACE = 128      # sizeof(struct sockaddr_storage)

assert tuple(COUNTERS) == (
    "received", "bytes", "accepted", "kernel_dropped", "lost", "reordered", "dropped_ring_full",
    "dropped_oversize", "dropped_bad_magic", "dropped_unknown_version", "dropped_truncated", "errors",
    "spans",
    "dropped_bad_payload",
    "dropped_not_allowed",
)
assert N_COUNTERS == len(COUNTERS)
assert SEQ_WAYS == WAYS and SEQ_TABLE_SIZE % WAYS == 0


cdef int POLL_MS_C = POLL_MS
cdef uint32_t SEQ_GRACE_C = SEQ_GRACE
cdef uint32_t REORDER_WINDOW_C = REORDER_WINDOW
cdef uint32_t MAX_GAP_C = MAX_GAP


cdef inline int classify_c(const uint8_t *d, size_t n) noexcept nogil:
    # The rules of recv_py.classify: header, then the payload's framing. The caller
    # has at least min(n, 25) bytes at d.
    cdef uint32_t count, raw_len
    if n < HEADER_SIZE:
        if n >= 2 and (d[0] != 0x41 or d[1] != 0x54):
            return V_BAD_MAGIC
        return V_TRUNCATED
    if d[0] != 0x41 or d[1] != 0x54:
        return V_BAD_MAGIC
    if d[2] != 1:
        return V_UNKNOWN_VERSION
    if d[3] & 0x01:
        if n < HEADER_SIZE + 4:
            return V_TRUNCATED
        raw_len = <uint32_t>d[20] | (<uint32_t>d[21] << 8) | (<uint32_t>d[22] << 16) | (<uint32_t>d[23] << 24)
        return V_BAD_PAYLOAD if raw_len > (1 << 20) else V_OK
    if n < HEADER_SIZE + 1:
        return V_TRUNCATED
    if 0x90 <= d[20] <= 0x9F:
        count = d[20] & 0x0F
    elif d[20] == 0xDC:
        if n < HEADER_SIZE + 3:
            return V_TRUNCATED
        count = (<uint32_t>d[21] << 8) | d[22]
    elif d[20] == 0xDD:
        if n < HEADER_SIZE + 5:
            return V_TRUNCATED
        count = (<uint32_t>d[21] << 24) | (<uint32_t>d[22] << 16) | (<uint32_t>d[23] << 8) | d[24]
    else:
        return V_BAD_PAYLOAD
    return V_OK if count == (<uint32_t>d[4] | (<uint32_t>d[5] << 8)) else V_BAD_PAYLOAD


cdef inline uint32_t seq_lost_at_start(uint32_t seq) noexcept nogil:
    # A sender's sequence starts at 0: first seen just after it, the seqs before are lost.
    return seq if seq < SEQ_GRACE_C else 0


cdef inline void seq_see_locked(SeqShared *t, uint64_t *counters, uint64_t sender, uint32_t seq) noexcept nogil:
    cdef uint64_t base, oldest = <uint64_t>-1
    cdef SeqSlot *slot
    cdef SeqSlot *victim = NULL
    cdef uint32_t gap, behind, lost
    cdef int j
    t.tick += 1
    # Fibonacci hashing: sender ids are random, but tests and tools use small ones.
    base = ((sender * <uint64_t>0x9E3779B97F4A7C15) >> 32) % t.nsets * WAYS
    for j in range(WAYS):
        slot = &t.table[base + j]
        if slot.last_seen != 0 and slot.sender == sender:
            slot.last_seen = t.tick
            gap = seq - slot.next_seq
            if gap < MAX_GAP_C:
                if gap:
                    at_bump(&counters[C_LOST], gap)
                slot.next_seq = seq + 1
                return
            behind = slot.next_seq - seq
            if behind <= REORDER_WINDOW_C and not (seq < SEQ_GRACE_C and behind > SEQ_GRACE_C):
                at_bump(&counters[C_REORDERED], 1)
                return
            # A restart (back near 0), or a jump no loss explains: a new epoch.
            slot.next_seq = seq + 1
            lost = seq_lost_at_start(seq)
            if lost:
                at_bump(&counters[C_LOST], lost)
            return
        if slot.last_seen < oldest:
            oldest = slot.last_seen
            victim = slot
    victim.sender = sender
    victim.next_seq = seq + 1
    victim.last_seen = t.tick
    lost = seq_lost_at_start(seq)
    if lost:
        at_bump(&counters[C_LOST], lost)


cdef inline void seq_see(RecvState *s, uint64_t sender, uint32_t seq) noexcept nogil:
    # The table is shared by the receive threads of a collector; a lookup is ~20 ns.
    while not at_try_lock(&s.seq.lock, 1):
        sched_yield()
    seq_see_locked(s.seq, s.counters, sender, seq)
    at_unlock(&s.seq.lock)


cdef inline bint check(RecvState *s, const uint8_t *d, size_t n, int msg_flags) noexcept nogil:
    """Count a drop or track the sequence of one datagram; True when it may go into a
    ring (then not yet counted). `received` is bumped per batch, after the outcomes."""
    cdef int v
    cdef uint64_t sender
    cdef uint32_t seq
    v = classify_c(d, n)
    if v == V_BAD_MAGIC:
        at_bump(&s.counters[C_BAD_MAGIC], 1)
        return False
    if v == V_UNKNOWN_VERSION:
        at_bump(&s.counters[C_UNKNOWN_VERSION], 1)
        return False
    if v == V_TRUNCATED:
        at_bump(&s.counters[C_TRUNCATED], 1)
        return False
    if v == V_BAD_PAYLOAD:
        at_bump(&s.counters[C_BAD_PAYLOAD], 1)
        return False
    memcpy(&sender, d + 8, 8)
    memcpy(&seq, d + 16, 4)
    seq_see(s, sender, seq)
    if n > s.max_record or (msg_flags & MSG_TRUNC):
        at_bump(&s.counters[C_OVERSIZE], 1)
        return False
    return True


cdef inline bint source_allowed(RecvState *s, msghdr *m) noexcept nogil:
    """The allow list of recv_py.allow_rules, on the sockaddr recvmmsg filled in: the
    source as 16 bytes (IPv4 mapped into ::ffff:0:0/96), masked per network."""
    cdef const uint8_t *sa = <const uint8_t *>m.msg_name
    cdef uint8_t a[16]
    cdef unsigned short family
    cdef uint64_t hi, lo
    cdef uint64_t *r
    cdef int k
    if s.rules == NULL:
        return True
    if sa == NULL or m.msg_namelen < 2:
        return False
    memcpy(&family, sa, 2)
    if family == AF_INET and m.msg_namelen >= 8:
        memset(a, 0, 10)
        a[10] = 0xFF
        a[11] = 0xFF
        memcpy(a + 12, sa + 4, 4)  # sockaddr_in: family, port, then the address
    elif family == AF_INET6 and m.msg_namelen >= 24:
        memcpy(a, sa + 8, 16)  # sockaddr_in6: family, port, flowinfo, then the address
    else:
        return False
    memcpy(&hi, a, 8)
    memcpy(&lo, a + 8, 8)
    for k in range(s.nrules):
        r = s.rules + 4 * k
        if (hi & r[2]) == r[0] and (lo & r[3]) == r[1]:
            return True
    return False


cdef inline void count_received(RecvState *s, int n, uint64_t nbytes) noexcept nogil:
    # Last, with release: whoever sees `received` include a datagram also sees its outcome.
    at_bump(&s.counters[C_BYTES], nbytes)
    at_bump_release(&s.counters[C_RECEIVED], <uint64_t>n)


cdef inline void read_overflow(RecvState *s, msghdr *m) noexcept nogil:
    cdef cmsghdr *c = CMSG_FIRSTHDR(m)
    cdef uint32_t dropped
    while c != NULL:
        if c.cmsg_level == SOL_SOCKET and c.cmsg_type == SO_RXQ_OVFL:
            memcpy(&dropped, CMSG_DATA(c), 4)
            # The kernel reports the socket's running total.
            if dropped > at_load_relaxed(&s.counters[C_KERNEL_DROPPED]):
                at_store_relaxed(&s.counters[C_KERNEL_DROPPED], dropped)
        c = CMSG_NXTHDR(m, c)


cdef inline void prepare(RecvState *s, unsigned int i, char *buf, size_t size) noexcept nogil:
    s.iovs[i].iov_base = buf
    s.iovs[i].iov_len = size
    memset(&s.msgs[i], 0, sizeof(mmsghdr))
    if s.rules != NULL:
        s.msgs[i].msg_hdr.msg_name = s.names + i * NAME_SPACE
        s.msgs[i].msg_hdr.msg_namelen = NAME_SPACE
    s.msgs[i].msg_hdr.msg_iov = &s.iovs[i]
    s.msgs[i].msg_hdr.msg_iovlen = 1
    s.msgs[i].msg_hdr.msg_control = s.ctrl + i * CTRL_SPACE
    s.msgs[i].msg_hdr.msg_controllen = CTRL_SPACE


cdef RingC *claim_emptiest(RecvState *s) noexcept nogil:
    """Claim the ring with the most free bytes that no other receiver holds; rings
    with equal room are taken in turn. Waits (yielding) only while every ring is held
    by another receiver of this process."""
    cdef int k, i, best
    cdef uint64_t f, best_free
    cdef int left
    while not at_flag_load(&s.stop):
        memset(s.tried, 0, s.nrings)
        left = s.nrings
        while left:
            best = -1
            best_free = 0
            for k in range(s.nrings):
                i = <int>((s.rr + k) % s.nrings)
                if s.tried[i]:
                    continue
                f = ring_free(s.rings[i])
                if best < 0 or f > best_free:
                    best, best_free = i, f
            s.tried[best] = 1
            left -= 1
            if ring_try_claim(s.rings[best]):
                s.rr = best + 1
                return s.rings[best]
        sched_yield()
    return NULL


cdef int receive_batch(RecvState *s) noexcept nogil:
    """One recvmmsg. Returns the number of datagrams read, 0 when none, -1 on error."""
    cdef RingC *ring = claim_emptiest(s)
    cdef size_t stride = ring_record_size(s.max_record)
    cdef size_t got = 0, length
    cdef char *region
    cdef char *cursor
    cdef char *data
    cdef unsigned int i, slots
    cdef int n
    cdef uint64_t records = 0, payload = 0, full = 0, nbytes = 0, spans = 0
    if ring == NULL:
        return 0
    region = ring_reserve(ring, stride, s.batch * stride, &got)
    slots = <unsigned int>(got // stride)
    if region != NULL and slots > 0:
        for i in range(slots):
            prepare(s, i, region + i * stride + 4, s.max_record)
        n = recvmmsg(s.fd, s.msgs, slots, MSG_DONTWAIT | MSG_TRUNC, NULL)
        if n <= 0:
            ring_commit(ring, 0, 0, 0)
            ring_release_claim(ring)
            return -1 if n < 0 else 0
        cursor = region
        for i in range(<unsigned int>n):
            read_overflow(s, &s.msgs[i].msg_hdr)
            length = s.msgs[i].msg_len
            nbytes += length
            data = region + i * stride + 4
            if not source_allowed(s, &s.msgs[i].msg_hdr):
                at_bump(&s.counters[C_NOT_ALLOWED], 1)
                continue
            if not check(s, <const uint8_t *>data, length, s.msgs[i].msg_hdr.msg_flags):
                continue
            # Compact: the slot was max_record long, the record is only as long as the datagram.
            if cursor + 4 != data:
                memmove(cursor + 4, data, length)
            (<uint32_t *>cursor)[0] = <uint32_t>length
            # The header's span count (u16 LE at offset 4), for spans_received by transport.
            spans += (<const uint8_t *>cursor)[8] | ((<const uint8_t *>cursor)[9] << 8)
            cursor += ring_record_size(length)
            records += 1
            payload += length
        ring_commit(ring, <size_t>(cursor - region), records, payload)
        ring_release_claim(ring)
        at_bump(&s.counters[C_SPANS], spans)
        at_bump(&s.counters[C_ACCEPTED], records)
        count_received(s, n, nbytes)
        return n
    # No room for even one slot in the emptiest ring: all are full. Drain anyway.
    ring_commit(ring, 0, 0, 0)
    for i in range(s.batch):
        prepare(s, i, s.scratch + i * DRAIN_SLOT, DRAIN_SLOT)
    n = recvmmsg(s.fd, s.msgs, s.batch, MSG_DONTWAIT | MSG_TRUNC, NULL)
    for i in range(<unsigned int>(n if n > 0 else 0)):
        read_overflow(s, &s.msgs[i].msg_hdr)
        length = s.msgs[i].msg_len
        nbytes += length
        if not source_allowed(s, &s.msgs[i].msg_hdr):
            at_bump(&s.counters[C_NOT_ALLOWED], 1)
            continue
        # Flags say "truncated" for every drained datagram; only the length tells oversize.
        if check(s, <const uint8_t *>(s.scratch + i * DRAIN_SLOT), length, 0):
            full += 1
    if full:
        ring_count_dropped(ring, full, 0)
        at_bump(&s.counters[C_RING_FULL], full)
    ring_release_claim(ring)
    if n > 0:
        count_received(s, n, nbytes)
    return n


cdef void receive_loop(RecvState *s) noexcept nogil:
    cdef pollfd p
    cdef int rc, err
    cdef timespec pause
    pause.tv_sec = 0
    pause.tv_nsec = 1000000
    p.fd = s.fd
    p.events = POLLIN
    while not at_flag_load(&s.stop):
        p.revents = 0
        rc = poll(&p, 1, POLL_MS_C)
        if rc == 0:
            continue
        if rc > 0 and not (p.revents & POLLNVAL):
            rc = receive_batch(s)
            if rc >= 0:
                continue
            err = errno
        else:
            err = errno if rc < 0 else EBADF
        if err == EAGAIN or err == EINTR:
            continue
        at_bump(&s.counters[C_ERRORS], 1)
        s.last_errno = err
        if err == EBADF or err == ENOTSOCK or err == EINVAL:
            s.fatal_errno = err
            return
        nanosleep(&pause, NULL)  # an unexpected error must not become a busy loop


cdef class SenderTable:
    """sender_id → next expected seq, shared by the receivers of a collector (see
    ``recv_py.SenderTable``: same hash, same rules)."""

    def __cinit__(self, int size=0):
        if size <= 0:
            size = SEQ_TABLE_SIZE
        if size % WAYS:
            raise ValueError(f"size must be a multiple of {WAYS}")
        self.s.table = <SeqSlot *>PyMem_Malloc(size * sizeof(SeqSlot))
        if not self.s.table:
            raise MemoryError()
        memset(self.s.table, 0, size * sizeof(SeqSlot))
        self.s.nsets = size // WAYS
        self.s.tick = 0
        self.s.lock = 0

    def __dealloc__(self):
        PyMem_Free(self.s.table)

    def see(self, uint64_t sender, uint32_t seq):
        """Record ``seq`` from ``sender``; returns (lost, reordered) increments."""
        cdef uint64_t counters[N_COUNTERS]
        memset(counters, 0, sizeof(counters))
        while not at_try_lock(&self.s.lock, 1):
            sched_yield()
        seq_see_locked(&self.s, counters, sender, seq)
        at_unlock(&self.s.lock)
        return counters[C_LOST], counters[C_REORDERED]


cdef class Receiver:
    """Receive datagrams from the socket ``fd`` on a thread and push them into ``rings``.

    The receiver does not own ``fd`` (it works on a duplicate and never closes the
    original). ``transport`` is ``"udp"`` or ``"unix"``. Several receivers may feed
    the same rings. Rings of the twin build are attached by name.
    """

    def __cinit__(self):
        self._final_drops = 0
        memset(&self.st, 0, sizeof(RecvState))
        self.st.fd = -1

    def __init__(self, int fd, rings, str transport, *, int batch=BATCH, SenderTable senders=None, allow=None):
        cdef Ring r
        cdef int i
        cdef bytes net, mask
        if transport not in ("udp", "unix"):
            raise ValueError(f"transport must be 'udp' or 'unix', got {transport!r}")
        if not rings:
            raise ValueError("a receiver needs at least one ring")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        check_datagram_socket(fd)
        self.transport = transport
        self._given = list(rings)
        self._attached = []
        self._rings = []
        for ring in self._given:
            if isinstance(ring, Ring):
                self._rings.append(ring)
            else:
                own = Ring.attach(ring.name)
                self._attached.append(own)
                self._rings.append(own)
        self.st.max_record = min(ring.max_record for ring in self._rings)
        if self.st.max_record < HEADER_SIZE:
            raise ValueError(f"rings' max_record {self.st.max_record} cannot hold a datagram header")
        self.st.batch = batch
        self.st.nrings = len(self._rings)
        self._senders = senders if senders is not None else SenderTable()
        self.st.seq = &self._senders.s
        self.st.rings = <RingC **>PyMem_Malloc(self.st.nrings * sizeof(RingC *))
        self.st.tried = <char *>PyMem_Malloc(self.st.nrings)
        self.st.msgs = <mmsghdr *>PyMem_Malloc(batch * sizeof(mmsghdr))
        self.st.iovs = <iovec *>PyMem_Malloc(batch * sizeof(iovec))
        self.st.ctrl = <char *>PyMem_Malloc(batch * CTRL_SPACE)
        self.st.scratch = <char *>PyMem_Malloc(batch * DRAIN_SLOT)
        if (not self.st.rings or not self.st.tried or not self.st.msgs
                or not self.st.iovs or not self.st.ctrl or not self.st.scratch):
            raise MemoryError()
        # Unix datagrams come from this machine: always allowed.
        rules = allow_rules(allow) if transport == "udp" else None
        if rules is not None:
            self.st.names = <char *>PyMem_Malloc(batch * NAME_SPACE)
            self.st.rules = <uint64_t *>PyMem_Malloc((4 * len(rules) + 1) * sizeof(uint64_t))
            if not self.st.names or not self.st.rules:
                raise MemoryError()
            self.st.nrules = len(rules)
            for i, (value, bits) in enumerate(rules):
                # Same byte order as source_allowed() reads the address: 16 bytes, big-endian.
                net = value.to_bytes(16, "big")
                mask = bits.to_bytes(16, "big")
                memcpy(&self.st.rules[4 * i], <const char *>net, 8)
                memcpy(&self.st.rules[4 * i + 1], (<const char *>net) + 8, 8)
                memcpy(&self.st.rules[4 * i + 2], <const char *>mask, 8)
                memcpy(&self.st.rules[4 * i + 3], (<const char *>mask) + 8, 8)
        if CMSG_SPACE(4) > CTRL_SPACE:
            raise RuntimeError("control buffer too small for SO_RXQ_OVFL")
        for i in range(self.st.nrings):
            r = self._rings[i]
            self.st.rings[i] = &r.c
        self.st.fd = os.dup(fd)
        self._fd_open = True

    def __dealloc__(self):
        if self._fd_open:
            os.close(self.st.fd)
        PyMem_Free(self.st.rings)
        PyMem_Free(self.st.tried)
        PyMem_Free(self.st.msgs)
        PyMem_Free(self.st.iovs)
        PyMem_Free(self.st.ctrl)
        PyMem_Free(self.st.scratch)
        PyMem_Free(self.st.names)
        PyMem_Free(self.st.rules)

    def start(self):
        """Start the receive thread."""
        if self._thread is not None:
            raise RuntimeError("receiver already started")
        if not self._fd_open:
            raise RuntimeError("receiver was stopped; make a new one")
        for ring in self._given:
            ring.pinned += 1
        for ring in self._attached:
            ring.pinned += 1
        at_flag_store(&self.st.stop, 0)
        self._thread = threading.Thread(target=self._run, name=f"agenttrace-recv-{self.transport}", daemon=True)
        self._thread.start()

    def _run(self):
        with nogil:
            receive_loop(&self.st)
        if self.st.fatal_errno:
            log.error("receiver (%s) stopped: %s", self.transport, os.strerror(self.st.fatal_errno))

    def stop(self):
        """Stop the thread (within about POLL_MS) and release the socket duplicate."""
        if self._thread is None:
            return
        at_flag_store(&self.st.stop, 1)
        self._thread.join()
        self._thread = None
        for ring in self._given:
            ring.pinned -= 1
        for ring in self._attached:
            ring.pinned -= 1
            ring.close()
        self._attached = []
        if self._fd_open:
            self._final_drops = socket_drops(self.st.fd)
            os.close(self.st.fd)
            self._fd_open = False

    @property
    def last_error(self):
        """The last unexpected socket error, or None."""
        return os.strerror(self.st.last_errno) if self.st.last_errno else None

    def stats(self):
        """A snapshot of the counters (see the module docstring of recv_py)."""
        cdef int i
        # `received` first, with acquire: the outcomes read after it cover at least as
        # many datagrams (received <= accepted + dropped_* in every snapshot).
        cdef uint64_t received = at_load_acquire(&self.st.counters[C_RECEIVED])
        out = {name: at_load_relaxed(&self.st.counters[i]) for i, name in enumerate(COUNTERS)}
        out["received"] = received
        drops = socket_drops(self.st.fd) if self._fd_open else self._final_drops
        out["kernel_dropped"] = max(out["kernel_dropped"], drops)
        return out

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
