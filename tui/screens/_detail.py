"""What the session and trace screens share: a title line, the banner, reloading while in front."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from agenttrace.errors import NotFoundError

from ..client import CollectorUnreachable
from ..widgets import Banner


class DetailScreen(Screen[None]):
    """One thing the collector holds, found by its id (a session, a trace).

    A subclass names the thing (``NOUN``), composes its body widgets (``FOCUS`` is the
    one focused first), fetches the thing and shows it. This class keeps the title line
    above and the banner that says why nothing changed (not found, collector
    unreachable), reloads on F5/ctrl+r and, when the app polls, every
    ``slow_interval_s`` while the screen is in front.
    """

    # Scoped to this class, so it styles every subclass's title line alike.
    DEFAULT_CSS = """
    DetailScreen #title { height: 1; padding: 0 1; background: $panel; }
    """

    NOUN: ClassVar[str] = ""
    FOCUS: ClassVar[type[Widget]] = Widget  # the body widget that has the focus when the screen opens
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "back"),
        Binding("f5,ctrl+r", "reload", "reload", show=False),
    ]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.NOUN} {self.key} · loading…"), id="title")
        yield Banner()
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The widgets between the banner and the footer; the first one takes the focus."""
        raise NotImplementedError

    async def fetch(self) -> Any:
        """The thing from the collector; raises NotFoundError or CollectorUnreachable."""
        raise NotImplementedError

    def show(self, found: Any) -> None:
        """Put a freshly fetched thing on screen (the banner is already cleared)."""
        raise NotImplementedError

    def not_found(self) -> str:
        """What the banner says when the collector does not know the id."""
        return f"{self.NOUN} {self.key} not found"

    def set_title(self, title: str) -> None:
        self.query_one("#title", Static).update(Text(title))

    def on_mount(self) -> None:
        self.query_one(self.FOCUS).focus()
        self.action_reload()
        if getattr(self.app, "poll", False):
            # Active sessions grow and traces still running gain spans: reload while in front.
            self.set_interval(getattr(self.app, "slow_interval_s", 2.0), self._auto_reload)

    def _auto_reload(self) -> None:
        if self.app.screen is self and not getattr(self.app, "paused", False):
            self.action_reload()

    def action_reload(self) -> None:
        self.run_worker(self._load(), group="load", exclusive=True)

    async def _load(self) -> None:
        try:
            found = await self.fetch()
        except NotFoundError:
            self.query_one(Banner).alert(self.not_found())
            return
        except CollectorUnreachable as exc:
            self.query_one(Banner).alert(str(exc))
            return
        self.query_one(Banner).clear()
        self.show(found)
