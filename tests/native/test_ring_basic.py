"""Ring behaviour a caller sees: sizes, refusals, attach checks, counters across processes."""

from __future__ import annotations

import array
import struct
from multiprocessing.shared_memory import SharedMemory

import pytest

from agenttrace._native import ring_py


def test_push_pop_in_order_across_wraps(make_ring) -> None:
    ring = make_ring(1024, max_record=100)
    sent = [bytes([i % 256]) * (i % 101) for i in range(2000)]
    got: list[bytes] = []
    for chunk in range(0, len(sent), 7):
        for data in sent[chunk : chunk + 7]:
            assert ring.push(data)
        got.extend(ring.pop_many(100))
    assert got == sent
    assert ring.pop() is None and ring.pop_many(5) == []
    stats = ring.stats()
    assert stats["pushed"] == stats["popped"] == 2000
    assert stats["bytes_pushed"] == stats["bytes_popped"] == sum(map(len, sent))


def test_full_ring_refuses_and_counts_then_recovers(make_ring) -> None:
    ring = make_ring(1024, max_record=100)
    accepted = 0
    while ring.push(b"x" * 100):
        accepted += 1
    assert accepted == 1024 // 104  # a 100-byte payload takes 104 bytes
    assert ring.stats()["dropped_full"] == 1
    assert ring.fill() > 0.9
    assert ring.pop() == b"x" * 100
    assert ring.push(b"y" * 100)
    assert ring.stats()["pushed"] == accepted + 1


def test_oversize_is_refused_and_counted(make_ring) -> None:
    ring = make_ring(1024, max_record=100)
    assert not ring.push(b"z" * 101)
    assert ring.push(b"z" * 100)
    assert ring.stats()["dropped_oversize"] == 1
    assert ring.max_record == 100 and ring.capacity == 1024


def test_default_max_record_is_16k(make_ring, ring_mod) -> None:
    ring = make_ring(1 << 20)
    assert ring.max_record == ring_mod.DEFAULT_MAX_RECORD == 16384
    assert ring.push(b"a" * 16384)
    assert not ring.push(b"a" * 16385)


@pytest.mark.parametrize(
    ("capacity", "max_record"), [(1004, 8), (0, 8), (1001, 8), (64, 64), (1 << 20, 70000), (1 << 20, -1)]
)
def test_bad_sizes_are_refused(ring_mod, capacity: int, max_record: int) -> None:
    with pytest.raises(ValueError):
        ring_mod.Ring.create(capacity, max_record=max_record)


def test_attach_sees_the_same_ring_and_counters(make_ring, ring_mod) -> None:
    ring = make_ring(1 << 16)
    other = ring_mod.Ring.attach(ring.name)
    try:
        assert other.capacity == 1 << 16 and other.name == ring.name
        assert ring.push(b"hello")
        assert other.stats()["pushed"] == 1
        assert other.pop() == b"hello"
        assert ring.stats()["popped"] == 1
    finally:
        other.close()


def test_attach_refuses_what_is_not_a_ring(ring_mod) -> None:
    shm = SharedMemory(create=True, size=4096)
    try:
        with pytest.raises(ring_py.RingFormatError, match="magic"):
            ring_mod.Ring.attach(shm.name)
        shm.buf[:8] = ring_py.MAGIC
        shm.buf[8:16] = struct.pack("<II", 2, 256)  # a future version
        with pytest.raises(ring_py.RingFormatError, match="version 2"):
            ring_mod.Ring.attach(shm.name)
        shm.buf[8:32] = struct.pack("<IIQQ", 1, 256, 1 << 20, 1024)  # capacity past the block
        with pytest.raises(ValueError):
            ring_mod.Ring.attach(shm.name)
    finally:
        shm.close()
        shm.unlink()


def test_corrupt_record_length_raises_with_offset(make_ring, ring_mod) -> None:
    ring = make_ring(1024, max_record=100)
    assert ring.push(b"abc")
    shm = SharedMemory(name=ring.name)
    try:
        shm.buf[ring_py.HEADER_SIZE : ring_py.HEADER_SIZE + 4] = struct.pack("<I", 5000)
        with pytest.raises(ring_py.RingCorruptError) as info:
            ring.pop()
        assert info.value.offset == 0
    finally:
        shm.close()


def test_close_refused_while_a_receiver_holds_the_ring(make_ring) -> None:
    ring = make_ring(1 << 16)
    ring.pinned += 1
    with pytest.raises(RuntimeError, match="receiver"):
        ring.close()
    ring.pinned -= 1


def test_push_takes_any_contiguous_buffer_by_its_bytes(make_ring) -> None:
    ring = make_ring(1 << 16)
    words = array.array("I", [1, 2, 3])
    assert ring.push(words)
    assert ring.push(memoryview(b"abcdef")[1:4])
    assert ring.pop_many(5) == [words.tobytes(), b"bcd"]


def test_after_a_crash_a_held_claim_is_released_and_damage_is_skipped(make_ring, ring_mod) -> None:
    from agenttrace._native.ring_py import Ring as TwinRing
    from agenttrace._native.ring_py import record_size

    ring = make_ring(1 << 12, max_record=64)
    for payload in (b"one", b"two", b"three"):
        assert ring.push(payload)
    view = TwinRing.attach(ring.name)  # what a dead receive thread left: its claim held
    view._q[20] = 1
    assert ring.release_dead_producer() is True
    assert ring.release_dead_producer() is False
    assert ring.push(b"four")  # would wait forever on the dead claim
    assert ring.waiting() == 4
    # Memory damage: the second record's length cannot be framed.
    view._u32[record_size(3) // 4] = 10_000
    view.close()
    with pytest.raises(ring_mod.RingCorruptError):
        ring.pop_many(10)
    assert ring.pop_many(1) == [b"one"]  # what comes before the damage is still read
    with pytest.raises(ring_mod.RingCorruptError):
        ring.pop_many(1)
    assert ring.skip_to_head() == record_size(3) + record_size(5) + record_size(4)
    assert ring.pop_many(10) == [] and ring.fill() == 0.0
