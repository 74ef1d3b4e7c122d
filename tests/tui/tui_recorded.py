"""Fixed collector answers for the TUI tests: one busy moment, built with the real Structs.

Everything is derived from constants (no clock, no randomness) so snapshot tests render
the same screen on every run. Spans are built as :class:`agenttrace.model.Span` and turned
into API records by the exporter's own :func:`~agenttrace.export.span_record`.
"""

from __future__ import annotations

from typing import Any

from agenttrace.collector.live import LiveSnapshot, LiveWorker, TokenRates
from agenttrace.export import span_record
from agenttrace.model import Event, Span, Usage
from agenttrace.query.results import (
    CostReport,
    CostRow,
    PerformanceReport,
    PerformanceRow,
    SessionDetail,
    SessionList,
    SessionSummary,
    TokenTotals,
    TraceSummary,
    TraceTree,
)

NOW_S = 1_763_800_000.0  # the collector's sample time in the recording
NOW_NS = int(NOW_S * 1e9)
S = 1_000_000_000
MS = 1_000_000


def live(*, time_s: float = NOW_S, spans_per_s: float = 1234.5) -> LiveSnapshot:
    return LiveSnapshot(
        time=time_s,
        uptime_s=3725.0,
        window_s=1.0,
        spans_per_s=spans_per_s,
        datagrams_per_s=61.0,
        stored_total=4_412_345,
        received_total=220_000,
        dropped_total=12,
        lost_total=3,
        dropped_by_reason={"ring_full": 12},
        spans_per_s_by_kind={"llm": 410.0, "tool": 520.5, "retrieval": 180.0, "file": 84.0, "terminal": 40.0},
        errors_per_s_by_kind={"llm": 4.1, "tool": 26.0, "terminal": 2.0},
        tokens_per_s=TokenRates(
            input=812_000.0, output=41_000.0, cache_read=530_000.0, cache_write=12_000.0, reasoning=3_000.0
        ),
        cost_per_min_by_model={"claude-sonnet-4-5": 1.84, "gpt-4o": 0.92, "gpt-4.1-mini": 0.05},
        cost_total_usd=214.37,
        ring_fill=[0.02, 0.07],
        workers=[LiveWorker(id=0, pid=101, alive=True), LiveWorker(id=1, pid=102, alive=True, restarts=1)],
        store_bytes=123_456_789,
        segments=42,
        history_spans_per_s=[float(800 + (i * 37) % 600) for i in range(120)],
    )


def _tokens(tin: int, tout: int, cached: int = 0) -> TokenTotals:
    return TokenTotals(input_tokens=tin, output_tokens=tout, cache_read_tokens=cached, total_tokens=tin + tout)


# service, session, running s, idle s, spans, errors, input, output, cost
SESSIONS = (
    ("coding-agent", "sess-code-7f3a", 1800, 2, 812, 31, 1_200_000, 90_000, 4.12),
    ("research-agent", "sess-res-19c2", 640, 40, 220, 9, 450_000, 30_000, 1.07),
    ("support-bot", "sess-sup-0001", 95, 1, 48, 0, 20_000, 3_000, 0.02),
    ("support-bot", "sess-sup-0002", 30, 300, 12, 2, 6_000, 900, 0.004),
    ("coding-agent", "sess-code-a91b", 7200, 5, 3_400, 120, 9_800_000, 410_000, 38.5),
)


def _summary(row: tuple) -> SessionSummary:
    service, sid, running_s, idle_s, spans, errors, tin, tout, cost = row
    last = NOW_NS - idle_s * S
    return SessionSummary(
        session_id=sid,
        service=service,
        user_id="u-" + sid[-4:],
        first_seen_ns=last - running_s * S,
        last_seen_ns=last,
        duration_ms=running_s * 1000.0,
        spans=spans,
        traces=spans // 8,
        errors=errors,
        tokens=_tokens(tin, tout),
        cost_usd=cost,
        models=["gpt-4o"],
    )


def sessions() -> SessionList:
    rows = sorted((_summary(r) for r in SESSIONS), key=lambda s: -s.last_seen_ns)
    return SessionList(sessions=rows, since_ns=NOW_NS - 900 * S, until_ns=None)


TRACE_IDS = ("0a" * 16, "0b" * 16, "0c" * 16)


def session(session_id: str) -> SessionDetail | None:
    row = next((r for r in SESSIONS if r[1] == session_id), None)
    if row is None:
        return None
    traces = []
    for i, (name, dur_ms, spans, errors) in enumerate(
        [("fix failing test", 8400, 8, 2), ("explain module", 3100, 5, 0), ("refactor parser", 12200, 22, 0)]
    ):
        start = NOW_NS - (60 - i * 15) * S
        traces.append(
            TraceSummary(
                trace_id=TRACE_IDS[i],
                root_name=name,
                start_ns=start,
                end_ns=start + dur_ms * MS,
                duration_ms=float(dur_ms),
                spans=spans,
                errors=errors,
                tokens=_tokens(12_000 * spans, 800 * spans),
                cost_usd=0.013 * spans,
            )
        )
    return SessionDetail(summary=_summary(row), traces=traces)


