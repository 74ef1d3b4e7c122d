"""The WAL keeps every appended record, numbers them, survives torn writes and damage."""

from __future__ import annotations

import errno
import os
import zlib

import pytest

from agenttrace.errors import ConfigError, StoreError
from agenttrace.store.wal import WAL_HEADER, WAL_RECORD, WAL_RECORD_V1, WAL_VERSION, Wal, scan_wal


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _payloads(n: int, start: int = 0) -> list[bytes]:
    return [f"datagram-{i}".encode() * (1 + i % 3) for i in range(start, start + n)]


def test_records_come_back_in_order_with_their_numbers(tmp_path):
    path = tmp_path / "w.wal"
    wal = Wal(path, fsync="batch")
    assert wal.open(next_seq=10).records == []
    assert wal.append(_payloads(3)) == 12
    assert wal.append(_payloads(2, 3)) == 14
    wal.close()
    scan = scan_wal(path)
    assert [(r.seq, r.data) for r in scan.records] == list(zip(range(10, 15), _payloads(5), strict=True))
    assert scan.valid_end == scan.size == os.path.getsize(path)
    # Reopening continues the numbering.
    wal = Wal(path, fsync="batch")
    assert len(wal.open(next_seq=0).records) == 5
    assert wal.append([b"x"]) == 15
    wal.close()


def test_every_torn_tail_is_cut_and_the_log_goes_on(tmp_path):
    path = tmp_path / "w.wal"
    wal = Wal(path, fsync="none")
    wal.open(next_seq=0)
    wal.append(_payloads(3))
    wal.close()
    whole = path.read_bytes()
    last = scan_wal(path).records[-1]
    for cut in range(last.offset + 1, len(whole)):
        path.write_bytes(whole[:cut])
        wal = Wal(path, fsync="none")
        scan = wal.open(next_seq=0)
        assert [r.seq for r in scan.records] == [0, 1], cut
        assert wal.truncated_bytes == cut - last.offset
        assert wal.append([b"after"]) == 2
        wal.close()
        assert [r.data for r in scan_wal(path).records][-1] == b"after"


