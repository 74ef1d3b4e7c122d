"""Per-worker counter blocks in shared memory: one writer (the worker), many readers.

The main process creates one block per worker slot and keeps it for its whole life,
so a worker that dies and is restarted attaches to the same block and its counters
stay monotonic. Only the worker writes the counter slots and the snapshot area;
only the main process writes the control words. No locks.

Layout (all little-endian, 8-byte aligned)::

    0      ┌───────────────────────────────────────────────┐
           │ magic "ATCB0001" (8 bytes)                     │
    8      │ control words, written by the main process:    │
           │   [0] drain    1 = stop when the ring is empty │
           │   [1] reload   generation, +1 on SIGHUP        │
           │   [2..7] reserved                              │
    72     │ counter slots, u64 each, written by the worker │
           │   (SLOTS below, in order)                       │
    72+8*S │ histogram buckets, u64 each (WAL, seal)        │
    ...    │ snapshot area at SNAP_OFFSET:                   │
           │   seq u64 (odd while writing) · len u64 · bytes │
           └───────────────────────────────────────────────┘

Counter slots are aligned u64 written with one store each, so a reader never sees
a torn value on the 64-bit machines we support. The *domain* series (spans by
service/kind/model/status, tokens, cost, durations) have label sets that grow, so
the worker keeps them in bounded dicts (:class:`DomainCounters`) and publishes a
msgpack snapshot every ``metrics.publish_interval_ms`` under a seqlock
(``agenttrace._native.seqlock``): bump ``seq`` to odd, write length and bytes, bump
``seq`` to even; a reader copies the area and retries while ``seq`` is odd or changed
during the copy. Memory ordering, with C11 atomics so it holds on ARM64 as on x86-64:
the odd ``seq`` is stored, then a release fence, then the data, then the even ``seq``
with release; the reader loads ``seq`` with acquire, copies, issues an acquire fence,
and loads ``seq`` again (seqlock.pyx draws it). The pure-Python twin has no fences and
relies on x86-64's store order. A restarted worker reloads the
last snapshot so domain counters also stay monotonic; at most one publish interval
of domain counts (never pipeline counts) is lost with a killed worker. The same holds
for the cost stage's unknown-model counts and the guard stage's findings, which also
survive the stages being rebuilt on SIGHUP (:meth:`DomainCounters.watch_stages`).

Label values that come from users (service, model) are capped per worker at
``max_label_values``; later values count as ``"other"``. The main process caps the
union again (:mod:`agenttrace.collector.metrics`).
"""

from __future__ import annotations

import bisect
import math
import struct
import time
from collections.abc import Iterable, Mapping
from multiprocessing import shared_memory
from typing import Any

import msgspec

from agenttrace._native import load
from agenttrace.bounds import REJECT_REASONS, SANITIZE_KEYS
from agenttrace.guards.stage import GuardStage, metric_labels
from agenttrace.labels import LabelCap
from agenttrace.model import SPAN_KINDS, Span

__all__ = [
    "DURATION_BUCKETS",
    "LATENCY_BUCKETS",
    "SLOTS",
    "CounterBlock",
    "DomainCounters",
    "DomainSnapshot",
]

MAGIC = b"ATCB0001"
N_CONTROL = 8
CONTROL_OFFSET = 8

