"""The collector as users run it: a real process, real sockets, real files."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from collector_helpers import datagrams, make_spans, stored_spans

from agenttrace.wire import encode

STORED = "agenttrace_spans_stored_total"
RECEIVED = 'agenttrace_datagrams_received_total{transport="udp"}'


def dropped(m: dict[str, float], reason: str) -> float:
    return m.get(f'agenttrace_datagrams_dropped_total{{reason="{reason}"}}', 0.0)


def test_spans_sent_are_stored_counted_and_shown(start_collector):
    c = start_collector()
    status, body = c.get("/healthz")
    assert status == 200
    status, body = c.get("/readyz")
    assert status == 200, body

    sent = datagrams(500, 25, sender_id=11)  # 20 datagrams over UDP
    c.send_udp(sent)
    unix_spans = make_spans(7, service="over-unix", kind="tool", status=2)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(encode(unix_spans, sender_id=12, seq=0), str(c.unix_path))
    spans_llm = 'agenttrace_spans_total{kind="llm",model="gpt-4o",service="svc",status="ok"}'
    spans_tool = 'agenttrace_spans_total{kind="tool",model="gpt-4o",service="over-unix",status="error"}'
    m = c.wait_for(lambda m: m.get(STORED) == 507 and m.get(spans_llm, 0) + m.get(spans_tool, 0) == 507)
    assert m[RECEIVED] == 20
    assert m['agenttrace_datagrams_received_total{transport="unix"}'] == 1
    assert m[spans_llm] == 500
    assert m[spans_tool] == 7
    assert m['agenttrace_tokens_total{model="gpt-4o",service="svc",type="input"}'] == 500 * 100
    assert m['agenttrace_span_duration_seconds_count{kind="llm"}'] == 500
    assert m["agenttrace_datagrams_lost_total"] == 0

    live = c.wait_live(lambda live: live["stored_total"] == 507)
    assert live["errors_per_s_by_kind"].keys() == {"tool"}
    assert live["received_total"] == 21
    assert len(live["workers"]) == 2 and all(w["alive"] for w in live["workers"])

    # The query API is mounted on the same app and answers from the store once sealed.
    trace = unix_spans[0]
    deadline = time.monotonic() + 20
    while (found := c.get(f"/api/v1/traces/{trace.trace_id.hex()}"))[0] != 200:
        assert time.monotonic() < deadline, found
        time.sleep(0.2)
    assert trace.span_id.hex().encode() in found[1]

    # SIGTERM: drained, sealed, exit 0; every span is in a sealed segment.
    assert c.stop() == 0
    assert "stopped: 507 spans stored" in c.output()
    on_disk = stored_spans(c.data_dir)
    assert sorted(s.span_id for s in on_disk) == sorted(
        [s for d in sent for s in _span_ids(d)] + [s.span_id for s in unix_spans]
    )
    assert not c.unix_path.exists()


def _span_ids(datagram: bytes) -> list[bytes]:
    from agenttrace.wire import decode

    return [s.span_id for s in decode(datagram).spans]


def test_malformed_datagrams_are_counted_by_reason_and_skipped(start_collector):
    c = start_collector("--workers", "1")
    good = datagrams(10, 10, sender_id=21)[0]
    bad = {
        "bad_magic": [b"XX" + good[2:], b"hello"],
        "unknown_version": [good[:2] + b"\x09" + good[3:]],
        "truncated": [good[:10], good[:-3]],
        "bad_payload": [good[:20] + b"\xc1\xc1", good[:4] + b"\x07\x00" + good[6:]],  # bad msgpack; wrong count
    }
    sock = c.udp_socket()
    c.send_udp([d for ds in bad.values() for d in ds] + [good], sock)
    m = c.wait_for(lambda m: m.get(STORED) == 10)
    for reason, ds in bad.items():
        assert dropped(m, reason) == len(ds), reason
    assert m[RECEIVED] == 8


def test_kill_9_worker_under_load_loses_nothing_accepted(start_collector):
    c = start_collector("--workers", "2")
    sock = c.udp_socket()
    sender = 31
    seq = 0
    total_spans = 0
    victim = c.worker_pids()[0]
    t_end = time.monotonic() + 1.5
    killed = False
    while time.monotonic() < t_end:
        batch = make_spans(20)
        sock.sendto(encode(batch, sender_id=sender, seq=seq), c.udp)
        seq += 1
        total_spans += len(batch)
        if not killed and time.monotonic() > t_end - 1.0:
            os.kill(victim, signal.SIGKILL)
            killed = True
        if seq % 20 == 0:
            time.sleep(0.005)
    # A last datagram after a pause closes any gap the kernel made (a starved machine
    # can overflow the socket buffer; that is loss, counted, not the worker's doing).
    time.sleep(0.3)
    sock.sendto(encode(make_spans(20), sender_id=sender, seq=seq), c.udp)
    total_spans += 20

    def accounted(m):
        return m.get(STORED, 0) + 20 * (
            sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_dropped"))
            + m["agenttrace_datagrams_lost_total"]
        )

    m = c.wait_for(
        lambda m: accounted(m) >= total_spans and m.get('agenttrace_worker_restarts_total{worker="0"}', 0) == 1,
        timeout=40,
    )
    assert m['agenttrace_worker_restarts_total{worker="0"}'] == 1
    assert m["agenttrace_workers_running"] == 2
    crash = dropped(m, "worker_crash")
    # Every datagram is stored or counted, exactly; only datagrams popped by the killed
    # worker and not yet in its WAL may be missing, at most one batch.
    assert accounted(m) == total_spans
    assert m[STORED] + 20 * (crash + m["agenttrace_datagrams_lost_total"]) == total_spans
    assert crash <= 256
    new_pid = c.worker_pids()[0]
    assert new_pid != victim
    assert c.stop() == 0
    assert len(stored_spans(c.data_dir)) == m[STORED]


def test_overload_every_datagram_is_stored_dropped_or_lost(start_collector):
    # One worker and the smallest ring, blasted from one sender: the ring fills (drops)
    # and the kernel buffer overflows (sequence gaps -> lost).
    c = start_collector("--workers", "1", config="[collector]\nring_bytes = 1048576\n[receive]\nrcvbuf_bytes = 65536\n")
    sock = c.udp_socket()
    payload = make_spans(5)
    n = 30_000
    for seq in range(n):
        sock.sendto(encode(payload, sender_id=41, seq=seq), c.udp)
    time.sleep(0.5)
    # A last datagram after a pause arrives, closing any gap at the end of the blast.
    sock.sendto(encode(payload, sender_id=41, seq=n), c.udp)
    sent = n + 1

    def settled(m):
        return m.get(RECEIVED, 0) + m["agenttrace_datagrams_lost_total"] == sent and m.get(
            "agenttrace_datagrams_stored_total", 0
        ) + sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_dropped")) == m.get(RECEIVED, 0)

    m = c.wait_for(settled, timeout=60)
    stored = m["agenttrace_datagrams_stored_total"]
    drops = sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_dropped"))
    assert stored + drops + m["agenttrace_datagrams_lost_total"] == sent
    assert drops + m["agenttrace_datagrams_lost_total"] > 0, "the blast did not overload the collector"
    assert m[STORED] == 5 * stored


PRICED = """
[collector]
log_file = "{log}"
[pricing.overrides."in-house-model"]
input = {price}
output = 0
"""


def test_sighup_reopens_the_log_and_reloads_prices(start_collector, tmp_path):
    log_file = tmp_path / "collector.log"
    c = start_collector(config=PRICED.format(log=log_file, price=1_000_000))  # $1 per input token
    config_path = next(tmp_path.glob("collector*.toml"))
    cost = 'agenttrace_cost_usd_total{model="in-house-model",service="svc"}'
    c.send_udp(datagrams(1, 1, sender_id=51, model="in-house-model"))  # 100 input tokens
    assert c.wait_for(lambda m: cost in m)[cost] == 100.0

    rotated = tmp_path / "collector.log.1"
    log_file.rename(rotated)  # what logrotate does before it sends SIGHUP
    config_path.write_text(PRICED.format(log=log_file, price=2_000_000))
    c.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while not (log_file.exists() and log_file.read_text().count("reloaded") >= 3):  # main + 2 workers
        assert time.monotonic() < deadline, "SIGHUP did not reopen the log file"
        time.sleep(0.1)
    c.send_udp(datagrams(1, 1, sender_id=52, model="in-house-model"))
    assert c.wait_for(lambda m: m.get(cost) != 100.0)[cost] == 300.0  # the new price applies
    assert c.proc.poll() is None
    assert c.stop() == 0


def test_readyz_fails_while_the_store_cannot_seal_and_recovers(start_collector):
    c = start_collector("--workers", "1")
    assert c.get("/readyz")[0] == 200
    # Make sealing fail in a way permissions cannot (the tests may run as root): the
    # segments directory becomes a file.
    segments = c.data_dir / "segments"
    shutil.rmtree(segments)
    segments.write_text("in the way")
    c.send_udp(datagrams(10, 10, sender_id=61))
    deadline = time.monotonic() + 20
    while (ready := c.get("/readyz"))[0] != 503:
        assert time.monotonic() < deadline, ready
        time.sleep(0.2)
    assert b'"store_writable":false' in ready[1]
    # The spans are safe in the WAL; once the directory is back they are sealed.
    segments.unlink()
    segments.mkdir()
    deadline = time.monotonic() + 20
    while c.get("/readyz")[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert c.stop() == 0
    assert len(stored_spans(c.data_dir)) == 10


SDK_AGENT = """
import sys, agenttrace as at
at.configure(service="sdk-agent", endpoint=sys.argv[1])
for i in range(int(sys.argv[2])):
    with at.llm("chat", model="gpt-4o", provider="openai") as g:
        g.set_usage(input_tokens=10, output_tokens=2)
