"""SpanTail, the live stream's source, against a real store: only spans stored after
it started, each once (compaction included), filtered, oldest first, capped per poll."""

from __future__ import annotations

import os
import time

from agenttrace.model import Span
from agenttrace.store.compaction import compact
from agenttrace.store.query import QueryEngine
from agenttrace.store.writer import SegmentWriter, WriterConfig
from agenttrace.web.stream import SpanTail, StreamFilter
from agenttrace.wire import decode, encode

T0 = time.time_ns()


def _spans(names: list[str], service: str = "a", start: int = 0) -> list[Span]:
    return [
        Span(
            trace_id=os.urandom(16),
            span_id=os.urandom(8),
            name=n,
            start_ns=T0 + (start + i) * 1_000_000,
            end_ns=T0 + (start + i) * 1_000_000 + 500,
            service=service,
            kind="tool",
        )
        for i, n in enumerate(names)
    ]


class Store:
    def __init__(self, path) -> None:
        self.writer = SegmentWriter(path, 0, WriterConfig(wal_fsync="none"), replay=lambda raw: decode(raw).spans)
        self.writer.open()
        self.seq = 0

    def seal(self, spans: list[Span]) -> None:
        self.seq += 1
        self.writer.append(encode(spans, sender_id=1, seq=self.seq), spans)
        assert self.writer.seal() is not None


def test_only_new_spans_each_once_oldest_first(tmp_path):
    store = Store(tmp_path)
    store.seal(_spans(["before"]))
    tail = SpanTail(QueryEngine(tmp_path))
    assert tail.poll() == []  # what was stored before the tail started is not news
    store.seal(_spans(["late-start"], start=5) + _spans(["early-start"], start=1))
    assert [s.name for s in tail.poll()] == ["early-start", "late-start"]
    assert tail.poll() == []


def test_a_compacted_segment_does_not_repeat_spans(tmp_path):
    store = Store(tmp_path)
    tail = SpanTail(QueryEngine(tmp_path))
    store.seal(_spans(["one"]))
    assert [s.name for s in tail.poll()] == ["one"]
    store.seal(_spans(["two"], start=1))
    # Compacted before the tail saw "two": the merged file is new to it and holds "one" too.
    assert compact(tmp_path).merged_segments == 2
    assert [s.name for s in tail.poll()] == ["two"]
    store.seal(_spans(["three"], start=2))
    assert [s.name for s in tail.poll()] == ["three"]


def test_filter_and_cap(tmp_path):
    store = Store(tmp_path)
    tail = SpanTail(QueryEngine(tmp_path), StreamFilter(service="a"), max_batch=2)
    store.seal(_spans(["a1", "a2", "a3"], "a") + _spans(["b1"], "b", start=10))
    got = tail.poll()
    assert [s.name for s in got] == ["a2", "a3"]  # the newest two of the three matching
    assert {s.service for s in got} == {"a"}
    assert tail.skipped == 1