def test_a_flipped_bit_loses_only_the_record_it_hits(tmp_path):
    path = tmp_path / "w.wal"
    wal = Wal(path, fsync="none")
    wal.open(next_seq=0)
    wal.append(_payloads(4))
    wal.close()
    whole = path.read_bytes()
    records = scan_wal(path).records
    for bit in range(records[1].offset * 8, len(whole) * 8, 7):
        damaged = bytearray(whole)
        damaged[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(damaged)
        scan = scan_wal(path)
        broken = max(i for i, r in enumerate(records) if r.offset * 8 <= bit)
        assert [r.seq for r in scan.records] == [i for i in range(4) if i != broken], bit
        assert [r.data for r in scan.records] == [p for i, p in enumerate(_payloads(4)) if i != broken]
        assert scan.problem
        # Damage before the last record is in the middle: the scan names it and goes on.
        assert bool(scan.damaged) == (broken < 3), bit


def test_damage_in_the_middle_keeps_every_record_after_it_and_the_log_goes_on(tmp_path):
    path = tmp_path / "w.wal"
    wal = Wal(path, fsync="none")
    wal.open(next_seq=0)
    wal.append(_payloads(4))
    wal.close()
    records = scan_wal(path).records
    damaged = bytearray(path.read_bytes())
    damaged[records[1].offset + WAL_RECORD.size] ^= 0xFF
    damaged[records[2].offset + 5] ^= 0xFF  # and a damaged length of the next one
    path.write_bytes(damaged)
    wal = Wal(path, fsync="none")
    scan = wal.open(next_seq=0)
    assert [r.seq for r in scan.records] == [0, 3]
    assert scan.damaged == [(records[1].offset, records[3].offset - records[1].offset)]
    assert wal.append([b"after"]) == 4
    wal.close()
    assert [r.seq for r in scan_wal(path).records] == [0, 3, 4]
    assert not [p for p in os.listdir(tmp_path) if ".tail-" in p]


def _v1_log(base_seq: int, payloads: list[bytes]) -> tuple[bytes, list[int]]:
    """A version 1 log as earlier releases wrote it, and the offset of each record."""
    out = bytearray(WAL_HEADER.pack(b"ATWL", 1, 0, base_seq))
    offsets = []
    for i, p in enumerate(payloads):
        seq = base_seq + i
        offsets.append(len(out))
        out += WAL_RECORD_V1.pack(len(p), zlib.crc32(p, zlib.crc32(seq.to_bytes(8, "little"))), seq) + p
    return bytes(out), offsets


def test_a_version_1_log_is_read_resynchronised_and_rewritten_as_version_2(tmp_path):
    path = tmp_path / "w.wal"
    data, offsets = _v1_log(7, _payloads(4))
    damaged = bytearray(data)
    damaged[offsets[1] + WAL_RECORD_V1.size] ^= 0xFF
    path.write_bytes(damaged)
    assert [r.seq for r in scan_wal(path).records] == [7, 9, 10]
    wal = Wal(path, fsync="none")
    assert [r.data for r in wal.open(next_seq=0).records] == [p for i, p in enumerate(_payloads(4)) if i != 1]
    assert wal.append([b"new"]) == 11
    wal.close()
    assert path.read_bytes()[4:6] == WAL_VERSION.to_bytes(2, "little")
    assert [r.seq for r in scan_wal(path).records] == [7, 9, 10, 11]


def test_an_old_side_file_is_re_imported_once(tmp_path):
    """Version 1 kept everything after damage in ``<wal>.tail-<offset>-<time>``; nothing
    read it back. Now its intact records not yet sealed are appended to the log."""
    path = tmp_path / "w.wal"
    data, offsets = _v1_log(0, _payloads(6))
    tail = bytearray(data[offsets[2] :])
    tail[WAL_RECORD_V1.size] ^= 0xFF  # record 2 is the damaged one
    (tmp_path / "w.wal.tail-123-1000").write_bytes(bytes(tail))
    wal = Wal(path, fsync="none")
    wal.open(next_seq=0)
    asked = []

    def sealed_before(t: int) -> int:
        asked.append(t)
        return 3  # records up to 3 were in segments when the side file was written

    imported = wal.import_side_files(sealed_before)
    assert asked == [1000]
    assert [r.data for r in imported] == _payloads(6)[4:]
    assert not (tmp_path / "w.wal.tail-123-1000").exists()
    assert wal.import_side_files(sealed_before) == []
    wal.close()
    assert [r.data for r in scan_wal(path).records] == _payloads(6)[4:]


def test_rotation_empties_the_log_and_keeps_numbering(tmp_path):
    path = tmp_path / "w.wal"
    wal = Wal(path, fsync="batch")
    wal.open(next_seq=0)
    wal.append(_payloads(5))
    wal.rotate()
    assert os.path.getsize(path) == WAL_HEADER.size
    assert wal.append([b"next"]) == 5
    wal.close()
    assert [r.seq for r in scan_wal(path).records] == [5]
    # A log behind the segments' numbering is renumbered on open.
    wal = Wal(path, fsync="batch")
    assert wal.open(next_seq=50).records[0].seq == 5
    assert wal.append([b"x"]) == 50
    wal.close()


def test_fsync_policies(tmp_path):
    clock = FakeClock()
    batch = Wal(tmp_path / "b.wal", fsync="batch", clock=clock)
    batch.open(next_seq=0)
    for _ in range(3):
        batch.append([b"x"])
    assert batch.syncs == 3
    interval = Wal(tmp_path / "i.wal", fsync="interval", fsync_interval_ms=200, clock=clock)
    interval.open(next_seq=0)
    interval.append([b"x"])
    interval.append([b"y"])
    assert interval.syncs == 0
    clock.now += 0.2
    assert interval.maybe_sync() is True
    assert interval.syncs == 1
    assert interval.maybe_sync() is False  # nothing new to sync
    with pytest.raises(ConfigError):
        Wal(tmp_path / "x.wal", fsync="sometimes")


def test_a_failed_append_leaves_the_log_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "w.wal"
    wal = Wal(path, fsync="batch")
    wal.open(next_seq=0)
    wal.append([b"good"])
    real_write = os.write

    def disk_full(fd, data):
        real_write(fd, bytes(data)[:5])  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(StoreError, match="disk full"):
        wal.append([b"lost" * 10])
    monkeypatch.setattr(os, "write", real_write)
    assert os.path.getsize(path) == wal.size  # the partial record was cut off again
    assert wal.append([b"later"]) == 1
    wal.close()
    assert [r.data for r in scan_wal(path).records] == [b"good", b"later"]