assert at.flush(timeout=10)
print(at.stats()["sent"])
"""


def test_spans_from_the_sdk_over_the_unix_socket_are_stored(start_collector):
    c = start_collector("--workers", "1")
    out = subprocess.run(
        [sys.executable, "-c", SDK_AGENT, f"unix://{c.unix_path}", "300"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "300"
    key = 'agenttrace_spans_total{kind="llm",model="gpt-4o",service="sdk-agent",status="unset"}'
    m = c.wait_for(lambda m: m.get(STORED) == 300 and m.get(key) == 300)
    assert m['agenttrace_tokens_total{model="gpt-4o",service="sdk-agent",type="output"}'] == 600
    assert m["agenttrace_datagrams_lost_total"] == 0
    assert c.stop() == 0
    assert len(stored_spans(c.data_dir)) == 300


def test_an_address_in_use_is_reported_and_nothing_is_left_running(tmp_path):
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        out = subprocess.run(
            [sys.executable, "-m", "agenttrace.collector.main", "--data-dir", str(tmp_path / "d"),
             "--udp", "127.0.0.1:0", "--unix", "off", "--http", f"127.0.0.1:{port}", "--workers", "1"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        taken.close()
    assert out.returncode == 2
    assert f"address in use: http://127.0.0.1:{port}" in out.stderr, out.stderr
    assert not any((tmp_path / "d").glob("wal/*")), "a worker started before the HTTP port was checked"


def test_sigterm_right_after_a_worker_died_still_stores_its_ring(start_collector):
    c = start_collector("--workers", "2")
    victim = c.worker_pids()[0]
    os.kill(victim, signal.SIGSTOP)  # its ring fills while it sleeps
    sent = datagrams(400, 10, sender_id=71)
    c.send_udp(sent)
    c.wait_for(lambda m: m.get(RECEIVED) == len(sent))
    os.kill(victim, signal.SIGKILL)
    c.proc.send_signal(signal.SIGTERM)  # before the supervisor's restart
    assert c.stop() == 0
    assert len(stored_spans(c.data_dir)) == 400
