"""Issue 20, seen: damage in the middle of a WAL sent every later record to a side file
that nothing re-imported, so those spans were never stored. Now recovery resynchronises
after the damaged record and stores every intact record after it."""

from __future__ import annotations

from segment_strategies import make_span

from agenttrace import wire
from agenttrace.store import SegmentReader, SegmentWriter, WriterConfig, list_segments
from agenttrace.store.layout import wal_path
from agenttrace.store.wal import WAL_RECORD, scan_wal


def _stored(data_dir) -> list:
    return [s for info in list_segments(data_dir) for s in SegmentReader(info.path).read_spans()]


def test_records_after_a_damaged_wal_record_are_stored_after_recovery(tmp_path):
    spans = [make_span(i) for i in range(6)]
    w = SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=1000))
    w.open()
    w.append_batch([(wire.encode([s], sender_id=1, seq=i), [s]) for i, s in enumerate(spans)])
    w._wal.close()  # a crash: nothing sealed
    path = wal_path(tmp_path, 0)
    records = scan_wal(path).records
    damaged = bytearray(path.read_bytes())
    damaged[records[2].offset + WAL_RECORD.size + 3] ^= 0xFF  # inside record 2's payload
    path.write_bytes(damaged)

    with SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=1000)) as w:
        assert w.stats.replayed_records == 5
    kept = sorted(s.span_id for s in _stored(tmp_path))
    assert kept == sorted(s.span_id for i, s in enumerate(spans) if i != 2)
    assert not list(tmp_path.glob("wal/*.tail-*"))


def test_an_old_side_file_is_stored_once_at_recovery(tmp_path):
    """A ``worker-N.wal.tail-*`` file from the old behaviour holds records already sealed
    and records never stored; recovery stores the latter, once, and removes the file."""
    import time
    import zlib

    from agenttrace.store.wal import WAL_RECORD_V1

    spans = [make_span(i) for i in range(6)]
    raws = [wire.encode([s], sender_id=1, seq=i) for i, s in enumerate(spans)]
    with SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=2)) as w:
        for raw, s in zip(raws[:4], spans[:4], strict=True):
            w.append(raw, [s])  # sealed: WAL records 0..3
    side = bytearray()
    for seq in range(2, 6):  # what v1 cut at record 2: two sealed records, two never stored
        side += WAL_RECORD_V1.pack(len(raws[seq]), zlib.crc32(raws[seq], zlib.crc32(seq.to_bytes(8, "little"))), seq)
        side += raws[seq]
    (wal_path(tmp_path, 0).parent / f"worker-0.wal.tail-16-{time.time_ns()}").write_bytes(bytes(side))

    with SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=1000)):
        pass
    assert sorted(s.span_id for s in _stored(tmp_path)) == sorted(s.span_id for s in spans)
    assert not list(tmp_path.glob("wal/*.tail-*"))
