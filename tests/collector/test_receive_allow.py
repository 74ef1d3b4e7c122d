"""``[receive] allow``: UDP datagrams from elsewhere are dropped and counted (issue 20)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from collector_helpers import datagrams

from agenttrace.collector.config import load_config
from agenttrace.errors import ConfigError

NOT_ALLOWED = 'agenttrace_datagrams_dropped_total{reason="not_allowed"}'
RECEIVED_UDP = 'agenttrace_datagrams_received_total{transport="udp"}'
STORED = "agenttrace_spans_stored_total"


def test_loopback_traffic_outside_the_allow_list_is_dropped_and_counted(start_collector):
    c = start_collector("--workers", "1", config='[receive]\nallow = ["10.0.0.0/8"]\n')
    c.send_udp(datagrams(30, 3, sender_id=41))  # 10 datagrams from 127.0.0.1
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        for d in datagrams(4, 2, sender_id=42):  # Unix datagrams are local: always allowed
            unix.sendto(d, str(c.unix_path))
    finally:
        unix.close()
    m = c.wait_for(lambda m: m.get(NOT_ALLOWED) == 10 and m.get(STORED) == 4)
    assert m[RECEIVED_UDP] == 10
    assert m["agenttrace_datagrams_lost_total"] == 0
    c.wait_live(lambda live: live["dropped_by_reason"].get("not_allowed") == 10)
    assert c.stop() == 0


def test_a_non_loopback_address_without_an_allow_list_warns_at_start_and_in_status(start_collector):
    c = start_collector("--workers", "1", "--udp", "0.0.0.0:0")
    warning = c.live()["warnings"]
    assert len(warning) == 1 and "0.0.0.0:0" in warning[0] and "[receive] allow" in warning[0]
    status = subprocess.run(
        [sys.executable, "-m", "agenttrace.cli", "status", "--url", c.http, "--data-dir", str(c.data_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert "warning:" in status.stdout and "[receive] allow" in status.stdout, status.stdout
    assert c.stop() == 0
    assert "warning: receiving UDP on 0.0.0.0:0 (not loopback)" in c.output()


def test_a_configured_allow_list_silences_the_warning():
    cfg = load_config(
        environ={"AGENTTRACE_RECEIVE_ALLOW": "10.0.0.0/8, 127.0.0.1"}, overrides={"receive.udp": "0.0.0.0:4319"}
    )
    assert cfg.receive.allow == ["10.0.0.0/8", "127.0.0.1"]
    assert cfg.exposure_warning() is None
    assert load_config(environ={}, overrides={"receive.udp": "0.0.0.0:4319"}).exposure_warning() is not None


@pytest.mark.parametrize("allow", ['["10.0.0.0/33"]', '["not-a-net"]', "[]"])
def test_a_bad_allow_list_names_the_key(tmp_path, allow):
    path = tmp_path / "c.toml"
    path.write_text(f"[receive]\nallow = {allow}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.key.startswith("receive.allow")
