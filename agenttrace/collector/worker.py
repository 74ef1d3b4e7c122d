"""A worker process: drain one ring, decode, enrich, append to the store.

Division of labour with the receive path (``agenttrace/_native/recv``): the receiver
thread in the main process has already checked each datagram's 20-byte header (bad
magic, unknown version and short datagrams are counted there) and tracked every
sender's sequence numbers (gaps counted as lost; SO_REUSEPORT hashes one sender to
one socket, so a receiver sees a sender's whole sequence). That lets the receiver
spread datagrams over the rings freely. A worker therefore only:

1. pops a batch of raw datagrams from its ring (shared memory owned by the main
   process, so a ring outlives a worker that dies);
2. decodes each with msgspec (``agenttrace._native.load("decode")``: a compiled loop
   over the batch, or its twin) — a payload that does not decode is counted by
   reason (``bad_payload``, ``truncated``, ...) and skipped;
3. brings every span's numbers into their documented range (:mod:`agenttrace.bounds`:
   clamped or rejected, counted by field and reason), then runs the enrichment
   stages over the batch (``stage(spans) -> None``, edits in place; cost
   attribution is :class:`agenttrace.pricing.CostStage` when installed);
4. appends ``(raw, spans)`` to its :class:`~agenttrace.store.SegmentWriter`, which
   writes the WAL first, then the column builders; ``tick()`` seals by age/size.

Crash window, and the choice made: the ring's ``pop_many`` advances the ring's tail
when it returns, so a datagram popped but not yet in the WAL lives only in this
process. Rather than ask the ring for a peek/commit pair (at-least-once plus dedupe
on replay), the worker keeps that window to one batch (``BATCH`` datagrams) and
*accounts* for it exactly. The counter block records ``popped`` before a batch is
worked; before ``append_batch`` it records the batch's record count, span count and
the WAL sequence number its first record will get (``appending*``); after it, the
stored counters and ``done``. A restarted worker compares ``popped - done`` with
the WAL (:func:`agenttrace.store.wal.scan_wal`): records of the interrupted append
that reached the WAL (or were already sealed and rotated out) are counted as stored
— the writer replays them — and every other unfinished datagram as
``dropped{reason="worker_crash"}``. So ``sent = stored + dropped + lost`` still holds
exactly, and everything in the ring (not yet popped) and in the WAL is kept. The one
residual race is a kill between the adjacent counter stores of the commit.

The worker never handles SIGINT/SIGTERM itself: the main process owns shutdown and
sets the block's ``drain`` word; the worker empties its ring, seals and exits 0. A
worker whose parent has gone drains and exits the same way.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

from agenttrace import wire
from agenttrace._native import load
from agenttrace.collector.config import CollectorConfig, load_config
from agenttrace.collector.counters import SEAL_HIST, SLOT, WAL_HIST, CounterBlock, DomainCounters
from agenttrace.collector.instance import hold_as_worker
from agenttrace.errors import WireError
from agenttrace.guards import GuardStage
from agenttrace.model import Span
from agenttrace.pricing import CostStage, PricingConfig
from agenttrace.store.writer import SegmentWriter

__all__ = ["Stage", "WorkerSpec", "build_stages", "run_worker"]

log = logging.getLogger("agenttrace.collector.worker")

Stage = Callable[[list[Span]], None]

BATCH = 256  # datagrams per pop_many: bounds the crash window and the latency of a drain check
IDLE_MIN_S = 0.0002
IDLE_MAX_S = 0.005  # at most this long asleep with an empty ring; the ring absorbs the burst meanwhile


class WorkerSpec(msgspec.Struct, frozen=True):
    """Everything a freshly spawned worker needs (picklable, small)."""

    worker_id: int
    ring_name: str
    block_name: str
    data_dir: str
    parent_pid: int
    config_path: str | None = None
    overrides: dict[str, Any] = {}
    # Rings of a crashed collector's slots that this run lacks: emptied (and removed) first.
    drain_first: list[str] = []


def build_stages(cfg: CollectorConfig) -> list[Stage]:
    """The enrichment pipeline, in order: cost attribution from the ``[pricing]`` table,
    then the guards of the ``[guards]`` table (none when ``enabled = []``)."""
    stages: list[Stage] = [CostStage.from_config(msgspec.convert(cfg.pricing, PricingConfig, strict=False))]
    if cfg.guards.enabled:
        stages.append(GuardStage(cfg.guards))
    return stages


def _open_writer(spec: WorkerSpec, cfg: CollectorConfig, replay: Callable[[bytes], list[Span]]) -> SegmentWriter:
    wcfg = cfg.writer_config()
    if cfg.postgres.dsn:  # the PostgreSQL sink reads rotated WAL logs until it has sent them
        wcfg = msgspec.structs.replace(wcfg, wal_keep_rotated=True)
    writer = SegmentWriter(spec.data_dir, spec.worker_id, wcfg, replay=replay)
    writer.open()
    return writer


def _configure_logging(cfg: CollectorConfig, worker_id: int) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    handler: logging.Handler = (
        logging.FileHandler(cfg.collector.log_file) if cfg.collector.log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter(f"%(asctime)s worker-{worker_id} %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(cfg.collector.log_level.upper())


def run_worker(spec: WorkerSpec) -> None:
    """Entry point of a worker process (started by the supervisor with "spawn")."""
    # Shutdown is the main process's job: a ^C on the terminal reaches the whole
    # process group, and we must not die before the ring is drained.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    cfg = load_config(spec.config_path, overrides=spec.overrides)
    _configure_logging(cfg, spec.worker_id)
    # Until this process ends, no new collector may take the data directory (issue 20).
    hold_as_worker(spec.data_dir)
    block = CounterBlock.attach(spec.block_name)
    try:
        _Worker(spec, cfg, block).run()
    finally:
        block.close()


class _Worker:
    def __init__(self, spec: WorkerSpec, cfg: CollectorConfig, block: CounterBlock) -> None:
        self.spec = spec
        self.cfg = cfg
        self.block = block
        self.decode_mod = load("decode")
        self.sanitize_batch = load("bounds").sanitize_batch  # agenttrace.bounds, compiled
        self.stages = build_stages(cfg)
        self.domain = DomainCounters(cfg.metrics.max_label_values)

    def _wal_scan(self) -> Any:
        from agenttrace.store.layout import wal_path
        from agenttrace.store.wal import WalScan, scan_wal

        try:
            return scan_wal(wal_path(self.spec.data_dir, self.spec.worker_id))
        except (OSError, ValueError):
            return WalScan(base_seq=0, records=[], valid_end=0, size=0)

    def _recover_in_flight(self) -> None:
        """Account for a predecessor killed mid-batch (see the module docstring): the
        datagrams of an append whose WAL write landed are stored (the writer replays
        them); every other popped, unfinished datagram counts as ``worker_crash``."""
        slots = self.block.slots
        in_flight = slots[SLOT["popped"]] - slots[SLOT["done"]]
        k = slots[SLOT["appending"]]
        if in_flight > 0:
            landed, landed_spans = 0, 0
            if k:
                first = slots[SLOT["appending_first_seq"]]
                scan = self._wal_scan()
                in_wal = [r for r in scan.records if first <= r.seq < first + k]
                # Records before the WAL's base were sealed and rotated out: they landed too.
                sealed = max(0, min(scan.base_seq, first + k) - first) if scan.size else 0
                landed = min(k, sealed + len(in_wal))
                if landed == k:
                    landed_spans = slots[SLOT["appending_spans"]]
                else:
                    landed_spans = sum(len(self.replay(r.data)) for r in in_wal)
            slots[SLOT["datagrams_stored"]] += landed
            slots[SLOT["spans_stored"]] += landed_spans
            lost = in_flight - landed
            if lost:
                log.warning("previous worker died with %d datagrams not yet in the WAL; counted as worker_crash", lost)
            slots[SLOT["dropped_worker_crash"]] += lost
            slots[SLOT["done"]] = slots[SLOT["popped"]]
        slots[SLOT["appending"]] = 0

    def replay(self, raw: bytes) -> list[Span]:
        """Decode a WAL record on reopen (it decoded once already; stages run again)."""
        try:
            spans = wire.decode(raw).spans
        except WireError:
            return []
        self.sanitize_batch([(raw, spans)], time.time_ns())  # counted when it first arrived
        self._enrich(spans)
        return spans

    def _enrich(self, spans: list[Span]) -> None:
        for stage in self.stages:
            try:
                stage(spans)
            except Exception:
                # A faulty stage must not lose data: the spans are stored unenriched.
                log.exception("enrichment stage %r failed; storing spans without it", stage)

    def run(self) -> None:
        block, slots = self.block, self.block.slots
        self._recover_in_flight()
        slots[SLOT["pid"]] = os.getpid()
        slots[SLOT["started"]] += 1
        self.domain.load(block.read_snapshot())
        # Store stats restart at zero with each writer; the block's counters must not.
        self.store_base = (slots[SLOT["segments"]], slots[SLOT["store_bytes"]])

        ring = load("ring").Ring.attach(self.spec.ring_name)
        writer = _open_writer(self.spec, self.cfg, self.replay)
        self.domain.watch_stages(self.stages)  # after the replay: counted by the predecessor
        self.wal_next_seq = self._wal_scan().next_seq
        slots[SLOT["store_writable"]] = 1
        # Spans are acyclic and short-lived; the default gen-0 threshold (700) makes the
        # cyclic GC run every few datagrams and re-walk the writer's pending spans.
        # Freezing what startup allocated and collecting less often is ~15% faster.
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        slots[SLOT["ready"]] = 1
        log.info("worker %d running (pid %d, ring %s)", self.spec.worker_id, os.getpid(), self.spec.ring_name)
        try:
            for name in self.spec.drain_first:
                self._drain_left_over(name, writer)
            self._loop(ring, writer)
        finally:
            slots[SLOT["ready"]] = 0
            t0 = time.perf_counter()
            try:
                writer.close()
                block.observe_latency(SEAL_HIST, time.perf_counter() - t0)
            except Exception:
                log.exception("closing the store failed")
                slots[SLOT["store_writable"]] = 0
            self._publish_store(writer)
            block.publish(self.domain.snapshot())
            ring.close()

    def _drain_left_over(self, name: str, writer: Any) -> None:
        ring_mod = load("ring")
        try:
            ring = ring_mod.Ring.attach(name)
        except (OSError, ValueError):
            return
        log.warning("storing %d datagrams left in ring %s by an earlier collector", ring.waiting(), name)
        self._loop(ring, writer, until_empty=True)
        ring.close()
        ring.unlink()

    def _pop(self, ring: Any) -> list[bytes]:
        try:
            return ring.pop_many(BATCH)
        except ValueError as exc:  # RingCorruptError: a record that cannot be framed
            out: list[bytes] = []
            with contextlib.suppress(ValueError):
                while (one := ring.pop_many(1)) and len(out) < BATCH:
                    out.extend(one)
            if not out:
                skipped = ring.skip_to_head()
                log.error("ring %s: %s; skipped %d bytes of records", ring.name, exc, skipped)
                self.block.slots[SLOT["dropped_ring_corrupt"]] += 1
            return out

    def _loop(self, ring: Any, writer: Any, *, until_empty: bool = False) -> None:
        block, slots = self.block, self.block.slots
        publish_every = self.cfg.metrics.publish_interval_ms / 1000
        next_publish = time.monotonic() + publish_every
        reload_gen = block.reload_generation
        idle = IDLE_MIN_S
        parent = self.spec.parent_pid
        i_popped, i_hb = SLOT["popped"], SLOT["heartbeat_ns"]
        dirty = False
        while True:
            batch = self._pop(ring)
            if batch:
                slots[i_popped] += len(batch)
                self._process(batch, writer)
                idle = IDLE_MIN_S
                dirty = True
            now = time.monotonic()
            if not batch or now >= next_publish:
                self._tick(writer)
                slots[i_hb] = time.time_ns()
                # Publish on schedule under load, and at once when the ring runs empty so
                # the domain series agree with the pipeline counters when traffic pauses.
                if now >= next_publish or (dirty and not batch):
                    dirty = False
                    block.publish(self.domain.snapshot())
                    self._publish_store(writer)
                    next_publish = now + publish_every
                    if block.reload_generation != reload_gen:
                        reload_gen = block.reload_generation
                        self._reload()
                if not batch:
                    if until_empty or block.drain or os.getppid() != parent:
                        return
                    time.sleep(idle)
                    idle = min(idle * 2, IDLE_MAX_S)

    def _process(self, batch: list[bytes], writer: Any) -> None:
        slots = self.block.slots
        good, errors = self.decode_mod.decode_batch(batch)
        for reason, n in errors.items():
            slots[SLOT.get(f"dropped_{reason}", SLOT["dropped_bad_payload"])] += n
            slots[SLOT["done"]] += n
        if not good:
            return
        fixes = self.sanitize_batch(good, time.time_ns())
        if fixes is not None:
            self._count_fixes(fixes)
        all_spans = [s for _, spans in good for s in spans] if len(good) > 1 else good[0][1]
        self._enrich(all_spans)
        # append_batch writes a WAL record for each datagram that has spans.
        records = sum(1 for _, spans in good if spans)
        slots[SLOT["appending_first_seq"]] = self.wal_next_seq
        slots[SLOT["appending_spans"]] = len(all_spans)
        slots[SLOT["appending"]] = records
        t0 = time.perf_counter()
        try:
            # One WAL write for the whole batch; the spans are durable when it returns.
            writer.append_batch(good)
        except Exception:
            self._store_failed()
            slots[SLOT["dropped_store_error"]] += len(good)
            slots[SLOT["done"]] += len(good)
            # A refused or failed append leaves the WAL as it was (the writer rolls a
            # failed write back), so wal_next_seq stands.
            slots[SLOT["appending"]] = 0
            return
        self.block.observe_latency(WAL_HIST, time.perf_counter() - t0)
        self.wal_next_seq += records
        # These three stores are the commit; a kill between them is the one window
        # (nanoseconds) in which a recount could happen.
        slots[SLOT["datagrams_stored"]] += len(good)
        slots[SLOT["spans_stored"]] += len(all_spans)
        slots[SLOT["done"]] += len(good)
        slots[SLOT["appending"]] = 0
        self.domain.observe(all_spans)

    def _count_fixes(self, fixes: Any) -> None:
        slots = self.block.slots
        for (field, reason), n in fixes.sanitized.items():
            slots[SLOT[f"sanitized_{field}_{reason}"]] += n
        for reason, n in fixes.rejected.items():
            slots[SLOT[f"rejected_{reason}"]] += n

    def _tick(self, writer: Any) -> None:
        before = _stat(writer, "segments")
        t0 = time.perf_counter()
        try:
            writer.tick()
        except Exception:
            self._store_failed()
            return
        if _stat(writer, "segments") != before:
            self.block.observe_latency(SEAL_HIST, time.perf_counter() - t0)
            self.block.slots[SLOT["store_writable"]] = 1

    def _store_failed(self) -> None:
        if self.block.slots[SLOT["store_writable"]]:
            log.exception("the store refused a write; datagrams are counted as dropped (store_error)")
        self.block.slots[SLOT["store_writable"]] = 0

    def _publish_store(self, writer: Any) -> None:
        slots = self.block.slots
        slots[SLOT["segments"]] = self.store_base[0] + _stat(writer, "segments")
        slots[SLOT["store_bytes"]] = self.store_base[1] + _stat(writer, "bytes")
        slots[SLOT["wal_bytes"]] = _stat(writer, "wal_bytes")

    def _reload(self) -> None:
        """SIGHUP in the main process: reopen the log, re-read the pricing and guards tables."""
        try:
            cfg = load_config(self.spec.config_path, overrides=self.spec.overrides)
        except Exception:
            log.exception("reload: keeping the running configuration")
            return
        self.cfg = cfg
        _configure_logging(cfg, self.spec.worker_id)
        try:
            self.stages = build_stages(cfg)
            self.domain.watch_stages(self.stages)  # the new stages' Counters start at 0
        except Exception:
            log.exception("reload: keeping the running enrichment stages")
        log.info("worker %d reloaded its configuration", self.spec.worker_id)


def _stat(writer: SegmentWriter, name: str) -> int:
    return int(getattr(writer.stats, name))
