"""Trace by id through ``reader.rows_where`` (the dictionary search): same spans as the
stored ones, and a segment whose trace_id column is damaged is skipped and named."""

from __future__ import annotations

from pathlib import Path

from agenttrace.query.segments import SegmentQueryEngine as QueryEngine
from agenttrace.store.reader import SegmentReader
from agenttrace.store.synthetic import generate_spans
from agenttrace.store.writer import SegmentWriter
from agenttrace.wire import encode


def _store(tmp_path: Path) -> list[list]:
    spans = list(generate_spans(600, seed=11))
    parts = [spans[:300], spans[300:]]
    with SegmentWriter(tmp_path, 0) as writer:
        for seq, part in enumerate(parts):
            for k in range(0, len(part), 50):
                writer.append(encode(part[k : k + 50], sender_id=1, seq=seq * 100 + k), part[k : k + 50])
            writer.seal()
    return parts


def test_every_trace_is_found_whole(tmp_path: Path) -> None:
    parts = _store(tmp_path)
    engine = QueryEngine(tmp_path)
    everything = parts[0] + parts[1]
    for tid in {s.trace_id for s in everything}:
        found, skipped = engine.trace_spans(tid)
        assert not skipped
        assert sorted(s.span_id for s in found) == sorted(s.span_id for s in everything if s.trace_id == tid)


def test_a_damaged_trace_id_column_skips_only_its_segment(tmp_path: Path) -> None:
    parts = _store(tmp_path)
    segments = sorted((tmp_path / "segments").rglob("*.seg"))
    assert len(segments) == 2
    # Find which segment holds the first part, and flip bytes inside its trace_id column.
    first = next(p for p in segments if parts[0][0].span_id in {s.span_id for s in SegmentReader(p).read_spans()})
    entry = next(e for e in SegmentReader(first).footer.columns if e.name == "trace_id")
    assert entry.length > 8
    data = bytearray(first.read_bytes())
    for j in range(entry.offset + entry.length // 2, entry.offset + entry.length // 2 + 4):
        data[j] ^= 0xFF
    first.write_bytes(data)

    engine = QueryEngine(tmp_path)
    only_first = next(s.trace_id for s in parts[0] if s.trace_id not in {t.trace_id for t in parts[1]})
    found, skipped = engine.trace_spans(only_first)
    assert found == [] and [str(first)] == [str(s.path) for s in skipped]
    only_second = next(s.trace_id for s in parts[1] if s.trace_id not in {t.trace_id for t in parts[0]})
    found, _ = engine.trace_spans(only_second)
    assert sorted(s.span_id for s in found) == sorted(s.span_id for s in parts[1] if s.trace_id == only_second)
