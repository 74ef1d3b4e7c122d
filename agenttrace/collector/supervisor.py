"""The supervisor: owns each worker's ring and counter block, starts, restarts and drains workers.

Rings and counter blocks are created here, in the main process, and live as long as
it does (and, named after the data directory, past its crash: see
:mod:`agenttrace.collector.shm`). A worker process only attaches to them, so when one dies (a bug, an OOM
kill, ``kill -9``) nothing in its ring is lost: :meth:`Supervisor.check` notices,
waits a short backoff (doubling while a worker keeps dying young, up to 10 s) and
starts a new process on the same ring, block and WAL; the new worker replays its
WAL and counts the datagrams its predecessor had in flight (see
:mod:`agenttrace.collector.worker`).

Workers are started with the ``spawn`` context: the main process runs receive
threads and an event loop, and ``fork`` after threads have started is unsafe.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from typing import Any

from agenttrace._native import load
from agenttrace.collector import shm
from agenttrace.collector.config import CollectorConfig
from agenttrace.collector.counters import CounterBlock
from agenttrace.collector.live import LiveWorker
from agenttrace.collector.worker import WorkerSpec, run_worker
from agenttrace.errors import AgentTraceError

__all__ = ["OrphanWorkersError", "Supervisor", "WorkerSlot"]

log = logging.getLogger("agenttrace.collector.supervisor")

MAX_BACKOFF_S = 10.0
HEALTHY_AFTER_S = 5.0  # a worker that lived this long resets the backoff


@dataclass
class WorkerSlot:
    """One worker position: its ring and block persist, its process may be replaced."""

    id: int
    ring: Any
    block: CounterBlock
    process: Any = None
    restarts: int = 0
    started_at: float = 0.0
    backoff_s: float = 0.0
    restart_at: float | None = None
    exit_codes: list[int] = field(default_factory=list)
    # Rings a crashed collector left that this run has no slot for: drained first.
    drain_first: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()


class Supervisor:
    """Starts ``cfg.workers`` workers; call :meth:`check` about once a second."""

    def __init__(
        self,
        cfg: CollectorConfig,
        *,
        config_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.config_path = config_path
        self.overrides = dict(overrides or {})
        self.clock = clock
        self.slots: list[WorkerSlot] = []
        self.draining = False
        self._ctx = multiprocessing.get_context("spawn")
        self._ring_mod = load("ring")

    @property
    def rings(self) -> list[Any]:
        return [s.ring for s in self.slots]

    @property
    def blocks(self) -> list[CounterBlock]:
        return [s.block for s in self.slots]

    def start(self) -> None:
        """Create the rings and blocks, or take over those a crashed collector on the
        same data directory left (:mod:`agenttrace.collector.shm`), and start every
        worker. Raises :class:`OrphanWorkersError` while that collector's workers run."""
        data_dir = self.cfg.data_dir
        left = shm.find_leftovers(data_dir)
        if left:
            self._wait_for_orphans(left)
        n = self.cfg.workers
        for i in range(n):
            ring = self._take_ring(shm.ring_name(data_dir, i), i in left.rings)
            name = shm.block_name(data_dir, i)
            block = CounterBlock.take_over(name) if i in left.blocks else CounterBlock.create(name, persistent=True)
            self.slots.append(WorkerSlot(id=i, ring=ring, block=block, backoff_s=self.cfg.collector.restart_backoff_s))
        # A previous run with more workers: their rings are drained by ours, and what
        # their workers had in flight (their WAL is not ours to replay) is counted.
        for k, name in sorted(left.rings.items()):
            if k >= n:
                self.slots[k % n].drain_first.append(name)
        for k, name in sorted(left.blocks.items()):
            if k >= n:
                old = CounterBlock.attach(name)
                self.slots[k % n].block.add("dropped_worker_crash", old.in_flight())
                old.close()
                _unlink(name)
        for slot in self.slots:
            self._spawn(slot)

    def _wait_for_orphans(self, left: shm.Leftovers) -> None:
        pids = []
        for name in left.blocks.values():
            try:
                block = CounterBlock.attach(name)
            except (OSError, ValueError):
                continue
            pids.append(block.get("pid"))
            block.close()
        alive = shm.wait_for_orphans(pids, self.cfg.collector.shutdown_timeout_s + 2.0)
        if alive:
            raise OrphanWorkersError(
                f"workers of an earlier collector on {self.cfg.data_dir} still run (pid "
                f"{', '.join(map(str, alive))}); stop them first"
            )

    def _take_ring(self, name: str, left_over: bool) -> Any:
        ring_cls = self._ring_mod.Ring
        if left_over:
            try:
                ring = ring_cls.attach(name)
            except (OSError, ValueError) as exc:
                log.error("shared memory %s is not a ring this collector reads (%s); removing it", name, exc)
                _unlink(name)
            else:
                # Its producer was a receive thread of the dead collector.
                ring.release_dead_producer()
                log.warning(
                    "ring %s of a collector that did not stop cleanly holds %d datagrams; storing them",
                    name,
                    ring.waiting(),
                )
                if (ring.capacity, ring.max_record) != (
                    self.cfg.collector.ring_bytes,
                    self.cfg.receive.max_datagram_bytes,
                ):
                    log.warning("ring %s keeps its previous size until the collector stops cleanly", name)
                return ring
        return ring_cls.create(
            self.cfg.collector.ring_bytes,
            name=name,
            max_record=self.cfg.receive.max_datagram_bytes,
            persistent=True,
        )

    def _spawn(self, slot: WorkerSlot) -> None:
        spec = WorkerSpec(
            worker_id=slot.id,
            ring_name=slot.ring.name,
            block_name=slot.block.name,
            data_dir=str(self.cfg.data_dir),
            parent_pid=os.getpid(),
            config_path=self.config_path,
            overrides=self.overrides,
            drain_first=list(slot.drain_first),
        )
        proc = self._ctx.Process(target=run_worker, args=(spec,), name=f"agenttrace-worker-{slot.id}", daemon=False)
        proc.start()
        slot.process = proc
        slot.started_at = self.clock()
        slot.restart_at = None
        log.debug("worker %d started (pid %d)", slot.id, proc.pid)

    def check(self) -> list[int]:
        """Restart workers that died (after their backoff). Returns the ids restarted."""
        if self.draining:
            return []
        restarted = []
        now = self.clock()
        for slot in self.slots:
            if slot.alive:
                if now - slot.started_at >= HEALTHY_AFTER_S:
                    slot.backoff_s = self.cfg.collector.restart_backoff_s
                continue
            if slot.restart_at is None:
                code = slot.process.exitcode if slot.process is not None else None
                slot.exit_codes.append(code if code is not None else -1)
                if slot.process is not None:
                    slot.process.join(0)
                    slot.process.close()
                    slot.process = None
                delay = slot.backoff_s if now - slot.started_at < HEALTHY_AFTER_S else 0.0
                slot.restart_at = now + delay
                log.error("worker %d exited with %s; restarting in %.1f s", slot.id, code, delay)
            if now >= slot.restart_at:
                slot.restarts += 1
                slot.backoff_s = min(max(slot.backoff_s, 0.1) * 2, MAX_BACKOFF_S)
                self._spawn(slot)
                restarted.append(slot.id)
        return restarted

    def all_ready(self) -> bool:
        """Every worker process is alive and has opened its store."""
        return bool(self.slots) and all(s.alive and s.block.get("ready") for s in self.slots)

    def reload(self) -> None:
        for slot in self.slots:
            slot.block.request_reload()

    def drain(self, timeout: float) -> bool:
        """Ask every worker to empty its ring, seal and exit; wait up to ``timeout``.
        Returns True when all exited in time (the rest are killed)."""
        self.draining = True
        for slot in self.slots:
            slot.block.drain = True
        for slot in self.slots:
            if not slot.alive:
                # Died and not restarted yet: a fresh worker still empties its ring and WAL.
                if slot.process is not None:
                    slot.process.join(0)
                    slot.process.close()
                slot.restarts += 1
                self._spawn(slot)
        deadline = self.clock() + timeout
        clean = True
        for slot in self.slots:
            if slot.process is None:
                continue
            slot.process.join(max(0.0, deadline - self.clock()))
            if slot.process.is_alive():
                log.error("worker %d did not drain within %.1f s; killing it", slot.id, timeout)
                slot.process.kill()
                slot.process.join(2)
                clean = False
            elif slot.process.exitcode != 0:
                clean = False
        return clean

    def info(self) -> list[LiveWorker]:
        return [LiveWorker(id=s.id, pid=s.pid, alive=s.alive, restarts=s.restarts) for s in self.slots]

    def close(self) -> None:
        """Release the shared memory (after :meth:`drain`). A ring that still holds
        datagrams (its worker was killed during the drain), and its block, are kept
        for the next start on this data directory, which stores them."""
        for slot in self.slots:
            for name in slot.drain_first:
                _unlink_if_drained(self._ring_mod.Ring, name)
            try:
                keep = slot.ring.fill() > 0 or slot.block.in_flight() > 0
            except Exception:
                keep = False
            if keep:
                log.warning("ring %s still holds datagrams; the next start stores them", slot.ring.name)
            for obj in (slot.ring, slot.block):
                try:
                    obj.close()
                    if not keep:
                        obj.unlink()
                except Exception:  # already gone: nothing to release
                    log.debug("releasing %r failed", obj, exc_info=True)
        self.slots.clear()


class OrphanWorkersError(AgentTraceError, RuntimeError):
    """Workers of a dead collector still consume the rings of this data directory."""


def _unlink(name: str) -> None:
    from multiprocessing.shared_memory import _posixshmem  # type: ignore[attr-defined]

    with contextlib.suppress(FileNotFoundError):
        _posixshmem.shm_unlink("/" + name)


def _unlink_if_drained(ring_cls: Any, name: str) -> None:
    try:
        ring = ring_cls.attach(name)
    except (OSError, ValueError):
        return
    empty = ring.fill() == 0
    ring.close()
    if empty:
        _unlink(name)
