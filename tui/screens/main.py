"""The main screen: health, cost burn, per-kind table and the active sessions."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from ..models import CostRow, LiveSnapshot, PerformanceRow, SessionSummary
from ..widgets import Banner, CostBurn, HealthBar, KindTable, SessionTable


class MainScreen(Screen[None]):
    """What ``agenttrace top`` opens on. The app feeds it through the ``show_*`` methods."""

    DEFAULT_CSS = """
    MainScreen #filter {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
    }
    MainScreen #filter.-shown { display: block; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "filter"),
    ]

    def __init__(self, url: str, *, active_since: str = "15m") -> None:
        super().__init__()
        self.url = url
        self.active_since = active_since

    def compose(self) -> ComposeResult:
        yield Banner(id="banner")
        yield HealthBar(self.url, id="health")
        yield CostBurn(id="costs")
        yield KindTable(id="kinds")
        yield Input(placeholder="filter sessions (escape clears)", id="filter")
        yield SessionTable(id="sessions", window=self.active_since)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SessionTable).focus()

    # --- data from the app -------------------------------------------------

    def show_live(self, snap: LiveSnapshot) -> None:
        self.query_one(HealthBar).show(snap)
        self.query_one(CostBurn).show_live(snap)
        self.query_one(KindTable).show_live(snap)

    def show_sessions(self, rows: list[SessionSummary], now: float, total: int | None = None) -> None:
        self.query_one(SessionTable).show(rows, now, total)

    def show_latency(self, rows: list[PerformanceRow]) -> None:
        self.query_one(KindTable).show_latency(rows)

    def show_costs_today(self, rows: list[CostRow]) -> None:
        self.query_one(CostBurn).show_today(rows)

    def show_unreachable(self, message: str | None) -> None:
        banner = self.query_one(Banner)
        if message is None:
            banner.clear()
        else:
            # A damaged store is not a connection problem: nothing to retry.
            banner.alert(message if message.startswith("store damaged") else message + " · retrying")

    def show_paused(self, paused: bool) -> None:
        self.query_one(HealthBar).set_paused(paused)

    # --- keys ----------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-shown")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one(SessionTable).set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one("#filter", Input)
        if not box.value:
            box.remove_class("-shown")
        self.query_one(SessionTable).focus()

    def key_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("-shown"):
            box.value = ""
            box.remove_class("-shown")
            self.query_one(SessionTable).set_filter("")
            self.query_one(SessionTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        table = event.data_table
        if isinstance(table, SessionTable) and (session_id := table.session_at(event.cursor_row)) is not None:
            from .traces import SessionTracesScreen

            self.app.push_screen(SessionTracesScreen(session_id))
