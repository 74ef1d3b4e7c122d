"""A throwaway PostgreSQL server in a temporary directory (tests and benchmarks).

    with LocalPostgres() as pg:          # initdb + pg_ctl start on a free 127.0.0.1 port
        pg.dsn                           # postgresql://postgres@127.0.0.1:PORT/postgres
        pg.stop(mode="immediate")        # what a crash looks like to a client
        pg.start()                       # same data directory, same port

The binaries come from ``AGENTTRACE_PG_BIN`` or ``/usr/lib/postgresql/<newest>/bin``
(Debian's ``postgresql`` package) or ``pg_config --bindir``. PostgreSQL refuses to run
as root, so when we are root the server runs as the ``postgres`` user (created by the
Debian package) through ``runuser``. Nothing here is imported by the collector.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

__all__ = ["LocalPostgres", "PostgresUnavailable", "find_bindir"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, or the server would not start (the message says why)."""


def find_bindir() -> str:
    env = os.environ.get("AGENTTRACE_PG_BIN")
    if env:
        return env
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if dirs:
        return dirs[-1]
    pg_config = shutil.which("pg_config")
    if pg_config:
        return subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    raise PostgresUnavailable(
        "no PostgreSQL server binaries: install Debian's postgresql package (apt-get install postgresql) "
        "or set AGENTTRACE_PG_BIN"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    def __init__(self, *, port: int | None = None, fsync: bool = False) -> None:
        self.bindir = find_bindir()
        self.port = port or _free_port()
        self.fsync = fsync
        self.base = tempfile.mkdtemp(prefix="agenttrace-pg-")
        self.pgdata = os.path.join(self.base, "data")
        self.logfile = os.path.join(self.base, "server.log")
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                raise PostgresUnavailable("running as root and runuser is missing: cannot start PostgreSQL")
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.base, "postgres", "postgres")
        self._initdb()

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr or proc.stdout}")
        return proc

    def _initdb(self) -> None:
        self._run(
            os.path.join(self.bindir, "initdb"),
            "-D", self.pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        with open(os.path.join(self.pgdata, "postgresql.conf"), "a") as f:
            f.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.base}'\n"
                # fsync off only skips flushing the OS cache (a process crash loses nothing);
                # synchronous_commit stays on: off would lose acknowledged commits on a kill.
                f"fsync = {'on' if self.fsync else 'off'}\nsynchronous_commit = on\n"
                "full_page_writes = off\nmax_connections = 50\nshared_buffers = 128MB\n"
                "max_wal_size = 2GB\nlog_min_messages = warning\n"
            )

    def start(self, timeout: float = 60) -> None:
        try:
            self._run(
                os.path.join(self.bindir, "pg_ctl"), "-D", self.pgdata, "-l", self.logfile, "-w",
                "-t", str(int(timeout)), "start",
            )  # fmt: skip
        except PostgresUnavailable as exc:
            raise PostgresUnavailable(f"{exc}\n--- server log ---\n{self.log_tail()}") from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # pg_ctl -w waits for the socket; check TCP too
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise PostgresUnavailable(f"PostgreSQL did not listen on port {self.port}:\n{self.log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        pidfile = os.path.join(self.pgdata, "postmaster.pid")
        if os.path.exists(pidfile):
            self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.pgdata, "-m", mode, "-w", "stop")

    def log_tail(self, n: int = 40) -> str:
        try:
            with open(self.logfile) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no server log)"

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
