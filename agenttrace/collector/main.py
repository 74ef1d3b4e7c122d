"""``agenttrace-collector`` (also ``agenttrace collector``): run the collector appliance.

One main process (asyncio on uvloop) binds the sockets, runs one receive thread per
socket (``agenttrace._native.load("recv")``), supervises the worker processes and
serves HTTP (uvicorn, the Litestar app of :mod:`agenttrace.collector.http`).

Signals: SIGTERM or SIGINT stops receiving, lets every worker drain its ring and
seal, and exits 0 within ``collector.shutdown_timeout_s`` (a second signal does not
cut the drain short; SIGKILL does). SIGHUP reopens the log file and reloads what
can change at run time: log level and file, the pricing table (workers rebuild
their enrichment stages). Addresses, worker count and data directory need a restart.

Exit status: 0 after a clean shutdown, 1 when a worker had to be killed during the
drain or the collector could not start (data directory not writable), 2 for a
configuration error or a conflict: another collector holds the data directory
(``collector.lock``), or an address to listen on is in use. A start that fails
removes, moves or writes nothing of another instance's (socket, WAL, segments,
shared memory): the lock and every address are checked before anything is bound
or a worker started.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from agenttrace.collector.config import CollectorConfig, load_config, require_api_key
from agenttrace.collector.sdnotify import Notifier
from agenttrace.errors import CollectorConflictError, ConfigError, RuntimeDirError

__all__ = ["collector_command", "main", "run"]

log = logging.getLogger("agenttrace.collector")


def collector_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML configuration file.", dir_okay=False)
    ] = None,
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="Where the store lives.")] = None,
    udp: Annotated[
        list[str] | None, typer.Option("--udp", help="UDP HOST:PORT to receive on (repeatable; 'off' for none).")
    ] = None,
    unix: Annotated[str | None, typer.Option("--unix", help="Unix datagram socket path ('off' for none).")] = None,
    http: Annotated[str | None, typer.Option("--http", help="HTTP HOST:PORT ('off' for none).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes (0 = one per core).")] = None,
    otlp_grpc: Annotated[str | None, typer.Option("--otlp-grpc", help="OTLP/gRPC HOST:PORT ('off' for none).")] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="debug, info, warning or error.")] = None,
) -> None:
    """Run the collector: receive spans, store them, serve /metrics and the API."""
    overrides: dict[str, Any] = {
        "collector.data_dir": data_dir,
        "collector.workers": workers,
        "collector.log_level": log_level,
        "receive.udp": None if udp is None else ([] if udp == ["off"] else udp),
        "receive.unix": None if unix is None else ("" if unix == "off" else unix),
        "http.listen": None if http is None else ("" if http == "off" else http),
        "otlp.grpc": None if otlp_grpc is None else ("" if otlp_grpc == "off" else otlp_grpc),
    }
    raise typer.Exit(run(str(config) if config else None, {k: v for k, v in overrides.items() if v is not None}))


def main() -> None:
    """Console entry point ``agenttrace-collector``."""
    typer.run(collector_command)


def run(config_path: str | None = None, overrides: dict[str, Any] | None = None) -> int:
    """Load the configuration and run until a signal stops the collector; returns the exit status."""
    overrides = overrides or {}
    try:
        cfg = load_config(config_path, overrides=overrides)
        require_api_key(cfg)
    except ConfigError as exc:
        print(f"agenttrace-collector: {exc}", file=sys.stderr)
        return 2
    configure_logging(cfg)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_Collector(cfg, config_path, overrides).serve())


def configure_logging(cfg: CollectorConfig) -> None:
    """(Re)open the log destination; called at start and on SIGHUP (logrotate)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handler: logging.Handler = (
        logging.FileHandler(cfg.collector.log_file) if cfg.collector.log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s collector %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(cfg.collector.log_level.upper())


def _say(line: str) -> None:
    print(line, flush=True)


class _Collector:
    def __init__(self, cfg: CollectorConfig, config_path: str | None, overrides: dict[str, Any]) -> None:
        self.cfg = cfg
        self.config_path = config_path
        self.overrides = overrides
        self.sockets: list[socket.socket] = []
        self.receivers: list[Any] = []
        self.stop_event = asyncio.Event()
        self.notifier: Notifier | None = None  # set once serving, under systemd only
        self.unix_path: Path | None = None  # set once the Unix socket is bound
        self.grpc_server: Any = None

    async def serve(self) -> int:
        from agenttrace.collector.live import LiveHistory
        from agenttrace.collector.metrics import CollectorState
        from agenttrace.collector.supervisor import OrphanWorkersError, Supervisor

        cfg = self.cfg
        data_dir = cfg.data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(data_dir, os.W_OK | os.X_OK):
                raise PermissionError(f"{data_dir} is not writable")
        except OSError as exc:
            print(f"agenttrace-collector: cannot use the data directory: {exc}", file=sys.stderr)
            return 1
        try:
            self.lock = _claim(cfg)
        except (CollectorConflictError, RuntimeDirError) as exc:
            print(f"agenttrace-collector: {exc}", file=sys.stderr)
            return 2
        try:
            self._http_sock = _bind_http(cfg.http_address)
        except OSError as exc:
            self.lock.release()
            print(f"agenttrace-collector: cannot listen: {exc}", file=sys.stderr)
            return 2 if isinstance(exc, CollectorConflictError) else 1
        if self._http_sock is not None:
            self.sockets.append(self._http_sock)
        # self.lock is held until the process exits (the kernel drops it then, even on kill -9).
        started = time.time()
        self.state = state = CollectorState(
            data_dir=str(data_dir),
            started_at=started,
            max_label_values=cfg.metrics.max_label_values,
            history=LiveHistory(started_at=started),
        )
        # Signals first: a SIGTERM during startup must still drain the workers.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_event.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        self.sup = sup = Supervisor(cfg, config_path=self.config_path, overrides=self.overrides)
        state.supervisor = sup
        try:
            sup.start()
        except OrphanWorkersError as exc:
            print(f"agenttrace-collector: {exc}", file=sys.stderr)
            return 2
        try:
            return await self._run(sup, state, data_dir)
        except BaseException:
            # Whatever went wrong, never leave workers behind: they only exit when told.
            log.exception("the collector failed; draining workers before exiting")
            for receiver in self.receivers:
                with contextlib.suppress(Exception):
                    receiver.stop()
            sup.drain(5.0)
            self._close_sockets()
            sup.close()
            raise

    async def _run(self, sup: Any, state: Any, data_dir: Path) -> int:
        cfg = self.cfg
        try:
            lines = self._bind(sup.rings)
            state.otlp = _otlp_ingest(cfg, sup)
            self.grpc_server, grpc_line = await _start_otlp_grpc(cfg, state.otlp)
            server, server_task, http_line = await self._start_http(state)
        except OSError as exc:
            print(f"agenttrace-collector: cannot listen: {exc}", file=sys.stderr)
            for receiver in self.receivers:
                receiver.stop()
            self._close_sockets()
            await asyncio.to_thread(sup.drain, 5.0)
            sup.close()
            return 2 if isinstance(exc, CollectorConflictError) else 1
        state.receivers = [(r.transport, r) for r in self.receivers]
        state.receivers_bound = True
        if http_line:
            lines.append(http_line)
        if grpc_line:
            lines.append(grpc_line)
        _say(f"agenttrace-collector (pid {os.getpid()})")
        for line in lines:
            _say(f"  listening {line}")
        _say(f"  storing   {data_dir}")
        _say(f"  workers   {cfg.workers}")

        maintenance = asyncio.create_task(self._maintenance())
        from agenttrace.collector.postgres import start_sink

        state.postgres = start_sink(cfg)  # [postgres] dsn: every stored span also goes there
        self.notifier = notifier = _notifier()
        ready_said = False
        watchdog_every = notifier.watchdog_interval_s if notifier is not None else None
        next_watchdog = 0.0
        while not self.stop_event.is_set():
            sup.check()
            state.history.sample(_totals(state), sup.info())
            if not ready_said and sup.all_ready():
                ready_said = True
                _say("ready")
                if notifier is not None:
                    notifier.ready(status=f"receiving on {', '.join(lines)}")
            if watchdog_every and time.monotonic() >= next_watchdog and ready_said:
                notifier.watchdog()
                next_watchdog = time.monotonic() + watchdog_every
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=1.0)

        # --- shutdown: stop receiving, drain, seal ---------------------------
        state.stopping = True
        maintenance.cancel()
        if notifier is not None:
            notifier.stopping()
        log.info("stopping: draining %d workers", len(sup.slots))
        for receiver in self.receivers:
            receiver.stop()
        if self.grpc_server is not None:
            await self.grpc_server.stop(grace=1.0)  # OTLP exporters retry elsewhere or later
        clean = await asyncio.to_thread(sup.drain, cfg.collector.shutdown_timeout_s)
        if state.postgres is not None:  # send what the drain sealed; the rest waits in the WAL
            await asyncio.to_thread(state.postgres.stop, 3.0)
        totals = _totals(state)
        state.history.sample(totals, sup.info())
        if server is not None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server_task, timeout=3.0)
        self._close_sockets()
        sup.close()
        state.supervisor = None
        _say(
            f"stopped: {totals.spans_stored} spans stored, {totals.dropped} datagrams dropped, "
            f"{totals.lost} lost{'' if clean else ' (a worker had to be killed; its WAL is replayed next start)'}"
        )
        return 0 if clean else 1

    def _bind(self, rings: list[Any]) -> list[str]:
        from agenttrace._native import load
        from agenttrace.collector.sockets import open_udp_sockets, open_unix_socket, rcvbuf_warning

        cfg = self.cfg
        recv_mod = load("recv")
        receiver_cls = recv_mod.Receiver
        # One sequence table for every socket: a sender is known by its id, not its address.
        senders = recv_mod.SenderTable()
        rcvbuf = cfg.receive.rcvbuf_bytes
        lines: list[str] = []
        warned = False
        for host, port in cfg.udp_addresses:
            socks = open_udp_sockets(host, port, cfg.udp_sockets, rcvbuf)
            self.sockets.extend(socks)
            bound = socks[0].getsockname()
            shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            lines.append(f"udp://{shown}:{bound[1]} ({len(socks)} sockets)")
            for sock in socks:
                self.receivers.append(
                    receiver_cls(sock.fileno(), rings, "udp", senders=senders, allow=cfg.allow_networks)
                )
            warning = rcvbuf_warning(socks[0], rcvbuf)
            if warning and not warned:
                warned = True
                print(f"agenttrace-collector: warning: {warning}", file=sys.stderr, flush=True)
        path = cfg.unix_path
        if path is not None:
            sock = open_unix_socket(path, rcvbuf)
            self.sockets.append(sock)
            self.unix_path = path
            self.unix_inode = os.stat(path).st_ino  # unlinked at exit only while still ours
            lines.append(f"unix://{path}")
            self.receivers.append(receiver_cls(sock.fileno(), rings, "unix", senders=senders))
            warning = rcvbuf_warning(sock, rcvbuf)
            if warning and not warned:
                print(f"agenttrace-collector: warning: {warning}", file=sys.stderr, flush=True)
        exposure = cfg.exposure_warning()
        if exposure:
            self.state.history.warnings.append(exposure)
            print(f"agenttrace-collector: warning: {exposure}", file=sys.stderr, flush=True)
        for receiver in self.receivers:
            receiver.start()
        return lines

    async def _start_http(self, state: Any) -> tuple[Any, Any, str]:
        addr = self.cfg.http_address
        if addr is None:
            return None, None, ""
        import uvicorn

        from agenttrace.collector.http import create_app

        # run() refused to start without a key on a non-loopback address (require_api_key).
        api_key = self.cfg.api.api_key or None
        # Bound (and listening) before anything else started: see serve().
        sock = self._http_sock
        family = sock.family
        from agenttrace.collector.postgres import api_engine

        app = create_app(
            state, api_key=api_key, metrics_require_key=self.cfg.api.metrics_require_key,
            query_engine=api_engine(self.cfg),
        )  # fmt: skip
        config = uvicorn.Config(
            app,
            lifespan="off",
            access_log=False,
            log_config=None,
            log_level=self.cfg.collector.log_level,
            timeout_graceful_shutdown=2,
        )
        server = _server_class()(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        bound = sock.getsockname()
        shown = f"[{bound[0]}]" if family == socket.AF_INET6 else bound[0]
        return server, task, f"http://{shown}:{bound[1]}"

    async def _maintenance(self) -> None:
        """Compaction and retention, off the event loop, every ``maintenance_interval_s``."""
        store = self.cfg.store
        if store.maintenance_interval_s <= 0:
            return
        while True:
            await asyncio.sleep(store.maintenance_interval_s)
            try:
                await asyncio.to_thread(run_maintenance, str(self.cfg.data_dir), self.cfg)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("store maintenance failed; will try again")

    def _reload(self) -> None:
        try:
            cfg = load_config(self.config_path, overrides=self.overrides)
        except ConfigError as exc:
            log.error("SIGHUP: configuration not reloaded: %s", exc)
            return
        configure_logging(cfg)
        for name in ("udp_addresses", "unix_path", "http_address", "workers", "data_dir"):
            if getattr(cfg, name) != getattr(self.cfg, name):
                log.warning("SIGHUP: %s changed; restart the collector to apply it", name)
        notifier = self.notifier
        if notifier is not None:
            notifier.reloading()
        self.sup.reload()
        log.info("SIGHUP: log reopened, configuration reloaded")
        if notifier is not None:
            notifier.ready()

    def _close_sockets(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self.sockets.clear()
        path = self.unix_path
        if path is not None:
            # Only the socket file this collector bound: never one that replaced it since.
            with contextlib.suppress(OSError):
                if os.lstat(path).st_ino == self.unix_inode:
                    path.unlink()


def _claim(cfg: CollectorConfig) -> Any:
    """Lock the data directory, then check that no other socket holds an address to
    listen on; raises :class:`CollectorConflictError` having touched nothing."""
    from agenttrace.collector.instance import DataDirLock
    from agenttrace.collector.sockets import ensure_udp_free, ensure_unix_free
    from agenttrace.paths import ensure_runtime_dir

    # Workers of a killed collector drain their rings within about a shutdown timeout.
    lock = DataDirLock.acquire(cfg.data_dir, workers_wait_s=cfg.collector.shutdown_timeout_s)
    try:
        for host, port in cfg.udp_addresses:
            ensure_udp_free(host, port)
        if cfg.unix_path is not None:
            ensure_runtime_dir(cfg.unix_path.parent)
            ensure_unix_free(cfg.unix_path)
    except BaseException:
        lock.release()
        raise
    return lock


def _bind_http(addr: tuple[str, int] | None) -> socket.socket | None:
    """Bind and listen on the HTTP address now, so a port in use stops the start
    before a worker runs or a datagram socket is bound."""
    if addr is None:
        return None
    from agenttrace.errors import AddressInUseError

    host, port = addr
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(512)
    except OSError as exc:
        sock.close()
        shown = f"http://[{host}]:{port}" if family == socket.AF_INET6 else f"http://{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUseError(shown) from None
        raise OSError(exc.errno, f"{shown}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def run_maintenance(data_dir: str, cfg: CollectorConfig) -> None:
    """One compaction + retention pass over ``data_dir`` (what the collector runs periodically)."""
    from agenttrace.store.compaction import compact

    stats = compact(data_dir)
    log.debug("compaction: %s", stats)
    store = cfg.store
    if store.retention_days > 0:
        from agenttrace.store.retention import apply_retention

        kept = apply_retention(data_dir, max_age_s=store.retention_days * 86400)
        if kept.deleted_segments:
            log.info("retention: deleted %d segments (%d bytes)", kept.deleted_segments, kept.deleted_bytes)


def _otlp_ingest(cfg: CollectorConfig, sup: Any) -> Any:
    """The OTLP ingest the HTTP routes and the gRPC server share (pushes into ``sup``'s rings)."""
    from agenttrace.ingest.otlp.ingest import OtlpIngest

    return OtlpIngest.from_config(cfg, lambda: sup.rings)


async def _start_otlp_grpc(cfg: CollectorConfig, ingest: Any) -> tuple[Any, str]:
    addr = cfg.otlp_grpc_address
    if addr is None or ingest is None:
        return None, ""
    from agenttrace.collector.config import OtlpSection
    from agenttrace.ingest.otlp.grpc import start_grpc_server

    try:
        server, port = await start_grpc_server(ingest, *addr)
    except OSError as exc:
        if cfg.otlp.grpc != OtlpSection().grpc:
            raise  # asked for by name: not listening there is an error
        # The default port taken (another collector, an OpenTelemetry Collector): the
        # datagram and OTLP/HTTP paths still work, so say it and go on.
        print(f"agenttrace-collector: warning: OTLP/gRPC is off: {exc}", file=sys.stderr, flush=True)
        return None, ""
    shown = f"[{addr[0]}]" if ":" in addr[0] else addr[0]
    return server, f"otlp-grpc://{shown}:{port}"


def _totals(state: Any) -> Any:
    from agenttrace.collector.metrics import read_totals

    return read_totals(state)


def _notifier() -> Notifier | None:
    notifier = Notifier.from_environ()
    return notifier if notifier.enabled else None


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn without its own signal handlers: the collector owns shutdown."""

        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[override]
            yield

    return Server


if __name__ == "__main__":
    main()
