"""By kind: spans/s, error rate and p50/p95/p99 latency per span kind."""

from __future__ import annotations

from textual.widgets import DataTable

from agenttrace.format import duration_ns, human, percent

from ..models import LiveSnapshot, PerformanceRow
from ._slots import Cell, cell, sync_rows

COLUMNS = ("KIND", "SPANS/S", "ERR%", "P50", "P95", "P99")
WIDTHS = (12, 7, 5, 6, 6, 6)  # cells are updated in place, so widths are fixed up front


class KindTable(DataTable):
    """One row per span kind seen in the last second or the performance window."""

    DEFAULT_CSS = """
    KindTable {
        height: 7;
        border-top: solid $primary-darken-2;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="none", zebra_stripes=False, show_cursor=False, **kwargs)  # type: ignore[arg-type]
        self.border_title = "by kind"
        self._snap: LiveSnapshot | None = None
        self._latency: dict[str, PerformanceRow] = {}
        self._shown: list[tuple] = []
        self._slot_state: list[list[Cell]] = []

    def on_mount(self) -> None:
        for name, width in zip(COLUMNS, WIDTHS, strict=True):
            self.add_column(name, key=name, width=width)

    def show_live(self, snap: LiveSnapshot) -> None:
        self._snap = snap
        self._refresh_rows()

    def show_latency(self, rows: list[PerformanceRow]) -> None:
        """Rows of ``/metrics/performance`` grouped by kind."""
        self._latency = {r.key: r for r in rows}
        self._refresh_rows()

    def kind_rows(self) -> list[tuple[str, ...]]:
        """The table's rows as plain strings (busiest kind first)."""
        rates = self._snap.spans_per_s_by_kind if self._snap else {}
        errors = self._snap.errors_per_s_by_kind if self._snap else {}
        kinds = sorted(set(rates) | set(self._latency), key=lambda k: (-rates.get(k, 0.0), k))
        out = []
        for kind in kinds:
            rate = rates.get(kind, 0.0)
            lat = self._latency.get(kind)
            err = errors.get(kind, 0.0) / rate if rate > 0 else 0.0
            p = [_ms(getattr(lat, f) if lat else None) for f in ("p50_ms", "p95_ms", "p99_ms")]
            out.append((kind, human(rate), percent(err), *p))
        return out

    def _refresh_rows(self) -> None:
        rows = self.kind_rows()
        if rows == self._shown:
            return  # nothing changed: skip the relayout
        self._shown = rows
        cells = []
        for row in rows:
            style = "bold red" if row[2] not in ("0%", "<0.1%") else ""
            rest = [cell(c, style if i == 1 else "", "right") for i, c in enumerate(row[1:])]
            cells.append([cell(row[0]), *rest])
        self._slot_state = sync_rows(self, cells, self._slot_state)


def _ms(value: float | None) -> str:
    return "-" if value is None else duration_ns(value * 1e6)
