"""Compaction: merged stores answer exactly as before; a SIGKILL at any point loses or doubles nothing."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from agenttrace import wire
from agenttrace.model import Span
from agenttrace.query.results import SpanFilter
from agenttrace.query.segments import SegmentQueryEngine as QueryEngine
from agenttrace.store.compaction import (
    HOUR_ROLLUP_VERSION,
    HourRollupFile,
    compact,
    hour_rollup_path,
    live_segments,
    read_hour_rollup,
)
from agenttrace.store.layout import list_segments
from agenttrace.store.reader import SegmentReader
from agenttrace.store.rollup import Rollup
from agenttrace.store.synthetic import generate_spans
from agenttrace.store.writer import SegmentWriter, WriterConfig

MIDNIGHT = 1_763_769_600_000_000_000  # 2025-11-22T00:00:00Z
HOUR = 3_600_000_000_000


def build_store(path: Path, spans: list[Span], *, seal_rows: int, batch: int = 20) -> None:
    cfg = WriterConfig(seal_rows=seal_rows, wal_fsync="none", seal_age_s=3600.0)
    with SegmentWriter(path, 0, cfg) as w:
        for k in range(0, len(spans), batch):
            chunk = spans[k : k + batch]
            w.append(wire.encode(chunk, sender_id=1, seq=k), chunk)


def seen_span_ids(d: Path) -> Counter[bytes]:
    """Every span a fresh engine returns, counted (a span seen twice counts 2)."""
    return Counter(s.span_id for s in QueryEngine(d).iter_spans())


def answers(d: Path) -> list:
    e = QueryEngine(d)
    agg = e.aggregate(["model", "hour"])
    return [(r.group, r.count, r.tokens, round(r.cost_usd, 6), r.p95_ms) for r in agg.rows]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Span]]:
    # Two hours before midnight and one after, in ~40 small segments.
    spans = list(generate_spans(2000, seed=11, start_ns=MIDNIGHT - 2 * HOUR, span_rate_per_s=0.2))
    d = tmp_path_factory.mktemp("template")
    build_store(d, spans, seal_rows=50)
    return d, spans


@pytest.fixture
def store(template: tuple[Path, list[Span]], tmp_path: Path) -> tuple[Path, list[Span]]:
    src, spans = template
    d = tmp_path / "store"
    shutil.copytree(src, d)
    return d, spans


def test_compaction_merges_and_answers_the_same(store: tuple[Path, list[Span]]) -> None:
    d, spans = store
    before_segments = len(list_segments(d))
    before = answers(d)
    stats = compact(d)
    after_segments = len(list_segments(d))
    assert after_segments < before_segments / 4
    assert stats.merged_segments > 0 and stats.rows > 0
    assert seen_span_ids(d) == Counter(s.span_id for s in spans)
    assert answers(d) == before
    assert not [p for p in d.rglob("*") if p.name.startswith("compact-")]
    # The writer resumes after the compacted segments: a reopened writer keeps counting.
    with SegmentWriter(d, 0, WriterConfig(wal_fsync="none")) as w:
        extra = list(generate_spans(5, seed=99, start_ns=MIDNIGHT + 2 * HOUR))
        w.append(wire.encode(extra, sender_id=1, seq=0), extra)
    assert seen_span_ids(d) == Counter(s.span_id for s in spans + extra)


def test_a_long_lived_engine_sees_compaction_and_retention(store: tuple[Path, list[Span]]) -> None:
    from agenttrace.store.retention import apply_retention

    d, spans = store
    engine = QueryEngine(d)  # as the collector keeps one: its caches must follow the files
    before = engine.aggregate(["model", "hour"])
    assert Counter(s.span_id for s in engine.iter_spans()) == Counter(s.span_id for s in spans)
    compact(d)
    after = engine.aggregate(["model", "hour"])
    assert [(r.group, r.count, r.tokens) for r in after.rows] == [(r.group, r.count, r.tokens) for r in before.rows]
    assert Counter(s.span_id for s in engine.iter_spans()) == Counter(s.span_id for s in spans)
    apply_retention(d, max_bytes=0)  # all but the worker's newest segment
    [newest] = list_segments(d)
    left = SegmentReader(newest.path).footer.rows
    assert sum(r.count for r in engine.aggregate(["model"]).rows) == left
    assert len(engine.spans(SpanFilter(limit=100_000)).spans) == left


def _hour_rollup_of_day(d: Path, day: str) -> Rollup:
    in_day = Rollup("hour")
    for info in list_segments(d):
        if info.day == day:
            in_day.add_spans(SegmentReader(info.path).read_spans())
    return in_day


def _assert_same(rollup: Rollup, want: Rollup) -> None:
    assert set(rollup.rows) == set(want.rows)
    for k, row in rollup.rows.items():
        other = want.rows[k]  # equal but for the order in which costs were summed
        assert row.sketch == other.sketch
        assert row.as_dict() == {**other.as_dict(), "cost_usd": pytest.approx(other.cost_usd, rel=1e-9)}


def test_hour_rollups_per_day_grow_with_the_day(store: tuple[Path, list[Span]]) -> None:
    d, spans = store
    compact(d)
    days = {i.day for i in list_segments(d)}
    assert days == {"2025-11-21", "2025-11-22"}
    for day in days:
        got = read_hour_rollup(hour_rollup_path(d, day))
        assert got is not None
        _assert_same(got[1], _hour_rollup_of_day(d, day))
        by_day = read_hour_rollup(hour_rollup_path(d, day), "day")
        assert by_day is not None and by_day[1].granularity == "day"
        _assert_same(by_day[1], _hour_rollup_of_day(d, day).fold("day"))
    # The day goes on: a new segment, then the next compaction grows that day's file.
    engine = QueryEngine(d)
    extra = list(generate_spans(40, seed=5, start_ns=MIDNIGHT + 2 * HOUR))
    with SegmentWriter(d, 0, WriterConfig(wal_fsync="none")) as w:
        w.append(wire.encode(extra, sender_id=1, seq=0), extra)
    # Before it: the file covers part of the day's segments, the engine folds in the rest.
    assert sum(r.count for r in QueryEngine(d).aggregate(["hour"]).rows) == len(spans) + len(extra)
    assert sum(r.count for r in engine.aggregate(["hour"]).rows) == len(spans) + len(extra)
    assert compact(d).hour_rollups == 1
    _assert_same(read_hour_rollup(hour_rollup_path(d, "2025-11-22"))[1], _hour_rollup_of_day(d, "2025-11-22"))
    assert compact(d).hour_rollups == 0  # nothing changed: nothing rewritten


def test_engine_trusts_an_hour_rollup_only_while_its_segments_are_there(store: tuple[Path, list[Span]]) -> None:
    d, spans = store
    compact(d)
    whole = SpanFilter(since_ns=MIDNIGHT - 3 * HOUR, until_ns=MIDNIGHT + 3 * HOUR)
    total = QueryEngine(d).aggregate([], where=whole).rows[0].count
    assert total == len(spans)
    # Forge the hour file of the first day: same covers, one fake span. A fresh engine
    # trusts a file that covers exactly the live segments...
    path = hour_rollup_path(d, "2025-11-21")
    f = msgspec.msgpack.decode(path.read_bytes(), type=HourRollupFile)
    fake = Rollup("hour")
    fake.add_span(Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x", start_ns=MIDNIGHT - HOUR, end_ns=MIDNIGHT))
    path.write_bytes(msgspec.msgpack.encode(HourRollupFile(HOUR_ROLLUP_VERSION, f.covers, fake.to_bytes())))
    day2 = sum(len(SegmentReader(i.path).read_spans()) for i in list_segments(d) if i.day == "2025-11-22")
    assert QueryEngine(d).aggregate([], where=whole).rows[0].count == day2 + 1
    # ...and ignores it once it names a segment that is not there (or changed).
    stale = [[name + "x", rows, created] for name, rows, created in f.covers]
    path.write_bytes(msgspec.msgpack.encode(HourRollupFile(HOUR_ROLLUP_VERSION, stale, fake.to_bytes())))
    assert QueryEngine(d).aggregate([], where=whole).rows[0].count == len(spans)


_CHILD = """
import sys
from agenttrace.store.compaction import compact
compact(sys.argv[1], _crash_at=sys.argv[2] or None, hour_rollups=False)
"""


def _run_child(d: Path, crash_at: str = "") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(d), crash_at], stderr=subprocess.PIPE)


@pytest.mark.parametrize("point", ["after_tmp", "after_manifest", "after_rename", "mid_delete", "after_delete"])
def test_sigkill_at_each_step_keeps_every_span_once(store: tuple[Path, list[Span]], point: str) -> None:
    d, spans = store
    want = Counter(s.span_id for s in spans)
    before = answers(d)
    p = _run_child(d, point)
    _, err = p.communicate(timeout=120)
    assert p.returncode == -signal.SIGKILL, err.decode()
    assert seen_span_ids(d) == want
    assert sum(SegmentReader(i.path).footer.rows for i in live_segments(d)) == len(spans)
    assert answers(d) == before
    compact(d, hour_rollups=False)  # recovers, then compacts the rest
    assert seen_span_ids(d) == want
    assert answers(d) == before
    assert not [p for p in d.rglob("*") if p.name.startswith("compact-")]


def test_sigkill_at_random_times(store: tuple[Path, list[Span]], tmp_path: Path) -> None:
    d, spans = store
    want = Counter(s.span_id for s in spans)
    rng = random.Random(1234)
    # How long an uninterrupted run takes here, so the kills land inside it.
    probe = tmp_path / "probe"
    shutil.copytree(d, probe)
    t0 = time.monotonic()
    assert _run_child(probe).wait(timeout=120) == 0
    full = time.monotonic() - t0
    killed = 0
    for _ in range(4):
        work = tmp_path / f"run{killed}-{rng.random()}"
        shutil.copytree(d, work)
        p = _run_child(work)
        time.sleep(rng.uniform(0.1, full))
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            killed += 1
        p.wait(timeout=60)
        assert seen_span_ids(work) == want
        compact(work, hour_rollups=False)
        assert seen_span_ids(work) == want
    assert killed >= 1, "no run was interrupted; the store is too small to test this"
