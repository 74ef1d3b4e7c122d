"""A one-line banner that says the collector is unreachable (instead of a traceback)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Banner(Static):
    """Hidden while all is well; :meth:`alert` shows a message, :meth:`clear` hides it."""

    DEFAULT_CSS = """
    Banner {
        display: none;
        height: auto;
        padding: 0 1;
        background: $error;
        color: $text;
        text-style: bold;
    }
    Banner.-shown { display: block; }
    Banner:nocolor { text-style: reverse; }
    """

    def alert(self, message: str) -> None:
        """Show ``message`` (plain text, never markup)."""
        self.update(Text("⚠ " + message))
        self.add_class("-shown")

    def clear(self) -> None:
        """Hide the banner."""
        self.remove_class("-shown")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")
