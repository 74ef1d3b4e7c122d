"""Reports shared by the CLI and the HTTP API, built from the query engine's aggregates.

These only reshape what :meth:`QueryEngine.aggregate` answers (shares of a total,
error rates, a chosen ordering); they never read the store themselves, so the CLI's
``--json`` and ``GET /api/v1/metrics/*`` return the very same documents.
"""

from __future__ import annotations

from typing import Any

import msgspec

from agenttrace.format import iso_utc
from agenttrace.query.results import (
    COST_GROUPS,
    PERF_GROUPS,
    AggregateResult,
    AggregateRow,
    CostReport,
    CostRow,
    ErrorReport,
    ErrorRow,
    PerformanceReport,
    PerformanceRow,
    SpanFilter,
    SpanRecord,
    Summary,
    TokenTotals,
)

__all__ = ["ReportMethods", "cost_report", "error_report", "performance_report", "summary_report"]


def _aggregate(
    engine: Any,
    since_ns: int | None,
    until_ns: int | None,
    group_by: list[str],
    where: SpanFilter | None = None,
    *,
    latency: bool = True,
) -> AggregateResult:
    # latency=False lets the engine skip the sketches when a report shows no percentiles.
    return engine.aggregate(group_by, since_ns=since_ns, until_ns=until_ns, where=where, latency=latency)


def _key(row: AggregateRow, name: str) -> str:
    value = row.group.get(name, "")
    if name in ("minute", "hour", "day") and isinstance(value, int):
        return iso_utc(value)[: {"day": 10, "hour": 13, "minute": 16}[name]]
    return str(value) if value not in (None, "") else "(none)"


def _sum_tokens(rows: list[AggregateRow]) -> TokenTotals:
    total = TokenTotals()
    for r in rows:
        for f in TokenTotals.__struct_fields__:
            setattr(total, f, getattr(total, f) + getattr(r.tokens, f))
    return total


def summary_report(
    engine: Any, since_ns: int | None = None, until_ns: int | None = None, where: SpanFilter | None = None
) -> Summary:
    """Totals over ``[since_ns, until_ns)`` of the spans matching ``where``."""
    res = _aggregate(engine, since_ns, until_ns, [], where)
    row = res.rows[0] if res.rows else None
    if row is None or row.count == 0:
        return Summary(
            since_ns=since_ns,
            until_ns=until_ns,
            spans=0,
            errors=0,
            error_rate=0.0,
            tokens=TokenTotals(),
            cost_usd=0.0,
            duration_avg_ms=0.0,
            p50_ms=None,
            p95_ms=None,
            p99_ms=None,
            skipped_segments=res.skipped_segments,
        )
    return Summary(
        since_ns=since_ns,
        until_ns=until_ns,
        spans=row.count,
        errors=row.errors,
        error_rate=row.errors / row.count,
        tokens=row.tokens,
        cost_usd=row.cost_usd,
        duration_avg_ms=row.duration_avg_ms,
        p50_ms=row.p50_ms,
        p95_ms=row.p95_ms,
        p99_ms=row.p99_ms,
        skipped_segments=res.skipped_segments,
    )


def cost_report(
    engine: Any, by: str, since_ns: int | None = None, until_ns: int | None = None, where: SpanFilter | None = None
) -> CostReport:
    """Tokens by type, cost and share of the total, grouped ``by`` model, service, kind or day."""
    if by not in COST_GROUPS:
        raise ValueError(f"cannot group costs by {by!r}: use one of {', '.join(COST_GROUPS)}")
    res = _aggregate(engine, since_ns, until_ns, [by], where, latency=False)
    total = sum(r.cost_usd for r in res.rows)
    rows = [
        CostRow(
            key=_key(r, by),
            spans=r.count,
            tokens=r.tokens,
            cost_usd=r.cost_usd,
            share=(r.cost_usd / total) if total > 0 else 0.0,
        )
        for r in res.rows
        # Spans with no model (tools, agents) cost nothing and carry no tokens: not a "model".
        if not (by == "model" and not r.group.get("model") and not r.cost_usd and not r.tokens.total_tokens)
    ]
    if by == "day":
        rows.sort(key=lambda r: r.key)
    else:
        rows.sort(key=lambda r: (-r.cost_usd, -r.tokens.total_tokens, r.key))
    return CostReport(
        by=by,
        since_ns=since_ns,
        until_ns=until_ns,
        rows=rows,
        total_cost_usd=total,
        total_tokens=_sum_tokens(res.rows),
        skipped_segments=res.skipped_segments,
    )


