"""kill -9 of the whole collector: what reached a ring is stored at the next start, and
/dev/shm keeps nothing once that start stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from collector_helpers import datagrams, stored_spans

from agenttrace.collector import shm
from agenttrace.wire import decode

RECEIVED = 'agenttrace_datagrams_received_total{transport="udp"}'


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kill_everything(c) -> None:
    """SIGKILL the main process, its workers and its resource tracker, at once."""
    victims = [c.proc.pid, *_descendants(c.proc.pid)]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    c.proc.wait(10)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() and "Z" not in _state(p) for p in victims):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "Z"


def _ours(data_dir: Path) -> list[str]:
    return sorted(n for n in os.listdir("/dev/shm") if n.startswith(shm.prefix(data_dir)))


def test_kill_9_of_everything_keeps_what_reached_the_rings(start_collector):
    c = start_collector("--workers", "2")
    data_dir = c.data_dir
    # Workers that do not run: everything sent stays in the rings.
    workers = c.worker_pids()
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    sent = datagrams(600, 5, sender_id=77)
    c.send_udp(sent)
    m = c.wait_for(lambda m: m.get(RECEIVED) == len(sent))
    assert m.get("agenttrace_spans_stored_total", 0) == 0
    assert sum(v for k, v in m.items() if k.startswith("agenttrace_datagrams_dropped")) == 0

    _kill_everything(c)
    assert _ours(data_dir), "the rings did not outlive the collector"

    again = start_collector("--workers", "2", "--data-dir", str(data_dir))
    again.wait_for(lambda m: m.get("agenttrace_spans_stored_total") == 600)
    assert again.stop() == 0
    assert _ours(data_dir) == []
    expected = sorted(s.span_id for d in sent for s in decode(d).spans)
    assert sorted(s.span_id for s in stored_spans(data_dir)) == expected


def test_a_restart_with_fewer_workers_drains_the_extra_rings(start_collector):
    c = start_collector("--workers", "3")
    data_dir = c.data_dir
    for pid in c.worker_pids():
        os.kill(pid, signal.SIGSTOP)
    sent = datagrams(300, 3, sender_id=78)
    c.send_udp(sent)
    c.wait_for(lambda m: m.get(RECEIVED) == len(sent))
    _kill_everything(c)
    assert len(_ours(data_dir)) == 6  # three rings, three counter blocks

    again = start_collector("--workers", "1", "--data-dir", str(data_dir))
    again.wait_for(lambda m: m.get("agenttrace_spans_stored_total") == 300)
    assert again.stop() == 0
    assert _ours(data_dir) == []
    assert len(stored_spans(data_dir)) == 300


def test_a_clean_stop_leaves_no_shared_memory(start_collector):
    c = start_collector("--workers", "2")
    assert len(_ours(c.data_dir)) == 4
    c.send_udp(datagrams(10, 5, sender_id=79))
    c.wait_for(lambda m: m.get("agenttrace_spans_stored_total") == 10)
    assert c.stop() == 0
    assert _ours(c.data_dir) == []


def test_workers_of_a_dead_collector_finish_before_the_next_one_takes_their_rings(start_collector, tmp_path):
    quick = "[collector]\nshutdown_timeout_s = 1\n"
    c = start_collector("--workers", "1", config=quick)
    data_dir = c.data_dir
    (worker,) = c.worker_pids()
    os.kill(worker, signal.SIGSTOP)
    sent = datagrams(100, 5, sender_id=80)
    c.send_udp(sent)
    c.wait_for(lambda m: m.get(RECEIVED) == len(sent))
    c.proc.kill()  # the main process only: its worker lives on (stopped)
    c.proc.wait(10)
    try:
        # A second consumer on the worker's ring would tear it: refused, naming the pid.
        cfg = tmp_path / "quick.toml"
        cfg.write_text(quick)
        refused = subprocess.run(
            [sys.executable, "-m", "agenttrace.collector.main", "--data-dir", str(data_dir), "--udp", "127.0.0.1:0",
             "--http", "off", "--unix", "off", "--workers", "1", "--config", str(cfg)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert refused.returncode == 2, refused.stderr
        assert str(worker) in refused.stderr and str(data_dir) in refused.stderr
    finally:
        os.kill(worker, signal.SIGCONT)  # an orphan empties its ring, then exits
    deadline = time.monotonic() + 30
    while _state(worker) not in ("Z", "X") and Path(f"/proc/{worker}").exists():
        assert time.monotonic() < deadline, "the orphaned worker did not exit"
        time.sleep(0.1)
    again = start_collector("--workers", "1", "--data-dir", str(data_dir))
    assert again.stop() == 0
    assert _ours(data_dir) == []
    assert len(stored_spans(data_dir)) == 100
