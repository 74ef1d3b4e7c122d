"""sd_notify: the messages systemd reads, over a real datagram socket."""

from __future__ import annotations

import os
import socket

from agenttrace.collector.sdnotify import Notifier


def _listener(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    return sock, path


def test_ready_watchdog_and_stopping_reach_the_socket(tmp_path):
    sock, path = _listener(tmp_path)
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000"})
    assert notifier.enabled and notifier.watchdog_interval_s == 15.0
    assert notifier.ready(status="listening")
    ready = sock.recv(4096).decode().splitlines()
    assert ready[0] == "READY=1" and f"MAINPID={os.getpid()}" in ready and "STATUS=listening" in ready
    assert notifier.watchdog() and sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping() and sock.recv(4096) == b"STOPPING=1"
    notifier.close()


def test_abstract_namespace_address(tmp_path):
    name = f"agenttrace-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": "@" + name})
    assert notifier.ready()
    assert sock.recv(4096).startswith(b"READY=1")


def test_outside_systemd_every_call_is_a_no_op():
    notifier = Notifier.from_environ({})
    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None
    assert notifier.ready() is False and notifier.watchdog() is False


def test_watchdog_meant_for_another_pid_is_ignored():
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert notifier.watchdog_interval_s is None


def test_a_vanished_socket_is_counted_not_raised(tmp_path):
    notifier = Notifier(str(tmp_path / "gone.sock"))
    assert notifier.ready() is False
    assert notifier.errors == 1
