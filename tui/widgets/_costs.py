"""Cost burn: $/min now and $ today, by model; tokens/s by type."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from agenttrace.format import human, usd

from ..models import CostRow, LiveSnapshot
from ._health import crop_lines


class CostBurn(Static):
    """Two lines::

    $/min 0.42 · today $12.30 │ gpt-4o $0.30/m $8.10 · claude-sonnet-4-5 $0.10/m $3.20
    tokens/s in 12.3k (cached 8.1k, written 200) · out 1.2k (reasoning 100) · total $45.10
    """

    DEFAULT_CSS = """
    CostBurn {
        height: 2;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self._snap: LiveSnapshot | None = None
        self._today: list[CostRow] = []

    def show_live(self, snap: LiveSnapshot) -> None:
        self._snap = snap
        self.update(self._render_text())

    def on_resize(self) -> None:
        self.update(self._render_text())

    def show_today(self, rows: list[CostRow]) -> None:
        """Rows of ``/metrics/costs`` grouped by model, since midnight."""
        self._today = rows
        self.update(self._render_text())

    def _render_text(self) -> Text:
        snap = self._snap
        per_min = snap.cost_per_min_by_model if snap else {}
        today = {r.key: r.cost_usd for r in self._today}
        line1 = Text()
        line1.append("$/min ", style="dim")
        line1.append(usd(sum(per_min.values())).lstrip("$"), style="bold yellow")
        line1.append(" · today ", style="dim")
        line1.append(usd(sum(today.values())), style="bold")
        line1.append(" │", style="dim")
        # Busiest models first: by burn now, then by spend today.
        models = sorted(set(per_min) | set(today), key=lambda m: (-per_min.get(m, 0.0), -today.get(m, 0.0), m))
        room = self.size.width - 2 if self.size.width else 78
        for i, model in enumerate(models):
            item = Text(" · " if i else " ")
            item.append(model or "(none)")
            item.append(f" {usd(per_min.get(model, 0.0))}/m {usd(today.get(model, 0.0))}", style="dim")
            if line1.cell_len + item.cell_len > room - 4:
                line1.append(f" +{len(models) - i}", style="dim")
                break
            line1.append_text(item)
        line2 = Text()
        line2.append("tokens/s ", style="dim")
        if snap is None:
            return crop_lines(line1, line2)
        tok = snap.tokens_per_s
        line2.append("in ", style="dim")
        line2.append(human(tok.input), style="bold")
        line2.append(" cached ", style="dim")
        line2.append(human(tok.cache_read))
        line2.append(" written ", style="dim")
        line2.append(human(tok.cache_write))
        line2.append(" · out ", style="dim")
        line2.append(human(tok.output), style="bold")
        line2.append(" reasoning ", style="dim")
        line2.append(human(tok.reasoning))
        return crop_lines(line1, line2)
