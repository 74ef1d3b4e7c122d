"""The query engine of the PostgreSQL store (``agenttrace.query.QueryEngine`` over the
``spans`` table that collectors' sinks fill; see docs/postgres.md).

>>> engine = PostgresQueryEngine("postgresql://agenttrace@db/agenttrace")   # doctest: +SKIP
>>> engine.costs("model", since_ns=t0).rows                                  # doctest: +SKIP

Same answers as the segment engine, by construction: PostgreSQL selects the rows (every
filter, range, ordering, page and limit is pushed into SQL and served by the indexes of
``001_spans.sql``), and the very same accumulators of the read layer sum them
(:class:`~agenttrace.query.summaries.Totals` for sessions and traces,
:class:`~agenttrace.store.rollup.Rollup` with its latency sketch for aggregates), so
sessions, traces and p50/p95/p99 agree with the segment store to the last digit.
Aggregates without latency (``latency=False``: cost and token reports) are summed by
PostgreSQL itself (``GROUP BY``) and only the groups travel.

The engine is synchronous like every QueryEngine: it owns a private event loop in a
daemon thread with an asyncpg pool, so it can be called from any thread, including
from inside another event loop (the HTTP API's handlers).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from agenttrace.errors import AmbiguousIdError, NotFoundError, StoreError
from agenttrace.model import Span
from agenttrace.query.protocol import IdKind
from agenttrace.query.records import span_record
from agenttrace.query.reports import ReportMethods
from agenttrace.query.results import (
    AggregateResult,
    SessionDetail,
    SessionList,
    SkippedSegment,
    SpanFilter,
    SpanPage,
    StoreInventory,
    TraceList,
    TraceTree,
)
from agenttrace.query.summaries import (
    SUMMARY_COLUMNS,
    TRACE_SUMMARY_COLUMNS,
    Totals,
    aggregate_rows,
    trace_tree,
)
from agenttrace.store.rollup import BUCKET_NS, ROLLUP_COLUMNS, TOKEN_FIELDS, Rollup, RollupRow
from agenttrace.store.sketch import RELATIVE_ERROR

__all__ = ["PostgresQueryEngine"]

_T = TypeVar("_T")
ROLLUP_DIMS = ("service", "kind", "model", "status")
TIME_DIMS = ("minute", "hour", "day")
GROUP_BY: tuple[str, ...] = ROLLUP_DIMS + TIME_DIMS
_DIM_INDEX = {"service": 1, "kind": 2, "model": 3, "status": 4}
_PAGE = 5000


def _hex_to_bytes(value: str | bytes, size: int, what: str) -> bytes:
    if isinstance(value, bytes):
        if len(value) != size:
            raise ValueError(f"{what} must be {size} bytes, got {len(value)}")
        return value
    text = value.strip().lower()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not hex") from None
    if len(raw) != size:
        raise ValueError(f"{what} {value!r} must be {size * 2} hex digits")
    return raw


class _Where:
    """A WHERE clause built from a SpanFilter, with numbered parameters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, sql: str, *values: Any) -> None:
        for v in values:
            self.args.append(v)
            sql = sql.replace("?", f"${len(self.args)}", 1)
        self.parts.append(sql)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) if self.parts else "TRUE"


def _where(flt: SpanFilter, *, end_after: int | None = None) -> _Where:
    w = _Where()
    if flt.since_ns is not None:
        w.add("start_ns >= ?", flt.since_ns)
    if flt.until_ns is not None:
        w.add("start_ns < ?", flt.until_ns)
    for name in ("service", "kind", "model", "session_id", "user_id"):
        value = getattr(flt, name)
        if value is not None:
            w.add(f"{name} = ?", value)
    if flt.status is not None:
        w.add("status = ?", flt.status)
    if flt.trace_id:
        w.add("trace_id = ?", _hex_to_bytes(flt.trace_id, 16, "trace id"))
    if flt.name_contains:
        w.add("strpos(lower(name), ?) > 0", flt.name_contains.lower())
    if end_after is not None:
        w.add("end_ns >= ?", end_after)
    return w


def _columns(rows: Sequence[Any], names: Sequence[str]) -> dict[str, list]:
    cols: dict[str, list] = {n: [] for n in names}
    for r in rows:
        for n in names:
            cols[n].append(r[n])
    for n in ("trace_id", "span_id", "parent_id"):
        if n in cols:
            cols[n] = [bytes(v) for v in cols[n]]
    return cols


