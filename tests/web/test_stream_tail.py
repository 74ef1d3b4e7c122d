"""SpanTail, the live stream's source, against a real store: only spans stored after
it started, each once (compaction included), filtered, oldest first, capped per poll."""

from __future__ import annotations

import os
import time

from agenttrace.model import Span, Usage
from agenttrace.query.segments import SegmentQueryEngine as QueryEngine
from agenttrace.store.compaction import compact
from agenttrace.store.writer import SegmentWriter, WriterConfig
from agenttrace.web.stream import SpanTail, StreamFilter
from agenttrace.wire import decode, encode


def _spans(names: list[str], service: str = "a", start: int = 0) -> list[Span]:
    t0 = time.time_ns()  # now: a store without segments is followed from a minute back
    return [
        Span(
            trace_id=os.urandom(16),
            span_id=os.urandom(8),
            name=n,
            start_ns=t0 + (start + i) * 1_000_000,
            end_ns=t0 + (start + i) * 1_000_000 + 500,
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


class ProtocolOnly:
    """The segment engine seen through the QueryEngine protocol alone, as a store without
    segments (PostgreSQL) is: the dashboard must answer the same from it."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name: str):
        if name == "segments":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_store_without_segments_is_followed_by_start_time(tmp_path):
    store = Store(tmp_path)
    store.seal(_spans(["before"]))
    tail = SpanTail(ProtocolOnly(QueryEngine(tmp_path)), StreamFilter(service="a"))
    assert tail.poll() == []
    store.seal(_spans(["new-a"], "a", start=3) + _spans(["new-b"], "b", start=4))
    assert [s.name for s in tail.poll()] == ["new-a"]
    assert tail.poll() == []


def test_dashboard_scans_answer_the_same_without_segments(tmp_path):
    from agenttrace.web.api import cost_by_attribute, session_page, trace_outline, unpriced_models

    store = Store(tmp_path)
    spans = _spans(["root", "call", "tool"])
    tid = spans[0].trace_id
    for s in spans[1:]:
        s.trace_id, s.parent_id = tid, spans[0].span_id
    spans[0].attributes = {"vcs.ref.head.revision": "c0ffee"}
    spans[0].session_id = spans[1].session_id = "s1"
    spans[1].environment, spans[1].tags = "prod", ["vip"]
    spans[1].model, spans[1].cost_source = "mystery", "unknown"
    spans[1].usage = Usage(input_tokens=10, output_tokens=2)
    store.seal(spans)
    fast = QueryEngine(tmp_path)
    slow = ProtocolOnly(fast)
    for engine in (fast, slow):
        o = trace_outline(engine, tid.hex())
        assert (o.span_count, o.root_ids, o.tokens.input_tokens) == (3, [spans[0].span_id.hex()], 10)
        u = unpriced_models(engine, None, None)
        assert [(m.model, m.spans, m.input_tokens) for m in u.models] == [("mystery", 1, 10)]
        c = cost_by_attribute(engine, "vcs.ref.head.revision", None, None)
        assert [(r.key, r.spans) for r in c.rows] == [("c0ffee", 3)]
        page = session_page(engine, since_ns=None, until_ns=None, environment="prod", tag="vip")
        assert [s.session_id for s in page.sessions] == ["s1"]
        assert session_page(engine, since_ns=None, until_ns=None, tag="nope").total == 0
