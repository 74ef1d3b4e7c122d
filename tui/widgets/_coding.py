"""A coding session's commits, files touched and commands run (hidden when it has none)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..models import SessionActivity

MAX_LINES = 8  # per section: the table above keeps most of the screen


class CodingActivity(Static):
    """Commits (short sha, +/- lines, message), then files, then the number of commands."""

    DEFAULT_CSS = """
    CodingActivity { height: auto; max-height: 12; padding: 0 1; border-top: solid $panel-lighten-2; }
    """

    def on_mount(self) -> None:
        self.display = False

    def show(self, activity: SessionActivity | None) -> None:
        if activity is None or not (activity.commits or activity.files or activity.commands):
            self.display = False
            return
        text = Text()
        if activity.commits:
            text.append(f"commits {len(activity.commits)}\n", style="bold")
            for c in activity.commits[-MAX_LINES:]:
                text.append(f"  {c['commit'][:10]}  +{c['lines_added']} -{c['lines_removed']}  {c['message']}\n")
        if activity.files:
            text.append(f"files {len(activity.files)}", style="bold")
            shown = activity.files[:MAX_LINES]
            text.append("  " + "  ".join(f"{f['path']} ({', '.join(f['operations'])})" for f in shown))
            if len(activity.files) > len(shown):
                text.append(f"  … {len(activity.files) - len(shown)} more")
            text.append("\n")
        if activity.commands:
            failed = sum(1 for c in activity.commands if c["status"] == 2)
            text.append(f"commands {len(activity.commands)}", style="bold")
            text.append(f" ({failed} failed)" if failed else "")
            text.append(f"  last: {activity.commands[-1]['command']}")
        self.update(text)
        self.display = True