class PostgresQueryEngine(ReportMethods):
    """See the module docstring. ``dsn``: ``postgresql://user@host:port/db``."""

    def __init__(self, dsn: str, *, clock: Callable[[], int] = time.time_ns, pool_size: int = 4) -> None:
        self.dsn = dsn
        self._clock = clock
        self._pool_size = pool_size
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="agenttrace-pg-query", daemon=True)
        self._thread.start()
        self._pool: Any = None
        self._pool_lock = threading.Lock()

    # --- plumbing ----------------------------------------------------------------
    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _get_pool(self) -> Any:
        if self._pool is None:
            import asyncpg

            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self._pool_size, timeout=10)
        return self._pool

    def _fetch(self, sql: str, *args: Any) -> list[Any]:
        async def go() -> list[Any]:
            import asyncpg

            try:
                pool = await self._get_pool()
                async with pool.acquire() as conn:
                    return await conn.fetch(sql, *args)
            except asyncpg.UndefinedTableError:
                return []  # nothing written yet (no migration): an empty store
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise StoreError(f"PostgreSQL store {self._safe_dsn()}: {type(exc).__name__}: {exc}") from exc

        return self._run(go())

    def _safe_dsn(self) -> str:
        head, at, tail = self.dsn.rpartition("@")
        return f"{head.split('://')[0]}://…@{tail}" if at else self.dsn

    def close(self) -> None:
        async def go() -> None:
            if self._pool is not None:
                await self._pool.close()

        if self._loop.is_running():
            self._run(go())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def _cols(self, names: Sequence[str], w: _Where, order: str = "") -> dict[str, list]:
        rows = self._fetch(f"SELECT {', '.join(names)} FROM spans WHERE {w.sql} {order}", *w.args)
        return _columns(rows, names)

    # --- the store as a whole ----------------------------------------------------
    def inventory(self) -> StoreInventory:
        """``readable`` counts the day partitions that hold spans (0: an empty store)."""
        rows = self._fetch("SELECT count(DISTINCT tableoid) FROM spans")
        return StoreInventory(readable=int(rows[0][0]) if rows else 0)

    def resolve(self, kind: IdKind, prefix: str) -> str:
        if kind not in ("trace", "session"):
            raise ValueError(f"cannot resolve a {kind!r} id: use trace or session")
        want = prefix.strip()
        if not want:
            raise ValueError(f"an empty {kind} id matches everything: give some of its digits")
        if kind == "trace":
            want = want.lower()
            if len(want) > 32 or any(ch not in "0123456789abcdef" for ch in want):
                raise ValueError(f"{prefix!r} is not a trace id prefix: a trace id is 32 hex digits")
            lo = bytes.fromhex((want + "0" * 32)[:32])
            hi = bytes.fromhex((want + "f" * 32)[:32])
            rows = self._fetch("SELECT DISTINCT trace_id FROM spans WHERE trace_id BETWEEN $1 AND $2", lo, hi)
            found = sorted(bytes(r[0]).hex() for r in rows)
            found = [t for t in found if t.startswith(want)]
        else:
            rows = self._fetch("SELECT DISTINCT session_id FROM spans WHERE starts_with(session_id, $1)", want)
            found = sorted(r[0] for r in rows if r[0])
        if not found:
            raise NotFoundError(f"no {kind} id starts with {prefix!r}")
        if len(found) > 1:
            raise AmbiguousIdError(prefix, found)
        return found[0]

    # --- traces ------------------------------------------------------------------
    def trace_spans(self, trace_id: str | bytes) -> tuple[list[Span], list[SkippedSegment]]:
        from agenttrace.store.postgres.rows import span_from_row

        tid = _hex_to_bytes(trace_id, 16, "trace id")
        rows = self._fetch("SELECT * FROM spans WHERE trace_id = $1 ORDER BY start_ns, span_id", tid)
        return [span_from_row(r) for r in rows], []

    def trace(self, trace_id: str | bytes) -> TraceTree:
        spans, skipped = self.trace_spans(trace_id)
        tid = _hex_to_bytes(trace_id, 16, "trace id").hex()
        if not spans:
            raise NotFoundError(f"no trace {tid}")
        return trace_tree(tid, spans, skipped)

    def _trace_totals(self, trace_ids: Sequence[bytes]) -> dict[bytes, Totals]:
        if not trace_ids:
            return {}
        w = _Where()
        w.add("trace_id = ANY(?::bytea[])", list(trace_ids))
        cols = self._cols(TRACE_SUMMARY_COLUMNS, w, "ORDER BY start_ns, span_id")
        return _totals_by(cols, cols["trace_id"])

    def traces(self, flt: SpanFilter | None = None) -> TraceList:
        flt = flt or SpanFilter()
        if flt.limit < 1:
            raise ValueError(f"limit must be at least 1, got {flt.limit}")
        w = _where(flt)
        rows = self._fetch(
            # count(*) OVER (): every matching trace, counted in the same pass (TraceList.total)
            f"SELECT trace_id, max(start_ns) AS latest, count(*) OVER () AS total FROM spans WHERE {w.sql} "
            f"GROUP BY trace_id ORDER BY latest DESC, trace_id DESC LIMIT {int(flt.limit)}",
            *w.args,
        )
        chosen = [bytes(r[0]) for r in rows]
        accs = self._trace_totals(chosen)
        out = [accs[t].trace_summary(t.hex()) for t in chosen if t in accs]
        return TraceList(
            traces=out,
            since_ns=flt.since_ns,
            until_ns=flt.until_ns,
            skipped_segments=[],
            total=int(rows[0][2]) if rows else 0,
        )

    # --- spans -------------------------------------------------------------------
    def spans(self, flt: SpanFilter | None = None) -> SpanPage:
        from agenttrace.store.postgres.rows import span_from_row

        flt = flt or SpanFilter()
        if flt.limit < 1:
            raise ValueError(f"limit must be at least 1, got {flt.limit}")
        w = _where(flt)
        if flt.cursor:
            try:
                c_start, c_sid = flt.cursor.split(":")
                after = (int(c_start), bytes.fromhex(c_sid))
            except ValueError:
                raise ValueError(f"bad cursor {flt.cursor!r}: pass the next_cursor of a previous page") from None
            w.add("(start_ns, span_id) < (?, ?)", *after)
        rows = self._fetch(
            f"SELECT * FROM spans WHERE {w.sql} ORDER BY start_ns DESC, span_id DESC LIMIT {int(flt.limit) + 1}",
            *w.args,
        )
        page, more = rows[: flt.limit], len(rows) > flt.limit
        spans = [span_from_row(r) for r in page]
        last = spans[-1] if spans else None
        return SpanPage(
            spans=[span_record(s) for s in spans],
            next_cursor=f"{last.start_ns}:{last.span_id.hex()}" if more and last else None,
            scanned_segments=0,
            skipped_segments=[],
        )

    def iter_spans(self, flt: SpanFilter | None = None) -> Iterator[Span]:
        """Every matching span, oldest first, fetched in keyset pages of 5,000."""
        from agenttrace.store.postgres.rows import span_from_row

        flt = flt or SpanFilter()
        after: tuple[int, bytes, bytes] | None = None
        while True:
            w = _where(flt)
            if after is not None:
                w.add("(start_ns, trace_id, span_id) > (?, ?, ?)", *after)
            rows = self._fetch(
                f"SELECT * FROM spans WHERE {w.sql} ORDER BY start_ns, trace_id, span_id LIMIT {_PAGE}", *w.args
            )
            for r in rows:
                yield span_from_row(r)
            if len(rows) < _PAGE:
                return
            last = rows[-1]
            after = (last["start_ns"], bytes(last["trace_id"]), bytes(last["span_id"]))

    # --- sessions ----------------------------------------------------------------
    def _session_list(self, w: _Where, limit: int, since_ns: int | None, until_ns: int | None) -> SessionList:
        w.add("session_id <> ?", "")
        cols = self._cols(SUMMARY_COLUMNS, w, "ORDER BY start_ns, span_id")
        accs = _totals_by(cols, cols["session_id"])
        out = sorted(
            (a.session_summary(k) for k, a in accs.items()), key=lambda s: (s.last_seen_ns, s.session_id), reverse=True
        )
        return SessionList(
            sessions=out[:limit], since_ns=since_ns, until_ns=until_ns, skipped_segments=[], total=len(out)
        )

    def sessions(
        self,
        since_ns: int | None = None,
        until_ns: int | None = None,
        *,
        service: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
    ) -> SessionList:
        flt = SpanFilter(since_ns=since_ns, until_ns=until_ns, service=service, user_id=user_id)
        return self._session_list(_where(flt), limit, since_ns, until_ns)

    def recent(self, window_s: float = 300.0, *, limit: int = 50, now_ns: int | None = None) -> SessionList:
        now = self._clock() if now_ns is None else now_ns
        cutoff = now - int(window_s * 1e9)
        return self._session_list(_where(SpanFilter(), end_after=cutoff), limit, cutoff, None)

    def session(self, session_id: str) -> SessionDetail:
        cols = self._cols(
            TRACE_SUMMARY_COLUMNS, _where(SpanFilter(session_id=session_id)), "ORDER BY start_ns, span_id"
        )
        if not cols["start_ns"]:
            raise NotFoundError(f"no session {session_id!r}")
        acc = Totals()
        acc.add_many(cols, range(len(cols["start_ns"])))
        summaries = [ta.trace_summary(t.hex()) for t, ta in _totals_by(cols, cols["trace_id"]).items()]
        summaries.sort(key=lambda t: (t.start_ns, t.trace_id))
        return SessionDetail(summary=acc.session_summary(session_id), traces=summaries, skipped_segments=[])

    # --- aggregates --------------------------------------------------------------
    def aggregate(
        self,
        group_by: Sequence[str] = (),
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
        latency: bool = True,
    ) -> AggregateResult:
        group_by = list(group_by)
        for g in group_by:
            if g not in GROUP_BY:
                raise ValueError(f"cannot group by {g!r}: use any of {', '.join(GROUP_BY)}")
        if len(set(group_by)) != len(group_by):
            raise ValueError(f"group_by names a field twice: {group_by}")
        flt = where or SpanFilter()
        lo = since_ns if since_ns is not None else flt.since_ns
        hi = until_ns if until_ns is not None else flt.until_ns
        flt = SpanFilter(**{**{f: getattr(flt, f) for f in flt.__struct_fields__}, "since_ns": lo, "until_ns": hi})
        time_dims = [d for d in TIME_DIMS if d in group_by]
        finest = time_dims[0] if time_dims else "day"
        w = _where(flt)
        groups: dict[tuple, RollupRow] = {}
        project = _projector(group_by)
        if latency:
            part = Rollup(finest)
            cols = self._cols(ROLLUP_COLUMNS, w)
            part.add_columns(cols)
            for k, row in part.rows.items():
                gk = project(k)
                mine = groups.get(gk)
                if mine is None:
                    mine = groups[gk] = RollupRow()
                mine.merge(row, sketch=True)
            source = "columns"
        else:
            groups = self._sql_groups(group_by, w)
            source = "sql"
        rows = aggregate_rows(groups, group_by, latency)
        return AggregateResult(
            group_by=group_by, since_ns=lo, until_ns=hi, rows=rows, source=source,
            relative_error=RELATIVE_ERROR, skipped_segments=[],
        )  # fmt: skip

    def _sql_groups(self, group_by: list[str], w: _Where) -> dict[tuple, RollupRow]:
        exprs = [
            f"start_ns - start_ns % {BUCKET_NS[g]}" if g in TIME_DIMS else g
            for g in group_by
        ]  # fmt: skip
        select = ", ".join([*(f"{e} AS g{i}" for i, e in enumerate(exprs)), "count(*) AS n",
                            "count(*) FILTER (WHERE status = 2) AS errors",
                            *(f"sum({f}) AS {f}" for f in TOKEN_FIELDS),
                            "coalesce(sum(cost_usd), 0) AS cost", "sum(end_ns - start_ns) AS dur"])  # fmt: skip
        group = f"GROUP BY {', '.join(str(i + 1) for i in range(len(exprs)))}" if exprs else ""
        out: dict[tuple, RollupRow] = {}
        for r in self._fetch(f"SELECT {select} FROM spans WHERE {w.sql} {group}", *w.args):
            if not r["n"]:
                continue
            row = RollupRow()
            # sum() of bigint is numeric (Decimal): back to Python ints
            row.count, row.errors, row.cost_usd = r["n"], r["errors"], float(r["cost"])
            row.duration_sum_ns = int(r["dur"])
            for f in TOKEN_FIELDS:
                setattr(row, f, int(r[f]))
            out[tuple(r[f"g{i}"] for i in range(len(exprs)))] = row
        return out


def _totals_by(cols: dict[str, list], keys: Sequence[Any]) -> dict[Any, Totals]:
    """Totals per key, rows added in row order (as the segment engine adds them)."""
    by: dict[Any, list[int]] = {}
    for j, k in enumerate(keys):
        by.setdefault(k, []).append(j)
    out = {}
    for k, js in by.items():
        t = out[k] = Totals()
        t.add_many(cols, js)
    return out


def _projector(group_by: list[str]) -> Callable[[tuple], tuple]:
    parts = [(_DIM_INDEX[g], 0) if g in _DIM_INDEX else (0, BUCKET_NS[g]) for g in group_by]
    return lambda k: tuple(k[i] if not size else k[0] - k[0] % size for i, size in parts)