def spans(trace_id: str, *, t0: int = NOW_NS - 60 * S) -> list[Span]:
    """The eight spans of a coding agent's "fix failing test" trace, starting at ``t0``."""
    tid = bytes.fromhex(trace_id)

    def span(sid: int, parent: int, name: str, kind: str, start_ms: int, dur_ms: int, **extra: Any) -> Span:
        return Span(
            trace_id=tid,
            span_id=sid.to_bytes(8, "big"),
            parent_id=parent.to_bytes(8, "big") if parent else b"",
            name=name,
            kind=kind,
            start_ns=t0 + start_ms * MS,
            end_ns=t0 + (start_ms + dur_ms) * MS,
            status=extra.pop("status", 1),
            service="coding-agent",
            session_id="sess-code-7f3a",
            **extra,
        )

    return [
        span(1, 0, "fix failing test", "agent", 0, 8400),
        span(
            2,
            1,
            "plan",
            "llm",
            10,
            1900,
            model="claude-sonnet-4-5",
            provider="anthropic",
            usage=Usage(input_tokens=14_200, output_tokens=610, cache_read_tokens=12_800, cache_write_tokens=900),
            cost_usd=0.01623,
            cost_source="catalogue",
            input_preview="You are a coding agent. The test test_parse_dates fails with…",
            output_preview="I will read tests/test_dates.py first, then run the test.",
        ),
        span(3, 1, "read tests/test_dates.py", "file", 1950, 12, attributes={"path": "tests/test_dates.py"}),
        span(
            4,
            1,
            "pytest -x tests/test_dates.py",
            "terminal",
            1990,
            2400,
            status=2,
            status_message="exit status 1",
            attributes={"command": "pytest -x tests/test_dates.py", "exit_code": 1},
            events=[
                Event(
                    name="exception",
                    time_ns=t0 + 4380 * MS,
                    attributes={"type": "CalledProcessError", "message": "exit status 1"},
                )
            ],
        ),
        span(
            5,
            1,
            "fix",
            "llm",
            4420,
            2600,
            model="gpt-4o",
            provider="openai",
            usage=Usage(input_tokens=18_900, output_tokens=1_240, cache_read_tokens=16_000),
            cost_usd=0.02973,
            cost_source="catalogue",
            output_preview="Patch: use dateutil.parser…",
        ),
        span(6, 5, "retry after 429", "http", 4430, 300, status=2, status_message="429 Too Many Requests"),
        span(7, 1, "write src/dates.py", "file", 7050, 8, attributes={"path": "src/dates.py"}),
        span(8, 1, "pytest -x tests/test_dates.py", "terminal", 7070, 1300, attributes={"exit_code": 0}),
    ]


def trace(trace_id: str) -> TraceTree | None:
    if trace_id not in TRACE_IDS:
        return None
    trace_spans = spans(trace_id)
    records = [span_record(s) for s in trace_spans]
    children: dict[str, list[str]] = {}
    for r in records:
        if r.parent_id:
            children.setdefault(r.parent_id, []).append(r.span_id)
    tin = sum(r.input_tokens for r in records)
    tout = sum(r.output_tokens for r in records)
    start, end = min(s.start_ns for s in trace_spans), max(s.end_ns for s in trace_spans)
    return TraceTree(
        trace_id=trace_id,
        spans=records,
        root_ids=[records[0].span_id],
        children=children,
        orphan_ids=[],
        span_count=len(records),
        errors=sum(1 for r in records if r.status == "error"),
        tokens=_tokens(tin, tout),
        cost_usd=sum(r.cost_usd or 0.0 for r in records),
        start_ns=start,
        end_ns=end,
        duration_ms=(end - start) / MS,
        services=["coding-agent"],
        session_id="sess-code-7f3a",
    )


def performance() -> PerformanceReport:
    def row(kind: str, count: int, p50: float, p95: float, p99: float) -> PerformanceRow:
        return PerformanceRow(key=kind, count=count, duration_avg_ms=p50, p50_ms=p50, p95_ms=p95, p99_ms=p99)

    rows = [
        row("terminal", 2_400, 900.0, 6_000.0, 14_000.0),
        row("llm", 24_000, 820.0, 2_400.0, 4_100.0),
        row("tool", 31_000, 45.0, 380.0, 1_200.0),
        row("retrieval", 10_800, 120.0, 310.0, 520.0),
        row("file", 5_000, 2.0, 9.0, 30.0),
    ]
    return PerformanceReport(by="kind", since_ns=NOW_NS - 300 * S, until_ns=None, rows=rows, relative_error=0.01)


def costs_today() -> CostReport:
    def row(model: str, cost: float, share: float) -> CostRow:
        return CostRow(key=model, spans=100, tokens=TokenTotals(), cost_usd=cost, share=share)

    rows = [row("claude-sonnet-4-5", 96.10, 0.64), row("gpt-4o", 51.22, 0.34), row("gpt-4.1-mini", 2.75, 0.02)]
    return CostReport(
        by="model",
        since_ns=NOW_NS - 3600 * S,
        until_ns=None,
        rows=rows,
        total_cost_usd=150.07,
        total_tokens=TokenTotals(),
    )
