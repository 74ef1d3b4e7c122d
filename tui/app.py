"""``AgentTraceTop``: the live view of a collector, polled over its HTTP API.

Only ``/api/v1/live`` is polled every 250 ms (one small JSON object, and the widgets
redraw only when the collector's sample time moves on, about once a second); the
sessions, per-kind percentiles and today's cost are polled every 2 s. A poll
never blocks the event loop and never overlaps itself: a tick is skipped while the
previous request of its kind is still in flight.

    app = AgentTraceTop(CollectorClient("http://127.0.0.1:4318"))
    app.run()
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from agenttrace.errors import AgentTraceError

from .client import CollectorClient, CollectorUnreachable
from .models import LiveSnapshot
from .screens import HelpScreen, MainScreen

__all__ = ["DAMAGE_NOTE", "AgentTraceTop"]

DAMAGE_NOTE = "store damaged"  # the banner's words for damaged segments (not retried: not a connection problem)


class AgentTraceTop(App[None]):
    """The ``agenttrace top`` application.

    ``client`` is injected so tests can point it at any server; ``clock`` (Unix
    seconds) is only used for "last activity" until the first live snapshot arrives,
    after which the collector's own sample time is "now" (so a frozen snapshot
    renders the same every time). ``poll=False`` makes no request on its own: tests
    then call :meth:`refresh_live` and :meth:`refresh_slow`.
    """

    TITLE = "AgentTrace top"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("p", "toggle_pause", "pause"),
        Binding("f1,question_mark", "help", "help", key_display="F1/?"),
    ]

    def __init__(
        self,
        client: CollectorClient,
        *,
        live_interval_s: float = 0.25,
        slow_interval_s: float = 2.0,
        active_since: str = "15m",
        clock: Callable[[], float] = time.time,
        poll: bool = True,
    ) -> None:
        super().__init__()
        self.client = client
        self.live_interval_s = live_interval_s
        self.slow_interval_s = slow_interval_s
        self.active_since = active_since
        self.clock = clock
        self.poll = poll
        self.paused = False
        self.last_live: LiveSnapshot | None = None
        self._problems: dict[str, str | None] = {"live": None, "slow": None}  # per poll group
        self.unreachable: str | None = None  # what the banner says (None: hidden)
        self._inflight: set[str] = set()
        self.main = MainScreen(client.url, active_since=active_since)

    def on_mount(self) -> None:
        self.push_screen(self.main)
        if self.poll:
            self.set_interval(self.live_interval_s, self._tick_live)
            self.set_interval(self.slow_interval_s, self._tick_slow)
            self._tick_live()
            self._tick_slow()

    async def on_unmount(self) -> None:
        await self.client.aclose()

    # --- polling -------------------------------------------------------------

    def _tick_live(self) -> None:
        if not self.paused:
            self._start("live", self.refresh_live)

    def _tick_slow(self) -> None:
        # The slow panels only matter while the main screen is in front.
        if not self.paused and self.screen is self.main:
            self._start("slow", self.refresh_slow)

    def _start(self, group: str, job: Callable[[], Awaitable[None]]) -> None:
        if group in self._inflight:
            return  # the previous request is still out: skip this tick, never pile up
        self._inflight.add(group)

        async def run() -> None:
            try:
                await job()
            except Exception as exc:  # a bug must show as a banner, not vanish in a worker
                self._report(group, f"agenttrace top: internal error: {type(exc).__name__}: {exc}")
                raise
            finally:
                self._inflight.discard(group)

        self.run_worker(run(), group=group, exit_on_error=False)

    async def refresh_live(self) -> None:
        """Fetch ``/live`` once and show it (or the banner if the collector is away)."""
        problems: list[str] = []
        snap = await self._guard(self.client.live(), problems)
        self._report("live", problems[0] if problems else None)
        if snap is None:
            return
        if self.last_live is not None and snap.time == self.last_live.time:
            return  # the collector samples once a second: nothing new to draw
        self.last_live = snap
        self.main.show_live(snap)

    async def refresh_slow(self) -> None:
        """Fetch sessions, per-kind percentiles and today's cost once and show them."""
        problems: list[str] = []
        damaged: dict[str, Any] = {}
        sessions = await self._guard(self.client.session_list(since=self.active_since), problems)
        damaged.update((d.path, d) for d in self.client.last_skipped)
        if sessions is not None:
            self.main.show_sessions(sessions.sessions, self.now(), sessions.total)
            latency = await self._guard(self.client.performance(), problems)
            damaged.update((d.path, d) for d in self.client.last_skipped)
            if latency is not None:
                self.main.show_latency(latency)
            costs = await self._guard(self.client.costs_today(), problems)
            damaged.update((d.path, d) for d in self.client.last_skipped)
            if costs is not None:
                self.main.show_costs_today(costs)
        if damaged:
            first = next(iter(damaged.values()))
            more = f" and {len(damaged) - 1} more" if len(damaged) > 1 else ""
            problems.append(
                f"{DAMAGE_NOTE}: {first.path} at offset {first.offset}{more}; "
                "figures leave it out (agenttrace fsck --repair)"
            )
        self._report("slow", problems[0] if problems else None)

    def now(self) -> float:
        """Unix seconds: the collector's newest sample time, else the injected clock."""
        return self.last_live.time if self.last_live is not None else self.clock()

    async def _guard(self, request: Awaitable[Any], problems: list[str]) -> Any:
        try:
            return await request
        except CollectorUnreachable as exc:
            problems.append(str(exc))
        except AgentTraceError as exc:
            problems.append(f"collector error: {exc}")
        return None

    def _report(self, group: str, problem: str | None) -> None:
        # Each poll group clears only its own problem, so a failing slow panel is not
        # hidden by the next successful /live poll (and the banner does not flicker).
        self._problems[group] = problem
        message = self._problems["live"] or self._problems["slow"]
        if message != self.unreachable:
            self.unreachable = message
            self.main.show_unreachable(message)

    # --- keys ----------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.main.show_paused(self.paused)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
