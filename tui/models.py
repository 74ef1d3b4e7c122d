"""What the TUI reads from the collector, as the collector's and query layer's own Structs.

``/api/v1/live`` answers a :class:`~agenttrace.collector.live.LiveSnapshot`; the query
routes answer the :mod:`agenttrace.query.results` Structs. Using the same definitions
(these modules import only msgspec) means a renamed field fails the TUI's tests rather
than its users; msgspec ignores fields it does not know, so a newer collector that adds
fields never breaks an older ``agenttrace top``.
"""

from __future__ import annotations

from agenttrace.coding.gitlinks import SessionActivity
from agenttrace.collector.live import LiveSnapshot, LiveWorker, TokenRates
from agenttrace.query.results import (
    CostReport,
    CostRow,
    PerformanceReport,
    PerformanceRow,
    SessionDetail,
    SessionList,
    SessionSummary,
    SpanRecord,
    TokenTotals,
    TraceSummary,
    TraceTree,
)

__all__ = [
    "CostReport",
    "CostRow",
    "LiveSnapshot",
    "LiveWorker",
    "PerformanceReport",
    "PerformanceRow",
    "SessionActivity",
    "SessionDetail",
    "SessionList",
    "SessionSummary",
    "SpanRecord",
    "TokenRates",
    "TokenTotals",
    "TraceSummary",
    "TraceTree",
]
