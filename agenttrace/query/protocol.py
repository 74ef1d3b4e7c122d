"""The questions the product asks of a store, as one protocol every store answers.

A face (CLI, HTTP API, TUI, dashboard) holds a :class:`QueryEngine` and renders what it
returns; it never learns which store answered. Each store has one implementation in
this package (``segments.SegmentQueryEngine`` for the local segment store; a PostgreSQL
one next), and ``agenttrace.query.open_engine`` picks it. Nothing here names a file,
a table or a connection: those belong to an implementation.

Conventions every implementation keeps (the tests of one hold for all):

- times are Unix nanoseconds; ranges are ``[since_ns, until_ns)`` over span **start**;
- ids are lowercase hex (trace 32 digits); an unknown id raises
  :class:`~agenttrace.errors.NotFoundError`, malformed input ``ValueError``, a store that
  cannot be read :class:`~agenttrace.errors.StoreError`;
- every result lists the parts of the store it was answered without
  (``skipped_segments``) rather than failing whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol, runtime_checkable

from agenttrace.model import Span
from agenttrace.query.results import (
    AggregateResult,
    CostReport,
    ErrorReport,
    PerformanceReport,
    SessionDetail,
    SessionList,
    SkippedSegment,
    SpanFilter,
    SpanPage,
    StoreInventory,
    Summary,
    TraceList,
    TraceTree,
)

__all__ = ["IdKind", "QueryEngine"]

IdKind = Literal["trace", "session"]


@runtime_checkable
class QueryEngine(Protocol):
    """Every read question of the product (see the module docstring for conventions)."""

    # --- the store as a whole ------------------------------------------------------
    def inventory(self) -> StoreInventory:
        """How many readable parts the store has, and the unreadable ones."""
        ...

    def resolve(self, kind: IdKind, prefix: str) -> str:
        """The one full trace or session id starting with ``prefix``; NotFoundError when
        none does, :class:`~agenttrace.errors.AmbiguousIdError` when several do."""
        ...

    # --- sessions ------------------------------------------------------------------
    def sessions(
        self,
        since_ns: int | None = None,
        until_ns: int | None = None,
        *,
        service: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
    ) -> SessionList:
        """Sessions with spans in the range, most recently active first."""
        ...

    def session(self, session_id: str) -> SessionDetail:
        """One session's summary and its traces."""
        ...

    def recent(self, window_s: float = 300.0, *, limit: int = 50) -> SessionList:
        """The live view: sessions with a span ending in the last ``window_s`` seconds."""
        ...

    # --- traces and spans ----------------------------------------------------------
    def traces(self, flt: SpanFilter | None = None) -> TraceList:
        """Traces with a span matching ``flt``, newest first, ``flt.limit`` of them."""
        ...

    def trace(self, trace_id: str) -> TraceTree:
        """One trace: its span tree and totals."""
        ...

    def trace_spans(self, trace_id: str) -> tuple[list[Span], list[SkippedSegment]]:
        """One trace's spans as model Structs, by start time."""
        ...

    def spans(self, flt: SpanFilter | None = None) -> SpanPage:
        """A page of spans matching ``flt``, newest first; ``next_cursor`` pages on."""
        ...

    def iter_spans(self, flt: SpanFilter | None = None) -> Iterator[Span]:
        """Every span matching ``flt`` (limit and cursor ignored): what exporters stream."""
        ...

    # --- figures -------------------------------------------------------------------
    def aggregate(
        self,
        group_by: Sequence[str] = (),
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
        latency: bool = True,
    ) -> AggregateResult:
        """Counts, errors, tokens, cost and latency grouped by any of
        service, kind, model, status, minute, hour, day."""
        ...

    def summary(
        self, since_ns: int | None = None, until_ns: int | None = None, where: SpanFilter | None = None
    ) -> Summary:
        """Totals over a range."""
        ...

    def costs(
        self,
        by: str = "model",
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
    ) -> CostReport:
        """Tokens and cost by model, service, kind or day."""
        ...

    def performance(
        self,
        by: str = "kind",
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
    ) -> PerformanceReport:
        """p50/p95/p99 latency by kind, model or service, slowest first."""
        ...

    def errors(
        self,
        by: str = "kind",
        since_ns: int | None = None,
        until_ns: int | None = None,
        where: SpanFilter | None = None,
        *,
        recent: int = 0,
    ) -> ErrorReport:
        """Error counts and rates, and the ``recent`` latest failed spans."""
        ...
