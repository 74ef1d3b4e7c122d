"""One collector per data directory, and a start that fails harms nothing of another's.

Every test runs a real collector and a real second one against it (issue 20)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from collector_helpers import datagrams

from agenttrace.wire import encode

STORED = "agenttrace_spans_stored_total"
RECEIVED_UDP = 'agenttrace_datagrams_received_total{transport="udp"}'
RECEIVED_UNIX = 'agenttrace_datagrams_received_total{transport="unix"}'


def second(*args: str, data_dir: Path, unix: str | Path = "off", udp: str = "127.0.0.1:0", http: str = "127.0.0.1:0"):
    """Run a second collector to its exit (it must not start) and return the result."""
    return subprocess.run(
        [sys.executable, "-m", "agenttrace.collector.main", "--data-dir", str(data_dir),
         "--udp", udp, "--unix", str(unix), "--http", http, "--workers", "1", *args],
        capture_output=True, text=True, timeout=60,
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
    c.wait_for(lambda m: m.get(RECEIVED_UDP) == want_udp and m.get(RECEIVED_UNIX) == want_unix)


def test_a_second_collector_on_the_same_everything_exits_2_and_harms_nothing(start_collector, tmp_path):
    # The report: same data directory, UDP port, Unix socket and HTTP port.
    c = start_collector("--workers", "1")
    udp = f"{c.udp[0]}:{c.udp[1]}"
    http = c.http.removeprefix("http://")
    out = second(data_dir=c.data_dir, unix=c.unix_path, udp=udp, http=http)
    assert out.returncode == 2, out.stderr
    assert str(c.data_dir) in out.stderr and f"pid {c.proc.pid}" in out.stderr, out.stderr
    assert c.unix_path.is_socket(), "the running collector's Unix socket was removed"
    everything_reaches_the_first(c)
    assert c.stop() == 0


def test_the_same_data_directory_is_refused_whatever_the_addresses(start_collector):
    c = start_collector("--workers", "1")
    wal_before = sorted(p.name for p in c.data_dir.rglob("*"))
    out = second(data_dir=c.data_dir)
    assert out.returncode == 2, out.stderr
    assert f"the data directory {c.data_dir} is in use by another collector (pid {c.proc.pid})" in out.stderr
    assert sorted(p.name for p in c.data_dir.rglob("*")) == wal_before
    assert (c.data_dir / "collector.lock").read_text().strip() == str(c.proc.pid)
    assert c.stop() == 0


def test_a_udp_address_held_by_another_collector_is_refused_and_named(start_collector, tmp_path):
    c = start_collector("--workers", "1")
    udp = f"{c.udp[0]}:{c.udp[1]}"
    out = second(data_dir=tmp_path / "other", udp=udp)
    assert out.returncode == 2, out.stderr
    assert f"address in use: udp://{udp}" in out.stderr, out.stderr
    # Nothing joined the SO_REUSEPORT group: the first collector receives every datagram.
    everything_reaches_the_first(c, n_udp=200, n_unix=1)
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


def test_a_live_unix_socket_of_another_collector_is_refused_and_kept(start_collector, tmp_path):
    c = start_collector("--workers", "1")
    inode = c.unix_path.stat().st_ino
    out = second(data_dir=tmp_path / "other", unix=c.unix_path)
    assert out.returncode == 2, out.stderr
    assert f"address in use: unix://{c.unix_path}" in out.stderr, out.stderr
    assert c.unix_path.stat().st_ino == inode
    everything_reaches_the_first(c, n_udp=1, n_unix=20)
    assert c.stop() == 0


def test_a_failed_http_bind_leaves_the_other_collectors_unix_socket(start_collector, tmp_path):
    # Different data directory, same Unix socket path: the socket is found live and kept;
    # and with a free Unix path but the HTTP port taken, nothing is bound at all.
    c = start_collector("--workers", "1")
    http = c.http.removeprefix("http://")
    out = second(data_dir=tmp_path / "other", unix=tmp_path / "own.sock", http=http)
    assert out.returncode == 2, out.stderr
    assert f"address in use: http://{http}" in out.stderr, out.stderr
    assert not (tmp_path / "own.sock").exists(), "bound a socket before checking the HTTP port"
    assert c.unix_path.is_socket()
    everything_reaches_the_first(c, n_udp=1, n_unix=3)
    assert c.stop() == 0


def test_the_lock_is_released_by_a_clean_stop_and_by_a_crash(start_collector, tmp_path):
    c = start_collector("--workers", "1")
    assert c.stop() == 0
    d = start_collector("--workers", "1", "--data-dir", str(c.data_dir))
    assert (c.data_dir / "collector.lock").read_text().strip() == str(d.proc.pid)
    os.kill(d.proc.pid, signal.SIGKILL)  # the kernel drops a flock with its holder
    d.proc.wait(10)
    e = start_collector("--workers", "1", "--data-dir", str(c.data_dir), "--unix", str(d.unix_path))
    # A stale socket file (its collector died) is replaced, not refused.
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    unix.sendto(encode([], sender_id=5, seq=0), str(d.unix_path))
    unix.close()
    e.wait_for(lambda m: m.get(RECEIVED_UNIX) == 1)
    assert e.stop() == 0
