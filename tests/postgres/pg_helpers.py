"""Helpers of the PostgreSQL tests: write spans through a real SegmentWriter, read PostgreSQL back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from agenttrace import wire
from agenttrace.model import Span
from agenttrace.store.writer import SegmentWriter, WriterConfig


def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def span_keys(dsn: str) -> list[tuple[bytes, bytes]]:
    return [(bytes(r[0]), bytes(r[1])) for r in fetch(dsn, "SELECT trace_id, span_id FROM spans")]


def writer(data_dir: str, worker: int = 0, **cfg: Any) -> SegmentWriter:
    w = SegmentWriter(data_dir, worker, WriterConfig(wal_keep_rotated=True, wal_fsync="none", **cfg), replay=decode)
    w.open()
    return w


def decode(raw: bytes) -> list[Span]:
    return wire.decode(raw).spans


def append(w: SegmentWriter, spans: Sequence[Span], per_datagram: int = 20) -> None:
    items = []
    for i in range(0, len(spans), per_datagram):
        chunk = list(spans[i : i + per_datagram])
        items.append((wire.encode(chunk, sender_id=1, seq=i), chunk))
    w.append_batch(items)


def wait_for(pred: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
