"""The header: collector health in two lines (rates, sparkline, loss, ring fill, store)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from agenttrace.format import duration_s, human, nbytes, percent, sparkline

from ..models import LiveSnapshot


class HealthBar(Static):
    """Renders a :class:`LiveSnapshot` as::

    ‖ PAUSED AgentTrace · 127.0.0.1:4318 · up 1h02m · workers 2/2 · 118 MB/14 seg
    spans/s 12.3k ▁▂▃▅▇█▇▅ stored 1.2M dropped 0 lost 0 ring 3%
    """

    DEFAULT_CSS = """
    HealthBar {
        height: 2;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        padding: 0 1;
        background: $panel;
    }
    """

    def __init__(self, url: str, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.url = url
        self.paused = False
        self._snap: LiveSnapshot | None = None

    def show(self, snap: LiveSnapshot | None) -> None:
        """Redraw from ``snap`` (None: nothing received yet)."""
        self._snap = snap
        self.update(self._render_text())

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.update(self._render_text())

    def on_resize(self) -> None:
        # The sparkline's width depends on ours.
        self.update(self._render_text())

    def _render_text(self) -> Text:
        snap = self._snap
        host = self.url.split("://", 1)[-1]
        line1 = Text()
        if self.paused:
            line1.append("‖ PAUSED", style="bold reverse")
            line1.append(" ")
        line1.append("AgentTrace", style="bold")
        line1.append(f" · {host}")
        if snap is not None:
            alive = sum(1 for w in snap.workers if w.alive)
            line1.append(f" · up {duration_s(snap.uptime_s)} · workers {alive}/{len(snap.workers)}")
            restarts = sum(w.restarts for w in snap.workers)
            if restarts:
                line1.append(f" ({restarts}↻)", style="yellow")
            line1.append(f" · {nbytes(snap.store_bytes)}/{snap.segments} seg")
        line2 = Text()
        if snap is None:
            line2.append("waiting for the collector…", style="dim")
            return crop_lines(line1, line2)
        line2.append("spans/s ", style="dim")
        line2.append(f"{human(snap.spans_per_s):>5} ", style="bold")
        tail = Text()
        tail.append(" stored ", style="dim")
        tail.append(human(snap.stored_total))
        tail.append(" dropped ", style="dim")
        tail.append(human(snap.dropped_total), style="bold red" if snap.dropped_total else "")
        tail.append(" lost ", style="dim")
        tail.append(human(snap.lost_total), style="bold red" if snap.lost_total else "")
        if snap.ring_fill:
            tail.append(" ring ", style="dim")
            top = max(snap.ring_fill)
            tail.append(percent(top), style="bold red" if top > 0.5 else "")
        width = max(0, self.size.width - 2 - line2.cell_len - tail.cell_len)
        line2.append(sparkline(snap.history_spans_per_s, min(width, 60)), style="green")
        line2.append_text(tail)
        return crop_lines(line1, line2)


def crop_lines(*lines: Text) -> Text:
    # Crop rather than wrap: the header must stay two lines high at any width.
    out = Text("\n").join(lines)
    out.no_wrap = True
    out.overflow = "ellipsis"
    return out
