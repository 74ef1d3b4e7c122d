"""The read layer's contract: the segment engine implements every question of the
QueryEngine protocol, the report methods answer what the report functions do, and the
id-prefix resolver finds one id or says why not. Stores are written with the real writer."""

from __future__ import annotations

import inspect

import pytest

from agenttrace import wire
from agenttrace.errors import AmbiguousIdError, NotFoundError
from agenttrace.model import Span, Usage
from agenttrace.query import QueryEngine, SpanFilter, open_engine, reports
from agenttrace.query.segments import SegmentQueryEngine
from agenttrace.store.writer import SegmentWriter, WriterConfig

T0 = 1_763_769_600_000_000_000


def _span(trace: bytes, span: int, *, session: str, parent: int = 0, name: str = "step", **kw) -> Span:
    return Span(
        trace_id=trace,
        span_id=span.to_bytes(8, "big"),
        parent_id=parent.to_bytes(8, "big") if parent else b"",
        name=name,
        start_ns=T0 + span * 1_000_000,
        end_ns=T0 + span * 1_000_000 + 500_000,
        session_id=session,
        service="svc",
        **kw,
    )


SPANS = [
    _span(bytes.fromhex("ab" * 16), 1, session="chat-one", name="root"),
    _span(bytes.fromhex("ab" * 16), 2, session="chat-one", parent=1, kind="llm", model="gpt-4o",
          usage=Usage(input_tokens=100, output_tokens=20), cost_usd=0.5, status=2),
    _span(bytes.fromhex("ac" + "00" * 15), 3, session="chat-two", name="other"),
    _span(bytes.fromhex("12" * 16), 4, session="batch-7", name="third"),
]  # fmt: skip


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> SegmentQueryEngine:
    path = tmp_path_factory.mktemp("store")
    with SegmentWriter(path, 0, WriterConfig(seal_rows=2, wal_fsync="none", seal_age_s=3600.0)) as w:
        for k, s in enumerate(SPANS):
            w.append(wire.encode([s], sender_id=1, seq=k), [s])
    return SegmentQueryEngine(path)


def test_the_segment_engine_answers_every_question_of_the_protocol() -> None:
    asked = {n for n, _ in inspect.getmembers(QueryEngine, inspect.isfunction) if not n.startswith("_")}
    assert {"sessions", "session", "traces", "trace", "spans", "iter_spans", "aggregate", "costs"} <= asked
    assert {"performance", "errors", "summary", "recent", "resolve", "inventory"} <= asked
    for name in asked:
        mine = inspect.signature(getattr(SegmentQueryEngine, name))
        theirs = inspect.signature(getattr(QueryEngine, name))
        # every parameter the protocol names is accepted, with the same kind and default
        for p in theirs.parameters.values():
            assert p.name in mine.parameters, (name, p.name)
            q = mine.parameters[p.name]
            assert (q.kind, q.default) == (p.kind, p.default), (name, p.name)


def test_open_engine_gives_a_query_engine(tmp_path) -> None:
    engine = open_engine(tmp_path)
    assert isinstance(engine, QueryEngine)
    assert engine.inventory().readable == 0
    assert engine.inventory().skipped_segments == []


def test_inventory_counts_readable_parts_and_lists_corrupt_ones(engine: SegmentQueryEngine, tmp_path) -> None:
    assert engine.inventory().readable == 2  # four spans, sealed every two rows
    with SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=2, wal_fsync="none", seal_age_s=3600.0)) as w:
        for k, s in enumerate(SPANS):
            w.append(wire.encode([s], sender_id=1, seq=k), [s])
    first = sorted(tmp_path.glob("segments/*/*.seg"))[0]
    first.write_bytes(first.read_bytes()[:40])  # truncated
    held = SegmentQueryEngine(tmp_path).inventory()
    assert held.readable == 1
    assert [s.path for s in held.skipped_segments] == [str(first)]


def test_report_methods_answer_what_the_report_functions_do(engine: SegmentQueryEngine) -> None:
    assert engine.costs("model") == reports.cost_report(engine, "model")
    assert engine.summary().spans == 4
    assert engine.summary().errors == 1
    assert engine.performance("kind") == reports.performance_report(engine, "kind")
    errs = engine.errors("kind", recent=5)
    assert [r.key for r in errs.rows] == ["llm"]
    assert [s.span_id for s in errs.recent] == [(2).to_bytes(8, "big").hex()]


def test_trace_list_and_session_detail_summarise_traces_the_same_way(engine: SegmentQueryEngine) -> None:
    listed = {t.trace_id: t for t in engine.traces(SpanFilter(limit=10)).traces}
    in_session = {t.trace_id: t for t in engine.session("chat-one").traces}
    tid = "ab" * 16
    assert listed[tid] == in_session[tid]
    assert listed[tid].root_name == "root"
    assert (listed[tid].spans, listed[tid].errors, listed[tid].cost_usd) == (2, 1, 0.5)
    assert listed[tid].tokens.total_tokens == 120


def test_resolve_finds_the_one_id_with_that_prefix(engine: SegmentQueryEngine) -> None:
    assert engine.resolve("trace", "12") == "12" * 16
    assert engine.resolve("trace", "ABAB") == "ab" * 16  # hex in any case
    assert engine.resolve("trace", "ab" * 16) == "ab" * 16
    assert engine.resolve("session", "batch") == "batch-7"


def test_resolve_says_when_a_prefix_is_ambiguous_unknown_or_malformed(engine: SegmentQueryEngine) -> None:
    with pytest.raises(AmbiguousIdError) as info:
        engine.resolve("trace", "a")
    assert info.value.matches == ["ab" * 16, "ac" + "00" * 15]
    with pytest.raises(AmbiguousIdError):
        engine.resolve("session", "chat")
    with pytest.raises(NotFoundError):
        engine.resolve("trace", "ff")
    with pytest.raises(ValueError, match="hex"):
        engine.resolve("trace", "xyz")
    with pytest.raises(ValueError, match="empty"):
        engine.resolve("session", "  ")
