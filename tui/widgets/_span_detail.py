"""The detail pane of the selected span: kind, model, tokens, cost and its source,
status and error, input/output previews, attributes, events."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from agenttrace.format import duration_ns, human, usd

from ..models import SpanRecord

_COST_SOURCES = {
    "sdk": "reported by the agent",
    "catalogue": "priced from the model catalogue",
    "override": "priced from a price override",
    "unknown": "model not in the catalogue: not priced",
    "": "no usage to price",
}


def describe(span: SpanRecord) -> Text:
    """Everything worth knowing about one span, as plain-text lines with light styling."""
    t = Text()

    def field(label: str, value: str, style: str = "") -> None:
        t.append(f"{label:<10}", style="dim")
        t.append(value + "\n", style=style)

    t.append(span.name + "\n", style="bold")
    field("kind", span.kind)
    field("service", f"{span.service}  session {span.session_id}" if span.session_id else span.service)
    field("duration", duration_ns(span.duration_ms * 1e6))
    if span.model or span.provider:
        field("model", " / ".join(x for x in (span.model, span.provider) if x))
    if span.status == "error":
        field("status", "ERROR " + span.status_message, "bold red")
    else:
        field("status", span.status)
    if span.total_tokens or span.input_tokens or span.output_tokens:
        u = span
        uncached = u.input_tokens - u.cache_read_tokens - u.cache_write_tokens
        field(
            "tokens",
            f"in {human(u.input_tokens)} (uncached {human(uncached)}, cache read {human(u.cache_read_tokens)},"
            f" cache write {human(u.cache_write_tokens)})",
        )
        field("", f"out {human(u.output_tokens)} (reasoning {human(u.reasoning_tokens)})")
    if span.cost_usd is not None or span.cost_source:
        cost = usd(span.cost_usd) if span.cost_usd is not None else "-"
        where = _COST_SOURCES.get(span.cost_source, span.cost_source)
        tier = f", {span.service_tier} tier" if span.service_tier else ""
        field("cost", f"{cost}  ({where}{tier})")
    if span.input_preview:
        field("input", _one_line(span.input_preview))
    if span.output_preview:
        field("output", _one_line(span.output_preview))
    if span.attributes:
        t.append("attributes\n", style="dim")
        for key in sorted(span.attributes):
            t.append(f"  {key} = {_value(span.attributes[key])}\n")
    if span.events:
        t.append("events\n", style="dim")
        t0 = span.start_ns
        for ev in span.events:
            at = duration_ns(max(0, int(ev.get("time_ns", t0)) - t0))
            attrs = ev.get("attributes") or {}
            extra = " ".join(f"{k}={_value(v)}" for k, v in sorted(attrs.items()))
            t.append(f"  +{at} {ev.get('name', '?')} {extra}\n")
    t.rstrip()
    return t


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


class SpanDetail(VerticalScroll):
    """A scrollable pane showing :func:`describe` of one span."""

    DEFAULT_CSS = """
    SpanDetail {
        height: 10;
        border-top: solid $primary-darken-2;
        padding: 0 1;
    }
    SpanDetail > Static { width: 1fr; }
    """

    _span: SpanRecord | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="span-detail-body")

    def show(self, span: SpanRecord | None) -> None:
        """Describe ``span``; showing the same span again keeps the scroll position."""
        if span == self._span and span is not None:
            return
        self._span = span
        body = self.query_one("#span-detail-body", Static)
        body.update(describe(span) if span else Text("no span selected", style="dim"))
        self.border_title = f"span {span.span_id}" if span else "span"
        self.scroll_home(animate=False)
