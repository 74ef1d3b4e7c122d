"""The TUI's screens: main (live view), a session's traces, a trace's waterfall, help."""

from .help import HelpScreen
from .main import MainScreen
from .traces import SessionTracesScreen
from .waterfall import TraceScreen

__all__ = ["HelpScreen", "MainScreen", "SessionTracesScreen", "TraceScreen"]
