"""Two processes, one ring, millions of messages: nothing lost, reordered or damaged.

The producer is a forked process, the consumer this one. Each message is an 8-byte
index followed by one of a pool of random payloads, so the consumer checks every
message byte for byte, and both sides CRC the whole stream. Default sizes keep the
run short (2M messages compiled, 200k twin); ``AGENTTRACE_STRESS_MESSAGES=20000000``
runs the full size.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import random
import time
import zlib

import pytest
from native_helpers import load_build

POOL_SEED = 20261122


def _pool() -> list[bytes]:
    rng = random.Random(POOL_SEED)
    return [rng.randbytes(rng.choice((0, 1, 7, 8, 13, 64, 200, 500, 1000))) for _ in range(97)]


def _ring_module(build: str):
    return importlib.import_module("agenttrace._native.ring" + ("_py" if build == "twin" else ""))


def _produce(build: str, name: str, count: int, conn) -> None:
    ring = _ring_module(build).Ring.attach(name)
    pool = _pool()
    npool = len(pool)
    push = ring.push
    crc = 0
    batch: list[bytes] = []
    for i in range(count):
        msg = i.to_bytes(8, "little") + pool[i % npool]
        while not push(msg):
            time.sleep(0)  # full: the consumer is behind; a producer of our own may wait
        batch.append(msg)
        if len(batch) == 4096:
            crc = zlib.crc32(b"".join(batch), crc)
            batch.clear()
    crc = zlib.crc32(b"".join(batch), crc)
    conn.send(crc)
    ring.close()


def _messages(build: str) -> int:
    forced = os.environ.get("AGENTTRACE_STRESS_MESSAGES")
    if forced:
        return int(forced)
    return 2_000_000 if build == "compiled" else 200_000


@pytest.mark.slow
@pytest.mark.parametrize(("producer", "consumer"), [("compiled", "compiled"), ("twin", "twin"), ("compiled", "twin")])
def test_two_process_stress(producer: str, consumer: str) -> None:
    if "compiled" in (producer, consumer):
        load_build("ring", "compiled")  # skips when not built
    count = _messages("twin" if "twin" in (producer, consumer) else "compiled")
    ring = _ring_module(consumer).Ring.create(1 << 16, max_record=1024)
    ctx = multiprocessing.get_context("fork")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_produce, args=(producer, ring.name, count, child_conn), daemon=True)
    proc.start()
    pool = _pool()
    npool = len(pool)
    crc = 0
    expected = 0
    bad: list[int] = []
    try:
        while expected < count:
            batch = ring.pop_many(1024)
            if not batch:
                if not proc.is_alive() and ring.fill() == 0.0:
                    break
                time.sleep(0)
                continue
            crc = zlib.crc32(b"".join(batch), crc)
            for msg in batch:
                if int.from_bytes(msg[:8], "little") != expected or msg[8:] != pool[expected % npool]:
                    bad.append(expected)
                expected += 1
        proc.join(60)
        assert parent_conn.poll(10), "producer did not report its checksum"
        producer_crc = parent_conn.recv()
    finally:
        if proc.is_alive():
            proc.kill()
        stats = ring.stats()
        ring.close()
        ring.unlink()
    assert proc.exitcode == 0
    assert bad == []
    assert expected == count
    assert crc == producer_crc
    assert stats["pushed"] == stats["popped"] == count
    print(f"{producer}->{consumer}: {count} messages, {stats['dropped_full']} full-ring retries")
