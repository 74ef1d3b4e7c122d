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
