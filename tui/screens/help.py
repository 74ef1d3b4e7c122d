"""The key reference (``?``)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("Everywhere", ""),
    ("q", "quit"),
    ("p", "pause / resume the refresh"),
    ("F1 ?", "this help (any key closes it)"),
    ("escape", "back to the previous screen"),
    ("Sessions", ""),
    ("↑ ↓ PgUp PgDn", "move (newest first; a refresh never scrolls)"),
    ("enter", "list the session's traces"),
    ("< >", "sort by the column left / right"),
    ("r", "reverse the sort"),
    ("/", "filter by text (service, session, user); escape clears"),
    ("space f", "pin rows: figures update, new ones wait"),
    ("Traces", ""),
    ("enter", "open the trace's waterfall"),
    ("Waterfall", ""),
    ("↑ ↓", "select a span; its details show below"),
)


class HelpScreen(ModalScreen[None]):
    """A modal listing every key; escape, q, ? or any other key closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 64;
        height: auto;
        max-height: 22;
        border: round $primary;
        padding: 0 1;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        text = Text()
        for key, what in KEYS:
            if not what:
                text.append(f"{key}\n", style="bold underline")
            else:
                text.append(f"  {key:<14}", style="bold")
                text.append(f"{what}\n")
        text.rstrip()
        with Vertical():
            yield Static(text)

    def on_key(self, event: Key) -> None:
        # Handled here, so the key that closes the help (F1, ?) does not reopen it through the app's binding.
        event.stop()
        event.prevent_default()
        self.dismiss()