# Worker-written u64 slots. Reasons of drops a worker sees are the WireError reasons
# (a payload can still be truncated or bad after the receiver's header check), plus
# store errors and datagrams in flight when a worker was killed.
SLOTS: tuple[str, ...] = (
    "pid",
    "heartbeat_ns",  # time.time_ns() of the worker's last loop turn
    "started",  # incarnations that attached to this block
    "ready",  # 1 once the store is open and the loop runs
    "popped",  # datagrams taken from the ring
    "done",  # datagrams finished (stored or dropped); popped - done = in flight
    "datagrams_stored",
    "spans_stored",
    "dropped_bad_payload",
    "dropped_truncated",
    "dropped_bad_magic",
    "dropped_unknown_version",
    "dropped_store_error",
    "dropped_worker_crash",
    "dropped_ring_corrupt",  # a ring record that could not be framed (memory damage): the rest is skipped
    "segments",
    "store_bytes",
    "wal_bytes",
    "wal_count",  # observations of the WAL+append latency histogram
    "wal_sum_ns",
    "seal_count",
    "seal_sum_ns",
    "store_writable",  # 1 after a successful append/seal, 0 after a store error
    # The batch under append_batch (recovery after a kill: did its WAL write land?)
    "appending",  # datagrams with spans in the batch; 0 when no append is under way
    "appending_first_seq",  # WAL sequence number its first record gets
    "appending_spans",
    # Spans brought into range (agenttrace.bounds), by field and reason, and spans rejected.
    *(f"sanitized_{field}_{reason}" for field, reason in SANITIZE_KEYS),
    *(f"rejected_{reason}" for reason in REJECT_REASONS),
)
SLOT = {name: i for i, name in enumerate(SLOTS)}
# What a restarted worker needs from its predecessor's block to settle the batch it was in.
IN_FLIGHT = ("popped", "done", "appending", "appending_first_seq", "appending_spans")
WORKER_DROP_REASONS: tuple[str, ...] = tuple(s[len("dropped_") :] for s in SLOTS if s.startswith("dropped_"))

# Seconds. The WAL append is microseconds; a seal is milliseconds to a second.
LATENCY_BUCKETS: tuple[float, ...] = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

SLOTS_OFFSET = CONTROL_OFFSET + 8 * N_CONTROL
HIST_OFFSET = SLOTS_OFFSET + 8 * len(SLOTS)
N_HIST = len(LATENCY_BUCKETS) + 1  # + the +Inf bucket
WAL_HIST = 0
SEAL_HIST = 1
SNAP_OFFSET = (HIST_OFFSET + 8 * 2 * N_HIST + 63) // 64 * 64
SNAP_HEADER = struct.Struct("<QQ")
SNAP_CAPACITY = 1 << 20
_seqlock = load("seqlock")
BLOCK_SIZE = SNAP_OFFSET + SNAP_HEADER.size + SNAP_CAPACITY


class DomainSnapshot(msgspec.Struct, array_like=True):
    """What a worker publishes: cumulative domain series since the block was created."""

    # (service, kind, model, status) -> spans
    spans: list[tuple[str, str, str, str, int]] = []
    # (service, model, type) -> tokens
    tokens: list[tuple[str, str, str, int]] = []
    # (service, model) -> USD
    cost: list[tuple[str, str, float]] = []
    # kind -> [bucket counts (len(DURATION_BUCKETS) + 1), sum seconds]
    durations: list[tuple[str, list[int], float]] = []
    # model -> spans with usage whose model matched no price (the cost stage's count).
    # Last, with a default: a snapshot published before this field existed still decodes.
    unknown_models: list[tuple[str, int]] = []
    # (guard, kind) -> findings of the guard stage; kinds from a fixed set (metric_labels).
    guard_findings: list[tuple[str, str, int]] = []


_snap_encoder = msgspec.msgpack.Encoder()
_snap_decoder = msgspec.msgpack.Decoder(DomainSnapshot)
_STATUS = ("unset", "ok", "error")
_TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")
# Bucket bounds in integer nanoseconds; bisect_left on them equals bisect_left on seconds.
_DURATION_BOUNDS_NS = tuple(round(b * 1e9) for b in DURATION_BUCKETS)
_KINDS = frozenset(SPAN_KINDS)
_U64_MAX = 2**64 - 1


