"""An async HTTP client for the collector's API that returns typed Structs.

Every call either returns decoded Structs or raises :class:`CollectorUnreachable`
(nothing listening, a timeout, a 5xx, an answer that is not what the TUI reads)
or :class:`CollectorRefused` (401/403: the API key is missing or wrong). The app
shows either as a banner and keeps polling, so it recovers when the collector does.

    client = CollectorClient("http://127.0.0.1:4318")
    snap = await client.live()          # LiveSnapshot
    rows = await client.sessions()      # list[SessionSummary], most recent first
"""

from __future__ import annotations

import os
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from agenttrace.errors import AgentTraceError, NotFoundError

from .models import (
    CostReport,
    CostRow,
    LiveSnapshot,
    PerformanceReport,
    PerformanceRow,
    SessionActivity,
    SessionDetail,
    SessionList,
    SessionSummary,
    TraceTree,
)

__all__ = ["DEFAULT_URL", "CollectorClient", "CollectorRefused", "CollectorUnreachable"]

DEFAULT_URL = "http://127.0.0.1:4318"
T = TypeVar("T")


class CollectorUnreachable(AgentTraceError, ConnectionError):
    """The collector did not answer usefully. ``url`` is what was asked, ``reason`` why.

    The message reads "collector at URL unreachable: REASON" when nothing answered, and
    "collector at URL: REASON" when it answered something the TUI cannot use.
    """

    def __init__(self, url: str, reason: str, *, answered: bool = False) -> None:
        super().__init__(f"collector at {url}: {reason}" if answered else f"collector at {url} unreachable: {reason}")
        self.url = url
        self.reason = reason
        self.answered = answered


class CollectorRefused(CollectorUnreachable, PermissionError):
    """The collector answered 401/403: set ``--api-key`` or ``AGENTTRACE_API_KEY``."""


class CollectorClient:
    """Typed access to ``/api/v1/*`` with short timeouts (the TUI polls; it never waits long).

    ``transport`` is passed to :class:`httpx.AsyncClient` (tests may hand an ASGI transport).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout_s: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.last_skipped: list[Any] = []  # skipped_segments of the last query answer
        key = api_key if api_key is not None else os.environ.get("AGENTTRACE_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(1.0, timeout_s)),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        try:
            resp = await self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise CollectorUnreachable(self.url, _describe(exc)) from exc
        if resp.status_code in (401, 403):
            raise CollectorRefused(
                self.url, f"HTTP {resp.status_code}, access refused: set --api-key or AGENTTRACE_API_KEY", answered=True
            )
        if resp.status_code == 404 and path.count("/") > 3:
            raise NotFoundError(f"{path} not found")
        if resp.status_code >= 400:
            raise CollectorUnreachable(self.url, f"HTTP {resp.status_code} for {path}", answered=True)
        return resp.content

    async def live(self) -> LiveSnapshot:
        """``GET /api/v1/live``: the last second's rates and the totals since start."""
        raw = await self._get("/api/v1/live")
        return self._decode(raw, LiveSnapshot)

    async def sessions(self, *, since: str = "15m", limit: int = 500) -> list[SessionSummary]:
        """Sessions active since ``since`` (a CLI time string), most recently active first."""
        return (await self.session_list(since=since, limit=limit)).sessions

    async def session_list(self, *, since: str = "15m", limit: int = 500) -> SessionList:
        """As :meth:`sessions`, with ``total``: how many matched, of which ``limit`` came."""
        raw = await self._get("/api/v1/sessions", {"since": since, "limit": limit})
        return self._decode(raw, SessionList)

    async def session(self, session_id: str) -> SessionDetail:
        """One session's summary and its traces. Raises :class:`NotFoundError` for an unknown id."""
        raw = await self._get(f"/api/v1/sessions/{quote(session_id, safe='')}")
        return self._decode(raw, SessionDetail)

    async def session_coding(self, session_id: str) -> SessionActivity:
        """A coding session's commits, files touched and commands run. Raises
        :class:`NotFoundError` for an unknown id (or a collector without the route)."""
        raw = await self._get(f"/api/v1/sessions/{quote(session_id, safe='')}/coding")
        return self._decode(raw, SessionActivity)

    async def trace(self, trace_id: str) -> TraceTree:
        """One trace with all its spans. Raises :class:`NotFoundError` for an unknown id."""
        raw = await self._get(f"/api/v1/traces/{quote(trace_id, safe='')}")
        return self._decode(raw, TraceTree)

    async def performance(self, *, since: str = "5m") -> list[PerformanceRow]:
        """Count and p50/p95/p99 latency per span kind over the last ``since``."""
        raw = await self._get("/api/v1/metrics/performance", {"since": since, "by": "kind"})
        return self._decode(raw, PerformanceReport).rows

    async def costs_today(self) -> list[CostRow]:
        """Spend per model since local midnight."""
        raw = await self._get("/api/v1/metrics/costs", {"since": "today", "by": "model"})
        return self._decode(raw, CostReport).rows

    def _decode(self, raw: bytes, typ: type[T]) -> T:
        try:
            result = msgspec.json.decode(raw, type=typ)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            raise CollectorUnreachable(self.url, f"unexpected answer: {exc}", answered=True) from exc
        # Damaged segments the answer was given without (the caller shows them).
        self.last_skipped = list(getattr(result, "skipped_segments", None) or [])
        return result


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused (is `agenttrace collector` running?)"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return type(exc).__name__
