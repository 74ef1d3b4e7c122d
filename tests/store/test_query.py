"""The query engine against a plain list of spans (STYLE.md point 8).

Stores are built with the real SegmentWriter in tmp directories; every answer is
compared with a naive Python computation over the same spans.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenttrace import wire
from agenttrace.errors import NotFoundError
from agenttrace.export import STATUS_NAMES
from agenttrace.model import Span, Usage
from agenttrace.query.results import SpanFilter
from agenttrace.query.segments import GROUP_BY
from agenttrace.query.segments import SegmentQueryEngine as QueryEngine
from agenttrace.store.layout import list_segments
from agenttrace.store.rollup import BUCKET_NS
from agenttrace.store.sketch import RELATIVE_ERROR, exact_quantile
from agenttrace.store.synthetic import generate_spans
from agenttrace.store.writer import SegmentWriter, WriterConfig

DAY = 86_400_000_000_000
MIDNIGHT = 1_763_769_600_000_000_000  # 2025-11-22T00:00:00Z


def build_store(path, spans: list[Span], *, seal_rows: int = 500, batch: int = 25) -> None:
    """Write ``spans`` with the real writer: datagrams of ``batch`` spans, a segment every ``seal_rows``."""
    cfg = WriterConfig(seal_rows=seal_rows, wal_fsync="none", seal_age_s=3600.0)
    with SegmentWriter(path, 0, cfg) as w:
        for k in range(0, len(spans), batch):
            chunk = spans[k : k + batch]
            w.append(wire.encode(chunk, sender_id=1, seq=k), chunk)


def tokens_of(s: Span) -> dict[str, int]:
    u = s.usage or Usage()
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "reasoning_tokens": u.reasoning_tokens,
    }


def matches(s: Span, f: SpanFilter) -> bool:
    return (
        (f.since_ns is None or s.start_ns >= f.since_ns)
        and (f.until_ns is None or s.start_ns < f.until_ns)
        and (f.service is None or s.service == f.service)
        and (f.kind is None or s.kind == f.kind)
        and (f.model is None or s.model == f.model)
        and (f.status is None or s.status == f.status)
        and (f.session_id is None or s.session_id == f.session_id)
        and (f.user_id is None or s.user_id == f.user_id)
        and (f.trace_id is None or s.trace_id.hex() == f.trace_id)
        and (f.name_contains is None or f.name_contains.lower() in s.name.lower())
    )


def naive_aggregate(spans: list[Span], group_by: list[str], f: SpanFilter) -> dict[tuple, dict]:
    groups: dict[tuple, list[Span]] = defaultdict(list)
    for s in spans:
        if not matches(s, f):
            continue
        key = []
        for g in group_by:
            if g in BUCKET_NS:
                key.append(s.start_ns // BUCKET_NS[g] * BUCKET_NS[g])
            elif g == "status":
                key.append(STATUS_NAMES[s.status])
            else:
                key.append(getattr(s, g))
        groups[tuple(key)].append(s)
    out = {}
    for k, ss in groups.items():
        tok: dict[str, int] = defaultdict(int)
        for s in ss:
            for name, v in tokens_of(s).items():
                tok[name] += v
        out[k] = {
            "count": len(ss),
            "errors": sum(s.status == 2 for s in ss),
            "tokens": dict(tok),
            "cost": math.fsum(s.cost_usd or 0.0 for s in ss),
            "avg_ms": sum(s.end_ns - s.start_ns for s in ss) / len(ss) / 1e6,
            "durations": sorted(max(0, s.end_ns - s.start_ns) for s in ss),
        }
    return out


def assert_aggregate(engine: QueryEngine, spans: list[Span], group_by: list[str], f: SpanFilter) -> str:
    res = engine.aggregate(group_by, where=f)
    want = naive_aggregate(spans, group_by, f)
    got = {tuple(r.group[g] for g in group_by): r for r in res.rows}
    assert set(got) == set(want), (group_by, f)
    for k, w in want.items():
        r = got[k]
        assert r.count == w["count"]
        assert r.errors == w["errors"]
        assert {n: getattr(r.tokens, n) for n in w["tokens"]} == w["tokens"]
        assert r.tokens.total_tokens == w["tokens"]["input_tokens"] + w["tokens"]["output_tokens"]
        assert r.cost_usd == pytest.approx(w["cost"], rel=1e-9, abs=1e-9)
        assert r.duration_avg_ms == pytest.approx(w["avg_ms"], rel=1e-9)
        for q, p in ((0.5, r.p50_ms), (0.95, r.p95_ms), (0.99, r.p99_ms)):
            exact = exact_quantile(w["durations"], q) / 1e6
            assert p is not None
            assert abs(p - exact) <= RELATIVE_ERROR * exact * (1 + 1e-9) + 1e-9, (q, p, exact)
    return res.source


# --- a realistic store, built once ----------------------------------------------------


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> tuple[QueryEngine, list[Span]]:
    # About three hours of traffic across a UTC midnight, in 8 segments.
    spans = list(generate_spans(3000, seed=7, start_ns=MIDNIGHT - 3_600_000_000_000, span_rate_per_s=0.3))
    d = tmp_path_factory.mktemp("traffic")
    build_store(d, spans, seal_rows=400)
    assert len(list_segments(d)) >= 6
    return QueryEngine(d), spans


def test_trace_by_id_is_the_whole_tree(traffic: tuple[QueryEngine, list[Span]]) -> None:
    engine, spans = traffic
    tid = spans[1234].trace_id
    mine = sorted((s for s in spans if s.trace_id == tid), key=lambda s: (s.start_ns, s.span_id))
    tree = engine.trace(tid.hex())
    assert [r.span_id for r in tree.spans] == [s.span_id.hex() for s in mine]
    assert tree.span_count == len(mine)
    root = next(s for s in mine if not s.parent_id)
    assert tree.root_ids == [root.span_id.hex()]
    assert sorted(tree.children[root.span_id.hex()]) == sorted(s.span_id.hex() for s in mine if s.parent_id)
    assert tree.cost_usd == pytest.approx(sum(s.cost_usd or 0 for s in mine))
    assert tree.tokens.input_tokens == sum(tokens_of(s)["input_tokens"] for s in mine)
    assert tree.errors == sum(s.status == 2 for s in mine)
    assert tree.skipped_segments == []


def test_unknown_trace_is_not_found(traffic: tuple[QueryEngine, list[Span]]) -> None:
    engine, _ = traffic
    with pytest.raises(NotFoundError):
        engine.trace("00" * 16)
    with pytest.raises(ValueError):
        engine.trace("not-hex")


filters = st.builds(
    SpanFilter,
    since_ns=st.none() | st.integers(MIDNIGHT - 4_000_000_000_000, MIDNIGHT + 8_000_000_000_000),
    until_ns=st.none() | st.integers(MIDNIGHT - 3_000_000_000_000, MIDNIGHT + 9_000_000_000_000),
    service=st.none() | st.sampled_from(["coding-agent", "support-bot", "nope"]),
    kind=st.none() | st.sampled_from(["llm", "tool", "file", "agent"]),
    model=st.none() | st.sampled_from(["gpt-4o", "claude-sonnet-4-5", ""]),
    status=st.none() | st.sampled_from([1, 2]),
    name_contains=st.none() | st.sampled_from(["chat", "FILE", "bash"]),
    limit=st.integers(1, 40),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=filters, group_by=st.lists(st.sampled_from(GROUP_BY), unique=True, max_size=3))
def test_aggregate_equals_naive(traffic: tuple[QueryEngine, list[Span]], f: SpanFilter, group_by: list[str]) -> None:
    engine, spans = traffic
    assert_aggregate(engine, spans, group_by, f)


def test_aggregate_sources(traffic: tuple[QueryEngine, list[Span]]) -> None:
    engine, spans = traffic
    whole_hours = SpanFilter(since_ns=MIDNIGHT - 3_600_000_000_000, until_ns=MIDNIGHT + 3_600_000_000_000)
    assert assert_aggregate(engine, spans, ["model"], whole_hours) == "rollups"
    cut = SpanFilter(since_ns=MIDNIGHT - 1_234_567_891_011, until_ns=MIDNIGHT + 987_654_321_012)
    assert assert_aggregate(engine, spans, ["kind", "hour"], cut) == "mixed"
    by_name = SpanFilter(name_contains="chat")
    assert assert_aggregate(engine, spans, ["model"], by_name) == "columns"
    with pytest.raises(ValueError):
        engine.aggregate(["session_id"])
    # Without latency, the same sums and no percentiles.
    lean = QueryEngine(engine.data_dir).aggregate(["model", "status"], latency=False)  # fresh: no sketches read
    full = engine.aggregate(["model", "status"])
    assert [(r.group, r.count, r.tokens, r.cost_usd) for r in lean.rows] == [
        (r.group, r.count, r.tokens, r.cost_usd) for r in full.rows
    ]
    assert all(r.p50_ms is None and r.p99_ms is None for r in lean.rows)
    assert all(r.p50_ms is not None for r in full.rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=filters)
def test_span_pages_equal_naive(traffic: tuple[QueryEngine, list[Span]], f: SpanFilter) -> None:
    engine, spans = traffic
    want = sorted((s for s in spans if matches(s, f)), key=lambda s: (s.start_ns, s.span_id), reverse=True)
    f.limit = max(f.limit, len(want) // 40 + 1)  # at most ~40 pages: keeps the test quick
    got: list[str] = []
    cursor = None
    for _ in range(len(want) // f.limit + 2):
        page = engine.spans(SpanFilter(**{**{k: getattr(f, k) for k in f.__struct_fields__}, "cursor": cursor}))
        assert len(page.spans) <= f.limit
        got += [r.span_id for r in page.spans]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert got == [s.span_id.hex() for s in want]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=filters)
def test_trace_list_equals_naive(traffic: tuple[QueryEngine, list[Span]], f: SpanFilter) -> None:
    engine, spans = traffic
    latest: dict[bytes, int] = {}
    for s in spans:
        if matches(s, f):
            latest[s.trace_id] = max(latest.get(s.trace_id, -1), s.start_ns)
    chosen = sorted(latest, key=lambda t: (latest[t], t), reverse=True)[: f.limit]
    got = engine.traces(f)
    assert [t.trace_id for t in got.traces] == [t.hex() for t in chosen]
    for summary, tid in zip(got.traces, chosen, strict=True):
        whole = [s for s in spans if s.trace_id == tid]
        assert summary.spans == len(whole)
        assert summary.errors == sum(s.status == 2 for s in whole)
        assert summary.start_ns == min(s.start_ns for s in whole)
        assert summary.end_ns == max(s.end_ns for s in whole)
        assert summary.cost_usd == pytest.approx(sum(s.cost_usd or 0 for s in whole))
        assert summary.tokens.output_tokens == sum(tokens_of(s)["output_tokens"] for s in whole)
        assert summary.root_name == next(s.name for s in whole if not s.parent_id)


def test_sessions_list_and_detail(traffic: tuple[QueryEngine, list[Span]]) -> None:
    engine, spans = traffic
    lo, hi = MIDNIGHT - 1_800_000_000_000, MIDNIGHT + 1_800_000_000_000
    by_session: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        if lo <= s.start_ns < hi and s.session_id:
            by_session[s.session_id].append(s)
    res = engine.sessions(lo, hi, limit=10_000)
    assert {x.session_id for x in res.sessions} == set(by_session)
    lasts = [x.last_seen_ns for x in res.sessions]
    assert lasts == sorted(lasts, reverse=True)
    for x in res.sessions:
        ss = by_session[x.session_id]
        assert x.spans == len(ss)
        assert x.traces == len({s.trace_id for s in ss})
        assert x.errors == sum(s.status == 2 for s in ss)
        assert x.cost_usd == pytest.approx(sum(s.cost_usd or 0 for s in ss))
        assert x.first_seen_ns == min(s.start_ns for s in ss)
        assert x.last_seen_ns == max(s.end_ns for s in ss)
    sid = spans[2000].session_id
    mine = [s for s in spans if s.session_id == sid]
    detail = engine.session(sid)
    assert detail.summary.spans == len(mine)
    assert [t.trace_id for t in detail.traces] == sorted(
        {s.trace_id.hex() for s in mine}, key=lambda t: min(s.start_ns for s in mine if s.trace_id.hex() == t)
    )
    assert all(t.root_name.endswith(" turn") for t in detail.traces)
    with pytest.raises(NotFoundError):
        engine.session("no-such-session")


def test_recent_sessions_are_those_active_in_the_window(traffic: tuple[QueryEngine, list[Span]]) -> None:
    engine, spans = traffic
    now = max(s.end_ns for s in spans)
    window_s = 900
    cutoff = now - window_s * 1_000_000_000
    want = {s.session_id for s in spans if s.end_ns >= cutoff and s.session_id}
    res = engine.recent(window_s, now_ns=now, limit=10_000)
    assert {x.session_id for x in res.sessions} == want
    assert res.sessions[0].last_seen_ns == now


# --- random small stores ---------------------------------------------------------------


@st.composite
def span_lists(draw: st.DrawFn) -> list[Span]:
    n = draw(st.integers(1, 60))
    rng = random.Random(draw(st.integers(0, 2**32)))
    out = []
    traces = [rng.randbytes(16) for _ in range(max(1, n // 5))]
    for _ in range(n):
        start = MIDNIGHT + draw(st.integers(-DAY, DAY))
        out.append(
            Span(
                trace_id=rng.choice(traces),
                span_id=rng.randbytes(8),
                name=draw(st.sampled_from(["a", "Chat b", "tool ç"])),
                start_ns=start,
                end_ns=start + draw(st.integers(-5, 10**11)),
                kind=draw(st.sampled_from(["llm", "tool"])),
                status=draw(st.sampled_from([0, 1, 2])),
                session_id=draw(st.sampled_from(["", "s1", "s2"])),
                service=draw(st.sampled_from(["", "x"])),
                model=draw(st.sampled_from(["", "m"])),
                usage=draw(
                    st.none()
                    | st.builds(Usage, input_tokens=st.integers(0, 10**6), output_tokens=st.integers(0, 10**5))
                ),
                cost_usd=draw(st.none() | st.floats(0, 10, allow_nan=False)),
            )
        )
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans=span_lists(), group_by=st.lists(st.sampled_from(GROUP_BY), unique=True, max_size=2), f=filters)
def test_random_store_aggregates_and_spans(
    tmp_path_factory, spans: list[Span], group_by: list[str], f: SpanFilter
) -> None:
    d = tmp_path_factory.mktemp("rand")
    build_store(d, spans, seal_rows=7, batch=3)
    engine = QueryEngine(d)
    assert_aggregate(engine, spans, group_by, f)
    assert_aggregate(engine, spans, group_by, SpanFilter())
    page = engine.spans(SpanFilter(limit=1000))
    assert sorted(r.span_id for r in page.spans) == sorted(s.span_id.hex() for s in spans)
