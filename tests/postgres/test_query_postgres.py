"""The PostgreSQL engine answers every question as the segment engine does, on the same spans.

The spans are written once to a segment store (a real SegmentWriter) and once to
PostgreSQL (the sink's write path); each query is asked of both engines and the JSON
documents compared (floats to 1e-9 relative: sums run in another order)."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from pg_helpers import append, writer

from agenttrace.errors import AmbiguousIdError, NotFoundError
from agenttrace.query import SpanFilter, open_engine
from agenttrace.query.postgres import PostgresQueryEngine
from agenttrace.query.segments import SegmentQueryEngine
from agenttrace.store.postgres.schema import migrate
from agenttrace.store.postgres.sink import write_spans
from agenttrace.store.synthetic import generate_spans

T0 = 1_763_683_200 * 1_000_000_000
HOUR = 3_600_000_000_000


_IGNORED = ("source", "scanned_segments")  # how an engine found the answer, not the answer


def _norm(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if k not in _IGNORED}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def _close(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), (where, a, b)
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (where, a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (where, a, b)
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def same(a: Any, b: Any) -> None:
    """Equal as JSON documents, floats to 1e-9 relative (sums run in another order)."""
    _close(_norm(msgspec.to_builtins(a)), _norm(msgspec.to_builtins(b)))


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, pg_admin_dsn: str):  # type: ignore[no-untyped-def]
    spans = list(generate_spans(4000, seed=11, start_ns=T0, span_rate_per_s=0.5))
    data = tmp_path_factory.mktemp("segments")
    w = writer(str(data), seal_rows=700)
    append(w, spans)
    w.close()

    db = f"agenttrace_cmp_{os.getpid()}"
    dsn = pg_admin_dsn.rpartition("/")[0] + "/" + db

    async def load() -> None:
        admin = await asyncpg.connect(pg_admin_dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
        await admin.execute(f'CREATE DATABASE "{db}"')
        await admin.close()
        conn = await asyncpg.connect(dsn)
        await migrate(conn)
        for i in range(0, len(spans), 1000):
            await write_spans(conn, spans[i : i + 1000])
        await conn.close()

    asyncio.run(load())
    pg = open_engine(dsn)
    assert isinstance(pg, PostgresQueryEngine)
    yield spans, SegmentQueryEngine(data), pg, dsn, data
    pg.close()


def test_sessions_traces_and_spans_agree(engines) -> None:  # type: ignore[no-untyped-def]
    spans, seg, pg, _, _ = engines
    assert pg.inventory().readable >= 1
    same(seg.sessions(), pg.sessions())
    same(seg.sessions(T0 + HOUR, T0 + 2 * HOUR, limit=5), pg.sessions(T0 + HOUR, T0 + 2 * HOUR, limit=5))
    sid = seg.sessions().sessions[3].session_id
    same(seg.session(sid), pg.session(sid))
    end = max(s.end_ns for s in spans)
    same(seg.recent(600, now_ns=end), pg.recent(600, now_ns=end))
    for flt in (
        SpanFilter(limit=7),
        SpanFilter(kind="llm", limit=20),
        SpanFilter(status=2, limit=50),
        SpanFilter(since_ns=T0 + HOUR, until_ns=T0 + 3 * HOUR, name_contains="BASH", limit=10),
        SpanFilter(session_id=sid),
    ):
        listed_s, listed_p = seg.traces(flt), pg.traces(flt)
        if listed_s.total is None:  # the segment engine stopped at the newest, uncounted; SQL counts
            assert listed_p.total is not None and listed_p.total >= len(listed_p.traces)
            listed_p.total = None
        same(listed_s, listed_p)
        page_s, page_p = seg.spans(flt), pg.spans(flt)
        same(page_s, page_p)
        if page_s.next_cursor:
            nxt = SpanFilter(**{**msgspec.structs.asdict(flt), "cursor": page_s.next_cursor})
            same(seg.spans(nxt), pg.spans(nxt))
        assert sorted((s.trace_id, s.span_id) for s in seg.iter_spans(flt)) == sorted(
            (s.trace_id, s.span_id) for s in pg.iter_spans(flt)
        )
    tid = spans[100].trace_id.hex()
    same(seg.trace(tid), pg.trace(tid))
    assert pg.trace_spans(tid)[0] == seg.trace_spans(tid)[0]
    assert pg.resolve("trace", tid[:10]) == tid == seg.resolve("trace", tid[:10])
    assert pg.resolve("session", sid) == sid
    with pytest.raises(AmbiguousIdError):
        pg.resolve("session", sid[:1])
    with pytest.raises(NotFoundError):
        pg.trace("0" * 32)
    with pytest.raises(NotFoundError):
        pg.session("no-such-session")


def test_aggregates_and_reports_agree_percentiles_included(engines) -> None:  # type: ignore[no-untyped-def]
    _, seg, pg, _, _ = engines
    for group_by in ([], ["model"], ["service", "kind"], ["hour"], ["day", "status"], ["minute"]):
        for latency in (True, False):
            same(seg.aggregate(group_by, latency=latency), pg.aggregate(group_by, latency=latency))
    rng = {"since_ns": T0 + HOUR // 3, "until_ns": T0 + 2 * HOUR}
    same(
        seg.aggregate(["model"], **rng, where=SpanFilter(kind="llm")),
        pg.aggregate(["model"], **rng, where=SpanFilter(kind="llm")),
    )
    for by in ("model", "service", "kind", "day"):
        same(seg.costs(by), pg.costs(by))
    for by in ("kind", "model", "service"):
        same(seg.performance(by), pg.performance(by))
    same(seg.errors("kind", recent=5), pg.errors("kind", recent=5))
    same(seg.summary(), pg.summary())


def test_the_cli_reads_postgres_with_store_option(engines, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, _, dsn, data = engines

    def cli(*args: str, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run([sys.executable, "-m", "agenttrace.cli", *args], capture_output=True, text=True,
                              timeout=120, env={**os.environ, **(env or {})})  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    for cmd in (["costs", "--by", "model", "--json"], ["sessions", "list", "--json", "--since", "2020-01-01"]):
        from_pg = msgspec.json.decode(cli("--store", dsn, *cmd))
        from_env = msgspec.json.decode(cli(*cmd, env={"AGENTTRACE_STORE": dsn}))
        from_segments = msgspec.json.decode(cli(*cmd, "--data-dir", str(data)))
        assert from_pg.get("rows") or from_pg.get("sessions")  # not two empty answers
        _close(_norm(from_pg), _norm(from_env))
        _close(_norm(from_pg), _norm(from_segments))
