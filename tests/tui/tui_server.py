"""A small real HTTP server (Litestar on uvicorn, in a thread) serving recorded collector answers.

The TUI talks to it over a real socket exactly as it talks to a collector. ``port`` is
reserved up front by a bound but not listening socket, so before :meth:`start` (and
after :meth:`stop`) a connection is refused, as it is when no collector runs.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Annotated

import tui_recorded as recorded
import uvicorn
from litestar import Litestar, Router, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter

from agenttrace.collector.live import LiveSnapshot
from agenttrace.query.results import CostReport, PerformanceReport, SessionDetail, SessionList, TraceTree


class RecordedCollector:
    """Serves :mod:`recorded`'s answers; ``snapshot`` may be replaced while it runs."""

    def __init__(self) -> None:
        self.snapshot: LiveSnapshot = recorded.live()
        self.requests: list[str] = []
        self.broken: set[str] = set()  # routes that answer 500
        self.session_list: SessionList | None = None  # what /sessions answers instead of the recording
        self._sock = _bound_socket(0)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def build_app(srv: RecordedCollector | None = None) -> Litestar:
        """The Litestar app; without ``srv`` it serves :func:`recorded.live` and records nothing."""
        if srv is None:
            srv = RecordedCollector.__new__(RecordedCollector)
            srv.snapshot = recorded.live()
            srv.requests = []
            srv.broken = set()
            srv.session_list = None

        @get("/live", sync_to_thread=False)
        def live() -> LiveSnapshot:
            srv.requests.append("live")
            return srv.snapshot

        @get("/sessions", sync_to_thread=False)
        def sessions() -> SessionList:
            srv.requests.append("sessions")
            if "sessions" in srv.broken:
                raise HTTPException(status_code=500, detail="boom")
            return srv.session_list if srv.session_list is not None else recorded.sessions()

        @get("/sessions/{session_id:str}", sync_to_thread=False)
        def session(session_id: Annotated[str, Parameter()]) -> SessionDetail:
            found = recorded.session(session_id)
            if found is None:
                raise NotFoundException(f"no session {session_id}")
            return found

        @get("/traces/{trace_id:str}", sync_to_thread=False)
        def trace(trace_id: Annotated[str, Parameter()]) -> TraceTree:
            found = recorded.trace(trace_id)
            if found is None:
                raise NotFoundException(f"no trace {trace_id}")
            return found

        @get("/metrics/performance", sync_to_thread=False)
        def performance() -> PerformanceReport:
            return recorded.performance()

        @get("/metrics/costs", sync_to_thread=False)
        def costs() -> CostReport:
            return recorded.costs_today()

        router = Router("/api/v1", route_handlers=[live, sessions, session, trace, performance, costs])
        return Litestar(route_handlers=[router], openapi_config=None)

    def start(self) -> None:
        """Listen on :attr:`port` and serve until :meth:`stop`."""
        if self._sock is None:
            self._sock = _bound_socket(self.port)
        config = uvicorn.Config(self.build_app(self), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        sock = self._sock
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("recorded collector did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving; connections to :attr:`port` are refused again."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._server = None
        self._thread = None


def _bound_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock
