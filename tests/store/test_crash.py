"""Kill a real writer process with SIGKILL at random points; the store must always open
with every acknowledged span present exactly once.

AGENTTRACE_CRASH_ROUNDS (default 6) sets how many kills; the seed is fixed so a
failure replays.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

from agenttrace import wire
from agenttrace.model import Span
from agenttrace.store import SegmentReader, SegmentWriter, WriterConfig, list_segments, open_segments

CHILD = textwrap.dedent(
    """
    import sys
    from agenttrace import wire
    from agenttrace.model import Span
    from agenttrace.store import SegmentWriter, WriterConfig

    data_dir, rnd = sys.argv[1], int(sys.argv[2])
    cfg = WriterConfig(seal_rows=20, seal_age_s=0.01, wal_rotate_bytes=2000, wal_fsync="interval",
                       wal_fsync_interval_ms=5)
    w = SegmentWriter(data_dir, 0, cfg)
    w.open()
    print("ready", flush=True)
    d = 0
    while True:
        spans = [
            Span(
                trace_id=rnd.to_bytes(8, "big") + d.to_bytes(8, "big"),
                span_id=(rnd * 10**6 + d * 10 + j).to_bytes(8, "big"),
                name="step",
                start_ns=1_763_700_000_000_000_000 + d,
                end_ns=1_763_700_000_000_000_100 + d,
                service="crash",
                attributes={"d": d, "j": j},
            )
            for j in range(3)
        ]
        w.append(wire.encode(spans, sender_id=rnd, seq=d), spans)
        print(d, flush=True)  # acknowledged: append returned
        if d % 4 == 0:
            w.tick()
        d += 1
    """
)


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path):
    rounds = int(os.environ.get("AGENTTRACE_CRASH_ROUNDS", "6"))
    rng = random.Random(20261122)
    data_dir = str(tmp_path / "data")
    acked: dict[int, int] = {}  # round -> last acknowledged datagram
    for rnd in range(1, rounds + 1):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, data_dir, str(rnd)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.02, 0.4))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        lines = [ln for ln in out.split() if ln.isdigit()]
        assert lines, f"round {rnd}: the child acknowledged nothing\n{err}"
        acked[rnd] = int(lines[-1])
    # A last clean open: replays whatever the final kill left, then trims.
    with SegmentWriter(data_dir, 0, WriterConfig()) as w:
        pass
    opened = open_segments(data_dir)
    assert opened.skipped == []
    span_ids = Counter(s.span_id for r in opened.readers for s in r.read_spans())
    duplicated = [k for k, n in span_ids.items() if n > 1]
    assert duplicated == [], f"{len(duplicated)} spans stored twice"
    stored: dict[int, set[int]] = {}
    for sid in span_ids:
        v = int.from_bytes(sid, "big")
        stored.setdefault(v // 10**6, set()).add(v % 10**6 // 10)
    for rnd, last in acked.items():
        got = stored.get(rnd, set())
        missing = set(range(last + 1)) - got
        assert not missing, f"round {rnd}: acknowledged datagrams lost: {sorted(missing)[:10]}"
        # At most the one datagram in flight when the kill landed may be there too.
        assert got <= set(range(last + 2)), f"round {rnd}: spans never sent appeared"
    # Every datagram is whole: all three spans or none.
    per_datagram = Counter((int.from_bytes(s, "big") // 10) for s in span_ids)
    assert set(per_datagram.values()) == {3}
    assert w.stats.errors == 0


def make_span(i: int) -> Span:
    return Span(trace_id=b"t" * 16, span_id=i.to_bytes(8, "big"), name="s", start_ns=10**18 + i, end_ns=10**18 + i + 5)


def datagram(spans: list[Span]) -> bytes:
    return wire.encode(spans, sender_id=1, seq=0)


class Crash(BaseException):
    """Stands for the process dying at this exact point."""


@pytest.mark.parametrize(
    ("target", "nth"),
    [
        ("os.rename", 1),  # segment written and fsynced as *.tmp, not renamed
        ("agenttrace.store.layout.fsync_dir", 1),  # new day directory made, nothing written
        ("agenttrace.store.layout.fsync_dir", 2),  # renamed, directory not yet synced
        ("os.replace", 1),  # sealed; WAL rotation about to swap in the empty log
        ("agenttrace.store.wal.fsync_dir", 1),  # WAL swapped, directory not yet synced
    ],
)
def test_a_crash_at_each_step_of_seal_and_rotate_stores_each_span_once(tmp_path, monkeypatch, target, nth):
    import importlib

    spans = [make_span(i) for i in range(12)]
    cfg = WriterConfig(seal_rows=4, wal_rotate_bytes=1)  # every seal rotates the WAL
    w = SegmentWriter(tmp_path, 0, cfg)
    w.open()
    w.append(datagram(spans[:2]), spans[:2])
    module_name, _, attr = target.rpartition(".")
    module = importlib.import_module(module_name)
    real = getattr(module, attr)
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            raise Crash
        return real(*args, **kwargs)

    monkeypatch.setattr(module, attr, crashing)
    with pytest.raises(Crash):
        w.append(datagram(spans[2:6]), spans[2:6])  # crosses seal_rows: seal (and rotate)
    monkeypatch.setattr(module, attr, real)
    w._wal.close()  # the process is gone; nothing else runs
    with SegmentWriter(tmp_path, 0, cfg) as w2:
        w2.append(datagram(spans[6:]), spans[6:])
    got = [
        s
        for info in sorted(list_segments(tmp_path), key=lambda i: i.seq)
        for s in SegmentReader(info.path).read_spans()
    ]
    assert got == spans