def performance_report(
    engine: Any,
    by: str = "kind",
    since_ns: int | None = None,
    until_ns: int | None = None,
    where: SpanFilter | None = None,
) -> PerformanceReport:
    """p50/p95/p99 latency grouped ``by`` kind (or model, or service), slowest first."""
    if by not in PERF_GROUPS:
        raise ValueError(f"cannot group latency by {by!r}: use one of {', '.join(PERF_GROUPS)}")
    res = _aggregate(engine, since_ns, until_ns, [by], where)
    rows = [
        PerformanceRow(
            key=_key(r, by),
            count=r.count,
            duration_avg_ms=r.duration_avg_ms,
            p50_ms=r.p50_ms,
            p95_ms=r.p95_ms,
            p99_ms=r.p99_ms,
        )
        for r in res.rows
        if r.count
    ]
    rows.sort(key=lambda r: (-(r.p95_ms or 0.0), r.key))
    return PerformanceReport(
        by=by,
        since_ns=since_ns,
        until_ns=until_ns,
        rows=rows,
        relative_error=res.relative_error,
        skipped_segments=res.skipped_segments,
    )


def error_report(
    engine: Any,
    by: str = "kind",
    since_ns: int | None = None,
    until_ns: int | None = None,
    where: SpanFilter | None = None,
    *,
    recent: int = 0,
) -> ErrorReport:
    """Error counts and rates grouped ``by`` kind (or model, or service), most errors first,
    and the ``recent`` latest failed spans."""
    if by not in PERF_GROUPS:
        raise ValueError(f"cannot group errors by {by!r}: use one of {', '.join(PERF_GROUPS)}")
    res = _aggregate(engine, since_ns, until_ns, [by], where, latency=False)
    rows = [
        ErrorRow(key=_key(r, by), count=r.count, errors=r.errors, error_rate=r.errors / r.count)
        for r in res.rows
        if r.errors
    ]
    rows.sort(key=lambda r: (-r.errors, r.key))
    latest: list[SpanRecord] = []
    if recent > 0:
        base = msgspec.structs.asdict(where) if where is not None else {}
        flt = SpanFilter(**{**base, "since_ns": since_ns, "until_ns": until_ns, "status": 2, "limit": recent})
        latest = engine.spans(flt).spans
    return ErrorReport(
        by=by,
        since_ns=since_ns,
        until_ns=until_ns,
        rows=rows,
        total_spans=sum(r.count for r in res.rows),
        total_errors=sum(r.errors for r in res.rows),
        recent=latest,
        skipped_segments=res.skipped_segments,
    )


class ReportMethods:
    """The report questions of :class:`~agenttrace.query.QueryEngine`, answered from the
    engine's own ``aggregate`` and ``spans``. A store's engine inherits these, and
    overrides one only where the store can answer it faster natively (same Struct)."""

    def summary(
        self, since_ns: int | None = None, until_ns: int | None = None, where: SpanFilter | None = None
    ) -> Summary:
        return summary_report(self, since_ns, until_ns, where)

    def costs(
        self,
        by: str = "model",
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
    ) -> CostReport:
        return cost_report(self, by, since_ns, until_ns, where)

    def performance(
        self,
        by: str = "kind",
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
    ) -> PerformanceReport:
        return performance_report(self, by, since_ns, until_ns, where)

    def errors(
        self,
        by: str = "kind",
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
        *,
        recent: int = 0,
    ) -> ErrorReport:
        return error_report(self, by, since_ns, until_ns, where, recent=recent)