class DomainCounters:
    """A worker's bounded domain series; :meth:`observe` is called once per stored batch.

    >>> from agenttrace.model import Span, Usage
    >>> d = DomainCounters(max_label_values=1)
    >>> s = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=0, end_ns=10**9,
    ...          kind="llm", model="a", service="svc", usage=Usage(input_tokens=3))
    >>> d.observe([s, msgspec.structs.replace(s, model="b")])
    >>> sorted(d.spans)
    [('svc', 'llm', 'a', 'unset'), ('svc', 'llm', 'other', 'unset')]
    """

    def __init__(self, max_label_values: int = 64, *, max_series: int = 4096) -> None:
        self.service = LabelCap(max_label_values)
        self.model = LabelCap(max_label_values)
        self.max_series = max_series
        self.spans: dict[tuple[str, str, str, str], int] = {}
        self.tokens: dict[tuple[str, str, str], int] = {}
        self.cost: dict[tuple[str, str], float] = {}
        self.durations: dict[str, list[int]] = {}
        self.duration_sum: dict[str, float] = {}
        self.unknown_models: dict[str, int] = {}
        self._unknown_source: Mapping[str, int] | None = None
        self._unknown_seen: dict[str, int] = {}
        self.guard_findings: dict[tuple[str, str], int] = {}
        self._guard_source: Mapping[str, int] | None = None
        self._guard_seen: dict[str, int] = {}

    def load(self, snap: DomainSnapshot) -> None:
        """Continue from a previous incarnation's published snapshot."""
        for service, kind, model, status, n in snap.spans:
            self.service(service)
            self.model(model)
            self.spans[(service, kind, model, status)] = n
        for service, model, typ, n in snap.tokens:
            self.tokens[(service, model, typ)] = n
        for service, model, usd in snap.cost:
            if math.isfinite(usd):
                self.cost[(service, model)] = usd
        for kind, buckets, total in snap.durations:
            if len(buckets) == len(DURATION_BUCKETS) + 1:
                self.durations[kind] = list(buckets)
                self.duration_sum[kind] = total
        for model, n in snap.unknown_models:
            key = self.model(model)  # a lowered max_label_values may fold several into "other"
            self.unknown_models[key] = self.unknown_models.get(key, 0) + n
        for guard, kind, n in snap.guard_findings:
            key = metric_labels(f"{guard}:{kind}")
            self.guard_findings[key] = self.guard_findings.get(key, 0) + n

    def watch_stages(self, stages: Iterable[object]) -> None:
        """Follow the cost stage's unknown models and the guard stage's findings among
        ``stages`` (see :meth:`watch_unknown_models`: the same rules for both)."""
        stages = list(stages)
        self.watch_unknown_models(stages)
        self._sync_guards()
        source = next((st.counts for st in stages if isinstance(st, GuardStage)), None)
        self._guard_source = source
        self._guard_seen = dict(source) if source is not None else {}

    def _sync_guards(self) -> None:
        source = self._guard_source
        if source is None:
            return
        seen = self._guard_seen
        for label, n in list(source.items()):
            delta = n - seen.get(label, 0)
            if delta > 0:
                key = metric_labels(label)
                self.guard_findings[key] = self.guard_findings.get(key, 0) + delta
                seen[label] = n

    def watch_unknown_models(self, stages: Iterable[object]) -> None:
        """Follow the ``unknown_models`` Counter of the cost stage among ``stages``.

        The stage's Counter restarts at zero whenever the stage is rebuilt (SIGHUP); the
        published series must not. So what the previous stage counted since the last
        snapshot is folded in first, and from then on only increments of the new
        Counter are added. What the new stage counted before this call (WAL records
        replayed when the writer opened, already counted by the previous incarnation)
        is taken as the starting point, not counted again."""
        self._sync_unknown()
        source = next((c for c in (getattr(st, "unknown_models", None) for st in stages) if c is not None), None)
        self._unknown_source = source
        self._unknown_seen = dict(source) if source is not None else {}

    def _sync_unknown(self) -> None:
        source = self._unknown_source
        if source is None:
            return
        seen = self._unknown_seen
        for raw, n in list(source.items()):
            delta = n - seen.get(raw, 0)
            if delta > 0:
                key = self.model(raw)
                self.unknown_models[key] = self.unknown_models.get(key, 0) + delta
                seen[raw] = n

    def observe(self, spans: list[Span]) -> None:
        # Two passes: a tight loop that only groups raw values (spans of a batch share
        # few keys), then label capping and merging once per distinct key.
        groups: dict[tuple[str, str, str, int], list[Any]] = {}
        ns_bounds = _DURATION_BOUNDS_NS
        bisect_left = bisect.bisect_left
        for s in spans:
            key = (s.service, s.kind, s.model, s.status)
            g = groups.get(key)
            if g is None:
                g = groups[key] = [0, 0, 0, 0, 0, 0, 0.0, [0] * (len(ns_bounds) + 1), 0]
            g[0] += 1
            u = s.usage
            if u is not None:
                g[1] += u.input_tokens
                g[2] += u.output_tokens
                g[3] += u.cache_read_tokens
                g[4] += u.cache_write_tokens
                g[5] += u.reasoning_tokens
            c = s.cost_usd
            if c:
                g[6] += c
            d = s.end_ns - s.start_ns
            if d < 0:
                d = 0
            g[7][bisect_left(ns_bounds, d)] += 1
            g[8] += d
        spans_d, tokens, cost = self.spans, self.tokens, self.cost
        for (raw_service, raw_kind, raw_model, raw_status), g in groups.items():
            service = self.service(raw_service)
            model = self.model(raw_model)
            kind = raw_kind if raw_kind in _KINDS else "other"
            status = _STATUS[raw_status] if 0 <= raw_status <= 2 else "unset"
            key = (service, kind, model, status)
            if key not in spans_d and len(spans_d) >= self.max_series:
                key = ("other", kind, "other", status)
                service = model = "other"
            spans_d[key] = spans_d.get(key, 0) + g[0]
            for typ, n in zip(_TOKEN_TYPES, g[1:6], strict=True):
                if n:
                    tk = (service, model, typ)
                    tokens[tk] = tokens.get(tk, 0) + n
            if g[6]:
                ck = (service, model)
                cost[ck] = cost.get(ck, 0.0) + g[6]
            buckets = self.durations.get(kind)
            if buckets is None:
                buckets = self.durations[kind] = [0] * (len(ns_bounds) + 1)
                self.duration_sum[kind] = 0.0
            for b, n in enumerate(g[7]):
                buckets[b] += n
            self.duration_sum[kind] += g[8] / 1e9

    def snapshot(self) -> DomainSnapshot:
        return DomainSnapshot(
            spans=[(*k, n) for k, n in self.spans.items()],
            # Saturate: a u64 past its range would make every later publish (and the
            # worker) fail; agenttrace.bounds keeps real traffic far below it.
            tokens=[(*k, n if n <= _U64_MAX else _U64_MAX) for k, n in self.tokens.items()],
            cost=[(*k, v) for k, v in self.cost.items()],
            durations=[(k, b, self.duration_sum[k]) for k, b in self.durations.items()],
            unknown_models=self._unknown_items(),
            guard_findings=self._guard_items(),
        )

    def _guard_items(self) -> list[tuple[str, str, int]]:
        self._sync_guards()
        return [(*k, n) for k, n in self.guard_findings.items()]

    def _unknown_items(self) -> list[tuple[str, int]]:
        self._sync_unknown()
        return list(self.unknown_models.items())


