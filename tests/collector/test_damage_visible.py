"""Issue 20, seen: a segment corrupted in the middle was found by fsck, but
``agenttrace spans``, ``agenttrace costs`` and ``/api/v1/metrics/summary`` answered
without a word (from rollups and pages that never read the damaged chunk). Every read
whose range holds the damaged segment now names it: the CLI on stderr with file and
offset, the API in ``skipped_segments``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from agenttrace import wire
from agenttrace.model import Span, Usage
from agenttrace.store import SegmentReader, SegmentWriter, WriterConfig, list_segments

AGENTTRACE = str(Path(sys.executable).parent / "agenttrace")


def _fill(data_dir: Path, worker: int = 9) -> list[str]:
    """Three sealed segments of priced LLM spans (worker id no collector worker uses)."""
    now = time.time_ns()
    with SegmentWriter(data_dir, worker, WriterConfig(seal_rows=20)) as w:
        for i in range(60):
            s = Span(
                trace_id=os.urandom(16),
                span_id=os.urandom(8),
                name=f"call-{i}",
                start_ns=now - (60 - i) * 10**9,
                end_ns=now - (60 - i) * 10**9 + 5_000_000,
                kind="llm",
                service="dmg-svc",
                model="gpt-4o",
                usage=Usage(input_tokens=100, output_tokens=10),
                cost_usd=0.01,
                output_preview="x" * 200,
            )
            w.append(wire.encode([s], sender_id=1, seq=i), [s])
    return sorted(str(i.path) for i in list_segments(data_dir, worker=worker))


def _corrupt_middle(path: str, column: str | None = None) -> int:
    """Flip bytes inside a column chunk (default: the largest); return the chunk's offset."""
    columns = SegmentReader(path).footer.columns
    entry = max(columns, key=lambda e: e.length) if column is None else next(e for e in columns if e.name == column)
    data = bytearray(Path(path).read_bytes())
    for k in range(4):
        data[entry.offset + entry.length // 2 + k] ^= 0xFF
    Path(path).write_bytes(bytes(data))
    return entry.offset


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AGENTTRACE, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60, check=False
    )


def test_every_read_over_a_damaged_segment_says_so(start_collector) -> None:
    c = start_collector()
    segs = _fill(c.data_dir)
    assert len(segs) == 3
    bad = segs[1]
    offset = _corrupt_middle(bad)

    for args in (("spans", "-n", "5"), ("costs",)):
        run = _cli(*args, data_dir=c.data_dir)
        assert run.returncode == 0, run.stderr
        assert "dmg-svc" in run.stdout or "gpt-4o" in run.stdout  # still answers from the rest
        assert bad in run.stderr and f"offset {offset}" in run.stderr, (args, run.stderr)

    status, body = c.get("/api/v1/metrics/summary?since=1h")
    assert status == 200, body
    skipped = json.loads(body)["skipped_segments"]
    assert [(s["path"], s["offset"]) for s in skipped] == [(bad, offset)]

    # A range that does not reach the damaged segment is not told about it.
    until = SegmentReader(segs[0]).footer.max_start_ns + 1
    since = SegmentReader(segs[0]).footer.min_start_ns
    from agenttrace.query import SpanFilter, open_engine

    page = open_engine(c.data_dir).spans(SpanFilter(since_ns=since, until_ns=until, limit=5))
    assert page.skipped_segments == []


def test_status_lists_damage_and_fsck_repair_quarantines_it_and_keeps_the_rest(tmp_path) -> None:
    data_dir = tmp_path / "store"
    segs = _fill(data_dir)
    _corrupt_middle(segs[1], "attributes")  # a damaged column of no identity: its rows are salvaged
    _corrupt_middle(segs[0], "span_id")  # a damaged identity column: nothing to salvage
    Path(segs[2]).write_bytes(Path(segs[2]).read_bytes()[:-40])  # a torn footer: nothing to salvage
    run = _cli("status", "--url", "http://127.0.0.1:9", data_dir=data_dir)
    assert all(f"damaged {p}" in run.stdout for p in segs), run.stdout

    check = _cli("fsck", data_dir=data_dir)
    assert check.returncode == 1 and all(f"{p}  BAD" in check.stdout for p in segs), check.stdout
    repair = _cli("fsck", "--repair", data_dir=data_dir)
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert f"repaired {segs[1]}: 20 rows kept" in repair.stdout
    assert f"quarantined {segs[0]}" in repair.stdout and f"quarantined {segs[2]}" in repair.stdout
    quarantined = sorted(p.name for p in (data_dir / "quarantine").rglob("*.seg"))
    assert quarantined == sorted(Path(p).name for p in segs)

    # The store reads clean again, with the salvaged rows and the sound segment.
    assert _cli("fsck", "--verify", data_dir=data_dir).returncode == 0
    spans = _cli("spans", "-n", "100", "--json", data_dir=data_dir)
    assert spans.returncode == 0 and spans.stderr == "", spans.stderr
    assert len(json.loads(spans.stdout)["spans"]) == 20
    assert "damaged" not in _cli("status", "--url", "http://127.0.0.1:9", data_dir=data_dir).stdout
