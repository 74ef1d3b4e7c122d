"""The collector's periodic store maintenance: compaction and retention."""

from __future__ import annotations

import time

from agenttrace.collector.config import load_config
from agenttrace.collector.main import run_maintenance
from agenttrace.model import Span
from agenttrace.store import SegmentWriter, WriterConfig, list_segments
from agenttrace.wire import encode


def _write(data_dir, start_ns: int, segments: int) -> None:
    w = SegmentWriter(data_dir, 0, WriterConfig(seal_rows=10))
    w.open()
    for i in range(segments * 10):
        s = Span(trace_id=i.to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"), name="x",
                 start_ns=start_ns + i, end_ns=start_ns + i + 1)  # fmt: skip
        w.append(encode([s], sender_id=1, seq=i), [s])
    w.close()


def test_old_segments_go_and_small_ones_are_merged(tmp_path):
    old = 1_500_000_000 * 10**9  # 2017
    _write(tmp_path, old, 3)
    assert len(list_segments(tmp_path)) == 3
    run_maintenance(str(tmp_path), load_config(overrides={"store.retention_days": 1}))
    # Old segments go, except the worker's newest (its WAL position lives there).
    (kept,) = list_segments(tmp_path)
    assert kept.day == "2017-07-14"

    _write(tmp_path, time.time_ns(), 4)
    assert len(list_segments(tmp_path)) == 5
    run_maintenance(str(tmp_path), load_config(overrides={"store.retention_days": 1}))
    (after,) = list_segments(tmp_path)  # the old one is gone, the four recent ones merged
    assert after.day != "2017-07-14" and after.seq > kept.seq
