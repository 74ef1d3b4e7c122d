"""Under systemd (Type=notify, WatchdogSec=) the collector says READY=1 once its receivers
are bound and its workers run, pings WATCHDOG=1 while healthy, and says STOPPING=1 on
SIGTERM. The test plays systemd: it binds the NOTIFY_SOCKET datagram socket and reads."""

from __future__ import annotations

import signal
import socket
import time


def _messages(sock: socket.socket, until: float) -> list[str]:
    got: list[str] = []
    while time.monotonic() < until:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return got


def test_ready_watchdog_and_stopping_reach_systemd(start_collector, tmp_path):
    notify_path = tmp_path / "notify.sock"
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(notify_path))
    systemd.settimeout(0.2)
    # WATCHDOG_USEC=2 s: the collector must ping every second (half the timeout).
    collector = start_collector(env={"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "2000000"})
    pid = collector.proc.pid

    first = _messages(systemd, time.monotonic() + 4.5)
    ready = [m for m in first if m.startswith("READY=1")]
    assert len(ready) == 1, first
    assert f"MAINPID={pid}" in ready[0].splitlines()
    assert any(line.startswith("STATUS=receiving on udp://") for line in ready[0].splitlines())
    assert first.index(ready[0]) == 0  # nothing before readiness
    assert first.count("WATCHDOG=1") >= 2, first  # ~4 s at one ping per second

    collector.proc.send_signal(signal.SIGTERM)
    assert collector.proc.wait(30) == 0
    after = _messages(systemd, time.monotonic() + 0.5)
    assert "STOPPING=1" in after, after
    systemd.close()