class CounterBlock:
    """One worker's counter block. The main process :meth:`create`\\ s it; the worker
    :meth:`attach`\\ es. Slot access is by name (``block.get("spans_stored")``) or, in
    the worker's hot loop, by index through :attr:`slots` (a ``memoryview`` of u64)."""

    def __init__(self, shm: shared_memory.SharedMemory, owner: bool) -> None:
        self._shm = shm
        self._owner = owner
        buf = shm.buf
        self.control = buf[CONTROL_OFFSET:SLOTS_OFFSET].cast("Q")
        self.slots = buf[SLOTS_OFFSET:HIST_OFFSET].cast("Q")
        self.hist = buf[HIST_OFFSET : HIST_OFFSET + 8 * 2 * N_HIST].cast("Q")
        self._snap = buf[SNAP_OFFSET : SNAP_OFFSET + SNAP_HEADER.size + SNAP_CAPACITY]

    @property
    def name(self) -> str:
        return self._shm.name

    @classmethod
    def create(cls, name: str | None = None, *, persistent: bool = False) -> CounterBlock:
        """A fresh block. A ``persistent`` one outlives a crashed main process (it is
        not registered with the resource tracker), like the rings."""
        from agenttrace._native.ring_py import _create_shm

        shm = _create_shm(name, BLOCK_SIZE, persistent=persistent)
        shm.buf[: SNAP_OFFSET + SNAP_HEADER.size] = bytes(SNAP_OFFSET + SNAP_HEADER.size)
        shm.buf[0:8] = MAGIC
        return cls(shm, owner=True)

    @classmethod
    def take_over(cls, name: str) -> CounterBlock:
        """Adopt the block a crashed collector left under ``name``: every counter starts
        again at zero (this run's figures), except the in-flight words of its last
        worker (:data:`IN_FLIGHT`), which the next worker on the slot needs to account
        for the batch that worker was appending (see :mod:`agenttrace.collector.worker`)."""
        block = cls.attach(name)
        block._owner = True
        block._shm._agenttrace_untracked = True  # type: ignore[attr-defined]
        kept = {k: block.get(k) for k in IN_FLIGHT}
        kept["popped"] -= kept.pop("done")
        block._shm.buf[8 : SNAP_OFFSET + SNAP_HEADER.size] = bytes(SNAP_OFFSET + SNAP_HEADER.size - 8)
        for k, v in kept.items():
            block.set(k, v)
        return block

    def in_flight(self) -> int:
        """Datagrams the last worker popped and did not finish."""
        return max(0, self.get("popped") - self.get("done"))

    @classmethod
    def attach(cls, name: str) -> CounterBlock:
        shm = _attach_untracked(name)
        if bytes(shm.buf[0:8]) != MAGIC:
            shm.close()
            raise ValueError(f"shared memory {name!r} is not an AgentTrace counter block")
        return cls(shm, owner=False)

    # --- slots ---------------------------------------------------------------

    def get(self, name: str) -> int:
        return self.slots[SLOT[name]]

    def set(self, name: str, value: int) -> None:
        self.slots[SLOT[name]] = value

    def add(self, name: str, n: int = 1) -> None:
        i = SLOT[name]
        self.slots[i] += n

    def values(self) -> dict[str, int]:
        return dict(zip(SLOTS, self.slots.tolist(), strict=True))

    def observe_latency(self, which: int, seconds: float) -> None:
        base = which * N_HIST
        self.hist[base + bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        prefix = "wal" if which == WAL_HIST else "seal"
        self.add(f"{prefix}_count")
        self.add(f"{prefix}_sum_ns", int(seconds * 1e9))

    def histogram(self, which: int) -> list[int]:
        return self.hist[which * N_HIST : (which + 1) * N_HIST].tolist()

    # --- control words (main process writes) ----------------------------------

    @property
    def drain(self) -> bool:
        return bool(self.control[0])

    @drain.setter
    def drain(self, value: bool) -> None:
        self.control[0] = int(value)

    @property
    def reload_generation(self) -> int:
        return self.control[1]

    def request_reload(self) -> None:
        self.control[1] += 1

    # --- domain snapshot (seqlock) --------------------------------------------

    def publish(self, snap: DomainSnapshot) -> bool:
        """Write a snapshot; False (and nothing written) if it does not fit."""
        data = _snap_encoder.encode(snap)
        if len(data) > SNAP_CAPACITY:
            return False
        _seqlock.publish(self._snap, data)
        return True

    def read_snapshot(self, *, retries: int = 100) -> DomainSnapshot:
        for _ in range(retries):
            data = _seqlock.read(self._snap)
            if data is None:  # a publish overlapped the copy
                time.sleep(0)
                continue
            if not data:
                return DomainSnapshot()
            try:
                return _snap_decoder.decode(data)
            except msgspec.DecodeError:
                continue
        return DomainSnapshot()

    # --- lifetime --------------------------------------------------------------

    def close(self) -> None:
        for view in (self.control, self.slots, self.hist, self._snap):
            view.release()
        self._shm.close()

    def unlink(self) -> None:
        from agenttrace._native.ring_py import unlink_shm

        unlink_shm(self._shm, owner=self._owner)


def _attach_untracked(name: str) -> shared_memory.SharedMemory:
    """Attach without registering with multiprocessing's resource tracker: the block
    belongs to the main process, and a worker's tracker must not unlink it when the
    worker exits (a known hazard of ``SharedMemory`` before Python 3.13's ``track=``)."""
    try:
        return shared_memory.SharedMemory(name=name, create=False, track=False)  # type: ignore[call-arg]
    except TypeError:
        from multiprocessing import resource_tracker

        original = resource_tracker.register
        resource_tracker.register = lambda *a, **k: None  # type: ignore[assignment]
        try:
            return shared_memory.SharedMemory(name=name, create=False)
        finally:
            resource_tracker.register = original  # type: ignore[assignment]
