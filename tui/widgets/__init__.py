"""The TUI's widgets, one per module, each with its CSS beside it."""

from ._banner import Banner
from ._coding import CodingActivity
from ._costs import CostBurn
from ._health import HealthBar
from ._kinds import KindTable
from ._sessions import SessionTable
from ._span_detail import SpanDetail
from ._trace_list import TraceTable
from ._waterfall import Waterfall

__all__ = [
    "Banner",
    "CodingActivity",
    "CostBurn",
    "HealthBar",
    "KindTable",
    "SessionTable",
    "SpanDetail",
    "TraceTable",
    "Waterfall",
]
