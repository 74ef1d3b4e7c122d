"""The supervisor: owns each worker's ring and counter block, starts, restarts and drains workers.

Rings and counter blocks are created here, in the main process, and live as long as
it does. A worker process only attaches to them, so when one dies (a bug, an OOM
kill, ``kill -9``) nothing in its ring is lost: :meth:`Supervisor.check` notices,
waits a short backoff (doubling while a worker keeps dying young, up to 10 s) and
starts a new process on the same ring, block and WAL; the new worker replays its
WAL and counts the datagrams its predecessor had in flight (see
:mod:`agenttrace.collector.worker`).

Workers are started with the ``spawn`` context: the main process runs receive
threads and an event loop, and ``fork`` after threads have started is unsafe.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from typing import Any

from agenttrace._native import load
from agenttrace.collector.config import CollectorConfig
from agenttrace.collector.counters import CounterBlock
from agenttrace.collector.live import LiveWorker
from agenttrace.collector.worker import WorkerSpec, run_worker

__all__ = ["Supervisor", "WorkerSlot"]

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
        """Create the rings and blocks and start every worker."""
        for i in range(self.cfg.workers):
            ring = self._ring_mod.Ring.create(
                self.cfg.collector.ring_bytes, max_record=self.cfg.receive.max_datagram_bytes
            )
            block = CounterBlock.create()
            self.slots.append(WorkerSlot(id=i, ring=ring, block=block, backoff_s=self.cfg.collector.restart_backoff_s))
        for slot in self.slots:
            self._spawn(slot)

    def _spawn(self, slot: WorkerSlot) -> None:
        spec = WorkerSpec(
            worker_id=slot.id,
            ring_name=slot.ring.name,
            block_name=slot.block.name,
            data_dir=str(self.cfg.data_dir),
            parent_pid=os.getpid(),
            config_path=self.config_path,
            overrides=self.overrides,
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
        """Release the shared memory (after :meth:`drain`)."""
        for slot in self.slots:
            for obj in (slot.ring, slot.block):
                try:
                    obj.close()
                    obj.unlink()
                except Exception:  # already gone: nothing to release
                    log.debug("releasing %r failed", obj, exc_info=True)
        self.slots.clear()
