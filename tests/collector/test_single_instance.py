"""One collector per data directory, and a start that fails harms nothing of another's.

Every test runs a real collector and a real second one against it (issue 20)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from collector_helpers import datagrams

from agenttrace.collector.instance import DataDirLock
from agenttrace.wire import encode

STORED = "agenttrace_spans_stored_total"
RECEIVED_UDP = 'agenttrace_datagrams_received_total{transport="udp"}'
RECEIVED_UNIX = 'agenttrace_datagrams_received_total{transport="unix"}'


def second(
    *args: str,
    data_dir: Path,
    unix: str | Path = "off",
    udp: str = "127.0.0.1:0",
    http: str = "127.0.0.1:0",
    env: dict[str, str] | None = None,
):
    """Run a second collector to its exit (it must not start) and return the result."""
    return subprocess.run(
        [sys.executable, "-m", "agenttrace.collector.main", "--data-dir", str(data_dir),
         "--udp", udp, "--unix", str(unix), "--http", http, "--workers", "1", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip


def everything_reaches_the_first(c, n_udp: int = 40, n_unix: int = 5) -> None:
    """All UDP and Unix traffic after the second collector's attempt reaches the first."""
    before = c.metrics()
    sent = datagrams(n_udp * 2, 2, sender_id=9001)
    c.send_udp(sent)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        for d in datagrams(n_unix, 1, sender_id=9002):
            unix.sendto(d, str(c.unix_path))
    finally:
        unix.close()
    want_udp = before.get(RECEIVED_UDP, 0) + n_udp
    want_unix = before.get(RECEIVED_UNIX, 0) + n_unix
    m = c.wait_for(lambda m: m.get(RECEIVED_UDP) == want_udp and m.get(RECEIVED_UNIX) == want_unix)
    assert m['agenttrace_datagrams_dropped_total{reason="not_allowed"}'] == 0  # the default allows loopback


def test_a_second_collector_on_the_same_everything_exits_2_and_harms_nothing(start_collector):
    # The report: same data directory, UDP port, Unix socket and HTTP port.
    c = start_collector("--workers", "1")
    files_before = sorted(p.name for p in c.data_dir.rglob("*"))
    udp = f"{c.udp[0]}:{c.udp[1]}"
    http = c.http.removeprefix("http://")
    out = second(data_dir=c.data_dir, unix=c.unix_path, udp=udp, http=http)
    assert out.returncode == 2, out.stderr
    assert f"the data directory {c.data_dir} is in use by another collector (pid {c.proc.pid})" in out.stderr
    assert c.unix_path.is_socket(), "the running collector's Unix socket was removed"
    assert sorted(p.name for p in c.data_dir.rglob("*")) == files_before
    assert (c.data_dir / "collector.lock").read_text().strip() == str(c.proc.pid)
    everything_reaches_the_first(c)
    assert c.stop() == 0


def test_each_address_another_collector_holds_is_refused_and_named(start_collector, tmp_path):
    c = start_collector("--workers", "1")
    inode = c.unix_path.stat().st_ino
    udp = f"{c.udp[0]}:{c.udp[1]}"
    http = c.http.removeprefix("http://")
    # Other data directories each time: only the address is in the way.
    out = second(data_dir=tmp_path / "other1", udp=udp)
    assert out.returncode == 2, out.stderr
    assert f"address in use: udp://{udp}" in out.stderr, out.stderr
    out = second(data_dir=tmp_path / "other2", unix=c.unix_path)
    assert out.returncode == 2, out.stderr
    assert f"address in use: unix://{c.unix_path}" in out.stderr, out.stderr
    out = second(data_dir=tmp_path / "other3", unix=tmp_path / "own.sock", http=http)
    assert out.returncode == 2, out.stderr
    assert f"address in use: http://{http}" in out.stderr, out.stderr
    assert not (tmp_path / "own.sock").exists(), "bound a socket before checking the HTTP port"
    assert c.unix_path.stat().st_ino == inode
    # Nothing joined the SO_REUSEPORT group: the first collector receives every datagram.
    everything_reaches_the_first(c, n_udp=200, n_unix=20)
    assert c.stop() == 0


def test_a_udp_address_held_by_any_socket_is_refused(tmp_path):
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as a collector's would be
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        out = second(data_dir=tmp_path / "d", udp=f"127.0.0.1:{port}")
    finally:
        taken.close()
    assert out.returncode == 2
    assert f"address in use: udp://127.0.0.1:{port}" in out.stderr, out.stderr


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return any(line.startswith("State:\tZ") for line in fh)  # exited, not yet reaped
    except FileNotFoundError:
        return True


def test_workers_of_a_killed_collector_keep_the_directory_until_they_exit(start_collector):
    c = start_collector("--workers", "1")
    worker = c.worker_pids()[0]
    os.kill(worker, signal.SIGSTOP)  # a worker still busy with its ring
    try:
        os.kill(c.proc.pid, signal.SIGKILL)
        c.proc.wait(10)
        out = second(data_dir=c.data_dir, env={"AGENTTRACE_COLLECTOR_SHUTDOWN_TIMEOUT_S": "0.5"})
        assert out.returncode == 2, out.stderr
        assert f"worker processes of a previous collector still write to the data directory {c.data_dir}" in out.stderr
    finally:
        os.kill(worker, signal.SIGCONT)  # it sees its parent gone, drains its ring and exits
    deadline = time.monotonic() + 30
    while not _gone(worker):
        assert time.monotonic() < deadline, "the orphaned worker did not exit"
        time.sleep(0.05)
    # The kernel dropped the dead collector's flock; its stale socket file is replaced.
    d = start_collector("--workers", "1", "--data-dir", str(c.data_dir), "--unix", str(c.unix_path))
    assert (c.data_dir / "collector.lock").read_text().strip() == str(d.proc.pid)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    unix.sendto(encode([], sender_id=5, seq=0), str(c.unix_path))
    unix.close()
    d.wait_for(lambda m: m.get(RECEIVED_UNIX) == 1)
    assert d.stop() == 0
    # A clean stop lets go too (and removes only its own socket file).
    DataDirLock.acquire(c.data_dir, workers_wait_s=0).release()
    assert not c.unix_path.exists()
