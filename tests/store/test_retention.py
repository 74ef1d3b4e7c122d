"""Retention deletes the oldest data first and nothing a limit does not require; corrupt
segments are skipped by queries and reported."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from agenttrace import wire
from agenttrace.errors import ConfigError
from agenttrace.model import Span
from agenttrace.query.results import SpanFilter
from agenttrace.query.segments import SegmentQueryEngine as QueryEngine
from agenttrace.store.compaction import compact, hour_rollup_path
from agenttrace.store.layout import list_segments
from agenttrace.store.reader import SegmentReader
from agenttrace.store.retention import apply_retention
from agenttrace.store.synthetic import generate_spans
from agenttrace.store.writer import SegmentWriter, WriterConfig

DAY = 86_400_000_000_000
START = 1_763_596_800_000_000_000  # 2025-11-20T00:00:00Z


def build_store(path: Path, spans: list[Span], *, seal_rows: int, batch: int = 20) -> None:
    cfg = WriterConfig(seal_rows=seal_rows, wal_fsync="none", seal_age_s=3600.0)
    with SegmentWriter(path, 0, cfg) as w:
        for k in range(0, len(spans), batch):
            chunk = spans[k : k + batch]
            w.append(wire.encode(chunk, sender_id=1, seq=k), chunk)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Span]]:
    # Three days of traffic, 1,500 spans, ~30 segments.
    spans = list(generate_spans(1500, seed=5, start_ns=START, span_rate_per_s=0.006))
    d = tmp_path_factory.mktemp("ret")
    build_store(d, spans, seal_rows=50)
    return d, spans


@pytest.fixture
def store(template: tuple[Path, list[Span]], tmp_path: Path) -> tuple[Path, list[Span]]:
    d = tmp_path / "s"
    shutil.copytree(template[0], d)
    return d, template[1]


def footers(d: Path) -> dict[str, object]:
    return {i.path: SegmentReader(i.path).footer for i in list_segments(d)}


def test_by_age_deletes_segments_wholly_older_than_the_cutoff(store: tuple[Path, list[Span]]) -> None:
    d, spans = store
    assert max(s.start_ns for s in spans) > START + 2 * DAY
    now = START + 3 * DAY
    compact(d)  # hour rollups for every day
    before = footers(d)
    stats = apply_retention(d, max_age_s=1.5 * 86400, clock=lambda: now)
    cutoff = now - int(1.5 * DAY)
    after = footers(d)
    assert stats.deleted_segments == len(before) - len(after) > 0
    assert all(f.max_start_ns < cutoff for p, f in before.items() if p not in after)
    assert all(f.max_start_ns >= cutoff for f in after.values())
    # Every span that started after the cutoff is still answered, exactly once.
    seen = Counter(s.span_id for s in QueryEngine(d).iter_spans())
    assert all(seen[s.span_id] == 1 for s in spans if s.start_ns >= cutoff)
    assert max(seen.values()) == 1
    # A day that lost segments lost its hour rollup file too; an emptied day is gone.
    assert not hour_rollup_path(d, "2025-11-20").exists()
    assert not (d / "segments" / "2025-11-20").exists()


def test_by_size_deletes_oldest_first_until_under_the_limit(store: tuple[Path, list[Span]]) -> None:
    d, _ = store
    before = footers(d)
    sizes = {i.path: i.size for i in list_segments(d)}
    limit = sum(sizes.values()) // 3
    stats = apply_retention(d, max_bytes=limit)
    after = footers(d)
    assert sum(i.size for i in list_segments(d)) == stats.kept_bytes <= limit
    deleted = [p for p in before if p not in after]
    assert sorted(deleted) == sorted(stats.deleted_paths)
    assert max(before[p].min_start_ns for p in deleted) <= min(f.min_start_ns for f in after.values())
    # Only as much as needed: keeping the newest deleted segment too would exceed the limit.
    newest_deleted = max(deleted, key=lambda p: before[p].min_start_ns)
    assert stats.kept_bytes + sizes[newest_deleted] > limit


def test_a_workers_newest_segment_always_stays(store: tuple[Path, list[Span]]) -> None:
    # Its writer resumes after the WAL position it records: deleting it would replay the WAL.
    d, _ = store
    newest0 = max(list_segments(d), key=lambda i: i.seq)
    # Worker 1 seals two segments and dies without closing: its WAL still holds both.
    w = SegmentWriter(d, 1, WriterConfig(wal_fsync="batch"))
    w.open()
    first = list(generate_spans(30, seed=3, start_ns=START))
    second = list(generate_spans(30, seed=4, start_ns=START + DAY))
    for k, batch in enumerate((first, second)):
        w.append(wire.encode(batch, sender_id=2, seq=k), batch)
        w.seal()
    newest1 = max((i for i in list_segments(d) if i.worker == 1), key=lambda i: i.seq)
    stats = apply_retention(d, max_bytes=0, max_age_s=1, clock=lambda: START + 100 * DAY)
    assert sorted(i.path for i in list_segments(d)) == sorted([newest0.path, newest1.path])
    assert stats.kept_segments == 2
    # The restarted writer brings nothing back from its WAL.
    with SegmentWriter(d, 1, WriterConfig(wal_fsync="none")):
        pass
    left = [s for i in list_segments(d) if i.worker == 1 for s in SegmentReader(i.path).read_spans()]
    assert [s.span_id for s in left] == [s.span_id for s in second]


def test_no_limits_keep_everything_and_bad_limits_are_refused(store: tuple[Path, list[Span]]) -> None:
    d, _ = store
    n = len(list_segments(d))
    assert apply_retention(d).deleted_segments == 0
    assert len(list_segments(d)) == n
    with pytest.raises(ConfigError):
        apply_retention(d, max_age_s=0)
    with pytest.raises(ConfigError):
        apply_retention(d, max_bytes=-1)


def test_corrupt_segment_is_skipped_and_reported(store: tuple[Path, list[Span]]) -> None:
    d, _ = store
    infos = list_segments(d)
    victim = infos[len(infos) // 2]
    lost = Counter(s.span_id for s in SegmentReader(victim.path).read_spans())
    engine = QueryEngine(d)
    everything = Counter(s.span_id for s in engine.iter_spans())
    whole = engine.aggregate(["kind"])
    # Damage the middle of the file: the footer still opens, a column does not.
    data = bytearray(Path(victim.path).read_bytes())
    for k in range(200, 260):
        data[k] ^= 0xFF
    Path(victim.path).write_bytes(bytes(data))
    engine = QueryEngine(d)
    page = engine.spans(SpanFilter(limit=100_000))
    assert Counter(bytes.fromhex(r.span_id) for r in page.spans) == everything - lost
    assert [s.path for s in page.skipped_segments] == [victim.path]
    assert page.skipped_segments[0].offset > 0
    # Aggregates still come from the intact rollup section of that segment.
    assert engine.aggregate(["kind"]).rows == whole.rows
    # Damage the trailer: the segment no longer opens at all; everything else answers.
    Path(victim.path).write_bytes(bytes(data[:-10]))
    engine = QueryEngine(d)
    agg = engine.aggregate(["kind"])
    assert sum(r.count for r in agg.rows) == sum(everything.values()) - sum(lost.values())
    assert [s.path for s in agg.skipped_segments] == [victim.path]
    sessions = engine.sessions()
    assert [s.path for s in sessions.skipped_segments] == [victim.path]
