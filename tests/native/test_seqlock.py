"""The counters' seqlock (seqlock.pyx and its twin): a reader gets a whole publish or
None, never a mix of two, while a writer in another process publishes all the time."""

from __future__ import annotations

import multiprocessing as mp
import time
from multiprocessing import shared_memory

import pytest
from native_helpers import BUILDS, load_build

AREA = 16 + 4096


@pytest.fixture(params=BUILDS)
def seqlock(request):
    return load_build("seqlock", request.param)


def test_publish_then_read_round_trips(seqlock) -> None:
    area = bytearray(AREA)
    assert seqlock.read(area) == b""  # nothing published yet
    seqlock.publish(area, b"hello")
    assert seqlock.read(area) == b"hello"
    seqlock.publish(area, b"x" * 4096)  # exactly the capacity
    assert seqlock.read(area) == b"x" * 4096
    assert int.from_bytes(area[:8], "little") == 4  # two publishes, each +2: even


def test_a_publish_in_progress_reads_as_none(seqlock) -> None:
    area = bytearray(AREA)
    seqlock.publish(area, b"old")
    area[0:8] = (3).to_bytes(8, "little")  # a writer between its two seq stores
    assert seqlock.read(area) is None
    area[0:8] = (4).to_bytes(8, "little")
    assert seqlock.read(area) == b"old"


def test_oversize_and_short_areas_are_refused(seqlock) -> None:
    with pytest.raises(ValueError, match="do not fit"):
        seqlock.publish(bytearray(AREA), b"x" * 4097)
    with pytest.raises(ValueError):
        seqlock.read(bytearray(8))


def _writer(name: str, build: str, stop_after_s: float) -> None:
    from native_helpers import load_build as load

    lock = load("seqlock", build)
    shm = shared_memory.SharedMemory(name=name)
    area = shm.buf[:AREA]
    deadline = time.monotonic() + stop_after_s
    i = 0
    try:
        while time.monotonic() < deadline:
            i += 1
            # every publish is self-checking: its length and every byte derive from i
            lock.publish(area, bytes([i % 251]) * (1 + i % 4000))
    finally:
        area.release()
        shm.close()


@pytest.mark.parametrize("build", BUILDS)
def test_a_reader_never_sees_a_torn_publish(build: str) -> None:
    seqlock = load_build("seqlock", build)
    shm = shared_memory.SharedMemory(create=True, size=AREA)
    area = shm.buf[:AREA]
    area[:16] = bytes(16)
    proc = mp.get_context("spawn").Process(target=_writer, args=(shm.name, build, 1.5), daemon=True)
    try:
        proc.start()
        whole = retried = 0
        deadline = time.monotonic() + 20
        while (whole < 2000 or proc.is_alive()) and time.monotonic() < deadline:
            data = seqlock.read(area)
            if data is None:
                retried += 1
                continue
            if data:
                i = data[0]
                assert data == bytes([i]) * len(data), "a read mixed two publishes"
                whole += 1
        assert whole >= 2000
    finally:
        proc.join(30)
        area.release()
        shm.close()
        shm.unlink()
