"""Active sessions, most recently active first, sortable like ``top``, filterable by
text, and pinnable: a busy collector adds sessions every refresh, so the view stays where
the user left it (at the top: the newest) and ``space``/``f`` freezes the rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from agenttrace.format import ago, duration_s, human, usd

from ..models import SessionSummary
from ._slots import Cell, cell, sync_rows

# (header, sort key, default descending?)
COLUMNS: tuple[tuple[str, Callable[[SessionSummary, float], Any], bool], ...] = (
    ("SERVICE", lambda r, now: r.service, False),
    ("SESSION", lambda r, now: r.session_id, False),
    ("RUNNING", lambda r, now: r.last_seen_ns - r.first_seen_ns, True),
    ("SPANS", lambda r, now: r.spans, True),
    ("TOKENS", lambda r, now: r.tokens.total_tokens, True),
    ("COST", lambda r, now: r.cost_usd, True),
    ("LAST", lambda r, now: r.last_seen_ns, True),
    ("ERR", lambda r, now: r.errors, True),
)
HEADERS = tuple(c[0] for c in COLUMNS)
# Fixed widths keep all eight columns inside 80 terminal columns (cell padding included).
WIDTHS = (12, 14, 7, 5, 6, 7, 5, 3)


class SessionTable(DataTable):
    """Sessions with ``<``/``>`` to move the sort column, ``r`` to reverse it,
    ``space``/``f`` to pin the rows.

    :meth:`show` takes the rows, "now" (Unix seconds, for the LAST column) and how many
    sessions matched in all (the collector sends at most 500); :attr:`filter_text` keeps
    rows whose service, session or user contains it. A refresh never scrolls: the cursor
    follows its session, the viewport stays put. Pinned, the rows keep their sessions and
    places while their figures update; sessions that arrive meanwhile are only counted.
    """

    DEFAULT_CSS = """
    SessionTable {
        height: 1fr;
        border-top: solid $primary-darken-2;
    }
    /* Without colours a highlighted row must still stand out. */
    SessionTable:nocolor > .datatable--cursor { text-style: reverse bold; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "traces"),
        Binding("less_than_sign,comma", "sort_by(-1)", "sort", key_display="<>"),
        Binding("greater_than_sign,full_stop", "sort_by(1)", "sort →", show=False),
        Binding("r", "reverse_sort", "reverse", show=False),
        Binding("space,f", "toggle_pin", "pin", key_display="space"),
    ]

    class SortChanged(Message):
        def __init__(self, column: str, descending: bool) -> None:
            super().__init__()
            self.column = column
            self.descending = descending

    def __init__(self, *, window: str = "15m", **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.window = window  # what "active" means, for the empty-table hint
        self._loaded = False
        self.sort_column = HEADERS.index("LAST")
        self.descending = True
        self.filter_text = ""
        self._rows: list[SessionSummary] = []
        self._now = 0.0
        self._shown: list[tuple] = []
        self._slot_state: list[list[Cell]] = []
        self._order: list[str] = []  # session id in each row slot
        self._total: int | None = None  # sessions that matched in all (None: not said)
        self.pinned = False
        self._pinned: dict[str, SessionSummary] = {}  # pinned: the rows, in their frozen order

    def on_mount(self) -> None:
        for name, width in zip(HEADERS, WIDTHS, strict=True):
            self.add_column(name, key=name, width=width)
        self._update_title()

    # --- data ------------------------------------------------------------

    def show(self, rows: list[SessionSummary], now: float, total: int | None = None) -> None:
        """Replace the sessions; keep the cursor on the same session if it is still there."""
        self._rows = rows
        self._now = now
        self._total = total
        self._loaded = True
        if self.pinned:  # new figures for the pinned sessions; the others wait
            for r in rows:
                if r.session_id in self._pinned:
                    self._pinned[r.session_id] = r
        self._rebuild(hold_view=True)

    @property
    def arrived(self) -> int:
        """Pinned: how many sessions arrived that the frozen rows do not show."""
        return sum(1 for r in self._rows if r.session_id not in self._pinned) if self.pinned else 0

    def action_toggle_pin(self) -> None:
        self.pinned = not self.pinned
        self._pinned = {r.session_id: r for r in self._sorted(self._rows)} if self.pinned else {}
        self._rebuild()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self._rebuild()

    def visible(self) -> list[SessionSummary]:
        """The sessions shown, filtered and in display order."""
        needle = self.filter_text.lower()
        source = list(self._pinned.values()) if self.pinned else self._sorted(self._rows)
        return [r for r in source if not needle or needle in f"{r.service} {r.session_id} {r.user_id}".lower()]

    def _sorted(self, rows: list[SessionSummary]) -> list[SessionSummary]:
        rows = list(rows)
        key = COLUMNS[self.sort_column][1]
        # Ties broken by session id so the order never flickers between refreshes.
        rows.sort(key=lambda r: r.session_id)
        rows.sort(key=lambda r: key(r, self._now), reverse=self.descending)
        return rows

    @property
    def selected_session(self) -> str | None:
        return self.session_at(self.cursor_row)

    def session_at(self, row: int) -> str | None:
        """The session id shown in ``row`` (rows are slots: their keys are positions)."""
        return self._order[row] if 0 <= row < len(self._order) else None

    # --- sorting ---------------------------------------------------------

    def action_sort_by(self, step: int) -> None:
        self.sort_column = (self.sort_column + step) % len(COLUMNS)
        self.descending = COLUMNS[self.sort_column][2]
        self._sort_changed()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self._sort_changed()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if event.column_index == self.sort_column:
            self.descending = not self.descending
        else:
            self.sort_column = event.column_index
            self.descending = COLUMNS[self.sort_column][2]
        self._sort_changed()

    def _sort_changed(self) -> None:
        if self.pinned:  # asked for: the pinned rows take the new order (still the same rows)
            self._pinned = {r.session_id: r for r in self._sorted(list(self._pinned.values()))}
        self._rebuild()
        self.post_message(self.SortChanged(HEADERS[self.sort_column], self.descending))

    # --- rendering -------------------------------------------------------

    def _update_title(self) -> None:
        arrow = "▼" if self.descending else "▲"
        total = self._total if self._total is not None else len(self._rows)
        shown = len(self._shown)
        # "500 shown of 1,234": the collector sends at most 500, and a filter hides some.
        count = f"{shown:,}" if shown == total else f"{shown:,} shown of {total:,}"
        title = f"sessions {count} · sort {HEADERS[self.sort_column]} {arrow}"
        if self.pinned:
            title += " · pinned (space unpins)"
            if self.arrived:
                title += f" · {self.arrived:,} new"
        if self.filter_text:
            title += f" · filter “{self.filter_text}”"
        elif self._loaded and not self._rows:
            title += f" · none active in the last {self.window} (try: agenttrace demo)"
        self.border_title = title

    def _cells(self, r: SessionSummary) -> tuple:
        now_ns = self._now * 1e9
        return (
            r.service,
            r.session_id,
            duration_s((r.last_seen_ns - r.first_seen_ns) / 1e9),
            human(r.spans),
            human(r.tokens.total_tokens),
            usd(r.cost_usd),
            ago((now_ns - r.last_seen_ns) / 1e9) if r.last_seen_ns else "-",
            str(r.errors),
        )

    def _rebuild(self, *, hold_view: bool = False) -> None:
        """Show :meth:`visible`. ``hold_view`` (a data refresh, not the user's sort or
        filter): the cursor follows its session without scrolling the table."""
        rows = self.visible()
        cells = [self._cells(r) for r in rows]
        if cells == self._shown:
            self._update_title()
            return
        keep = self.selected_session
        keep_index = self.cursor_row
        self._shown = cells
        self._order = [r.session_id for r in rows]
        slots = [
            [
                cell(c[0]),
                cell(c[1]),
                *(cell(v, "", "right") for v in c[2:7]),
                cell(c[7], "bold red" if r.errors else "", "right"),
            ]
            for r, c in zip(rows, cells, strict=True)
        ]
        self._slot_state = sync_rows(self, slots, self._slot_state)
        if keep is not None and rows:
            # Follow the selected session to its new place (or stay put if it left). On a
            # refresh keep the viewport where it was: DataTable scrolls to its cursor whenever
            # the cursor moves, which made the view drift to stale rows as new ones arrived.
            index = next((i for i, r in enumerate(rows) if r.session_id == keep), min(keep_index, len(rows) - 1))
            if index != self.cursor_row:
                y = self.scroll_y
                self.move_cursor(row=index, animate=False, scroll=not hold_view)
                if hold_view:
                    self._hold_scroll(y)
        self._update_title()

    def _hold_scroll(self, y: float) -> None:
        self.scroll_to(y=y, animate=False, immediate=True)
        # The cursor's own scroll may be deferred until the new rows are measured: undo it then too.
        self.call_after_refresh(self.scroll_to, y=y, animate=False, immediate=True)
