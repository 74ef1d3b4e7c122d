"""The writer against a plain list of spans: sealing, replay, exactly-once, faults."""

from __future__ import annotations

import errno
import os

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from segment_strategies import make_span

from agenttrace import wire
from agenttrace.errors import ConfigError, StoreError
from agenttrace.model import Span
from agenttrace.store import SegmentReader, SegmentWriter, WriterConfig, list_segments, open_segments
from agenttrace.store.layout import wal_path
from agenttrace.store.wal import scan_wal


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stored(data_dir) -> list[Span]:
    """Every span in the sealed segments, in the order each worker wrote them."""
    out = []
    for info in sorted(list_segments(data_dir), key=lambda i: (i.worker, i.seq)):
        out.extend(SegmentReader(info.path).read_spans())
    return out


def datagram(spans: list[Span], seq: int = 0) -> bytes:
    return wire.encode(spans, sender_id=1, seq=seq)


def test_seals_by_rows_bytes_and_age(tmp_path):
    clock = FakeClock()
    cfg = WriterConfig(seal_rows=10, seal_bytes=1 << 30, seal_age_s=2.0)
    with SegmentWriter(tmp_path, 0, cfg, clock=clock) as w:
        spans = [make_span(i) for i in range(25)]
        for s in spans[:10]:
            w.append(datagram([s]), [s])
        assert len(list_segments(tmp_path)) == 1  # by rows, on append
        for s in spans[10:15]:
            w.append(datagram([s]), [s])
        clock.now += 1.9
        assert w.tick() is None
        clock.now += 0.1
        info = w.tick()  # by age
        assert info is not None and info.seq == 2
        assert SegmentReader(info.path).footer.rows == 5
    assert stored(tmp_path) == spans[:15]
    big = WriterConfig(seal_rows=1000, seal_bytes=300)
    with SegmentWriter(tmp_path / "b", 0, big, clock=clock) as w:
        for s in spans:
            w.append(b"x" * 100, [s])
        assert w.stats.segments == 8  # every third datagram crosses 300 bytes


def test_files_are_laid_out_by_day_and_worker(tmp_path):
    day1 = 1_763_700_000_000_000_000  # 2025-11-21 UTC
    with SegmentWriter(tmp_path, 3, WriterConfig(seal_rows=2)) as w:
        for i in range(4):
            s = make_span(i, start_ns=day1 + (i // 2) * 86_400_000_000_000)
            w.append(datagram([s]), [s])
    with SegmentWriter(tmp_path, 4) as w:
        w.append(b"raw", [make_span(9, start_ns=day1)])
    infos = list_segments(tmp_path)
    assert [(i.day, i.worker, i.seq) for i in infos] == [
        ("2025-11-21", 3, 1),
        ("2025-11-21", 4, 1),
        ("2025-11-22", 3, 2),
    ]
    assert infos[0].path.endswith(os.path.join("segments", "2025-11-21", "w3-00000001.seg"))
    # The next writer of worker 3 goes on numbering where the directory says.
    with SegmentWriter(tmp_path, 3) as w:
        w.append(b"raw", [make_span(10, start_ns=day1)])
    assert sorted(i.seq for i in list_segments(tmp_path, worker=3)) == [1, 2, 3]


def test_replay_after_a_crash_reseals_exactly_once(tmp_path):
    spans = [make_span(i) for i in range(30)]
    w = SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=10, wal_fsync="batch"))
    w.open()
    for i in range(0, 25, 5):
        w.append(datagram(spans[i : i + 5], seq=i), spans[i : i + 5])
    assert len(list_segments(tmp_path)) == 2 and w.pending_rows == 5
    w._wal.close()  # a crash: nothing sealed or trimmed after this point
    w2 = SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=10))
    w2.open()  # default replay decodes the datagrams
    assert (w2.stats.skipped_records, w2.stats.replayed_records, w2.stats.replayed_spans) == (4, 1, 5)
    assert stored(tmp_path) == spans[:25]  # the replayed five sealed at open
    w2.append(datagram(spans[25:]), spans[25:])
    w2.close()
    assert stored(tmp_path) == spans
    assert scan_wal(wal_path(tmp_path, 0)).records == []  # trimmed on clean close
    # And a third open finds nothing to do.
    with SegmentWriter(tmp_path, 0) as w3:
        assert w3.stats.replayed_records == 0
    assert stored(tmp_path) == spans


def test_crash_mid_seal_leaves_a_temp_file_that_open_removes(tmp_path):
    spans = [make_span(i) for i in range(6)]
    w = SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=100))
    w.open()
    w.append(datagram(spans), spans)
    day_dir = tmp_path / "segments" / "2025-11-21"
    day_dir.mkdir(parents=True)
    (day_dir / "w0-00000001.seg.tmp").write_bytes(b"half a segm")
    (day_dir / "w1-00000001.seg.tmp").write_bytes(b"another worker's")
    assert list_segments(tmp_path) == []  # readers never see temporary files
    w._wal.close()
    with SegmentWriter(tmp_path, 0) as w2:
        assert w2.stats.removed_tmp_files == 1
    assert sorted(os.listdir(day_dir)) == ["w0-00000001.seg", "w1-00000001.seg.tmp"]
    assert stored(tmp_path) == spans


def test_a_corrupt_segment_is_skipped_and_reported(tmp_path):
    with SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=5)) as w:
        for i in range(15):
            w.append(b"raw", [make_span(i)])
    infos = list_segments(tmp_path)
    with open(infos[1].path, "r+b") as f:
        f.seek(-3, os.SEEK_END)
        f.write(b"XXX")
    opened = open_segments(tmp_path)
    assert len(opened.readers) == 2 and len(opened.skipped) == 1
    assert opened.skipped[0].path == infos[1].path
    assert [s.span_id for r in opened.readers for s in r.read_spans()] == [
        make_span(i).span_id for i in (*range(5), *range(10, 15))
    ]


def test_a_failed_seal_keeps_the_spans_and_a_later_tick_seals_them(tmp_path):
    clock = FakeClock()
    state = {"full": True}

    def opener(path, flags, mode=0o777):
        if state["full"] and str(path).endswith(".seg.tmp"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return os.open(path, flags, mode)

    cfg = WriterConfig(seal_rows=100, seal_age_s=1.0, seal_retry_s=5.0)
    w = SegmentWriter(tmp_path, 0, cfg, clock=clock, opener=opener)
    w.open()
    spans = [make_span(i) for i in range(4)]
    w.append(datagram(spans), spans)
    clock.now += 1.0
    with pytest.raises(StoreError, match="disk full"):
        w.tick()
    assert w.stats.disk_full and w.stats.errors == 1 and w.pending_rows == 4
    assert list_segments(tmp_path) == []
    state["full"] = False
    clock.now += 1.0
    assert w.tick() is None  # waits seal_retry_s before the next try
    clock.now += 4.0
    assert w.tick() is not None
    assert not w.stats.disk_full
    w.close()
    assert stored(tmp_path) == spans


def test_appends_are_refused_when_too_much_waits_for_a_failing_seal(tmp_path):
    def opener(path, flags, mode=0o777):
        if str(path).endswith(".seg.tmp"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return os.open(path, flags, mode)

    w = SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=2, max_pending_rows=4, seal_retry_s=0), opener=opener)
    w.open()
    for i in range(4):
        w.append(b"raw", [make_span(i)])  # seals fail quietly; the WAL holds the spans
    with pytest.raises(StoreError, match="refusing"):
        w.append(b"raw", [make_span(9)])
    w._wal.close()
    with SegmentWriter(tmp_path, 0, replay=lambda raw: [make_span(int(raw))]) as w2:
        assert w2.stats.replayed_records == 4


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or os.system(f"mount -t tmpfs -o size=1m tmpfs {mnt} 2>/dev/null") != 0:
        pytest.skip("needs root to mount a 1 MiB tmpfs (the opener-hook test covers the logic)")
    yield mnt
    os.system(f"umount -l {mnt}")


def test_disk_full_on_a_real_filesystem(tiny_disk):
    clock = FakeClock()
    cfg = WriterConfig(seal_rows=10_000, seal_age_s=1.0, seal_retry_s=0, wal_fsync="batch", compress=False)
    w = SegmentWriter(tiny_disk, 0, cfg, clock=clock)
    w.open()
    accepted, refused = [], 0
    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 512):
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    # The disk is full: appends are refused loudly, nothing half-written stays.
    for i in range(50):
        s = make_span(i, input_preview="p" * 3000)
        try:
            w.append(datagram([s]), [s])
            accepted.append(s)
        except StoreError as exc:
            assert "disk full" in str(exc)
            refused += 1
    assert refused > 0
    assert w.stats.disk_full
    os.unlink(filler)  # space returns
    more = [make_span(100 + i, input_preview="q" * 3000) for i in range(20)]
    for s in more:
        w.append(datagram([s]), [s])
    accepted += more
    clock.now += 1.0
    w.tick()
    w.close()
    assert stored(tiny_disk) == accepted
    assert not w.stats.disk_full


def test_config_is_checked():
    with pytest.raises(ConfigError, match="seal_rows"):
        WriterConfig(seal_rows=0)
    with pytest.raises(ConfigError, match="wal_fsync"):
        WriterConfig(wal_fsync="never")
    with pytest.raises(ConfigError, match="worker_id"):
        SegmentWriter("/tmp", -1)


def test_rollup_section_is_written_when_rollups_exist(tmp_path):
    rollup = pytest.importorskip("agenttrace.store.rollup", reason="store/rollup.py has not landed yet")
    spans = [make_span(i) for i in range(20)]
    with SegmentWriter(tmp_path, 0) as w:
        w.append(b"raw", spans)
    [info] = list_segments(tmp_path)
    got = SegmentReader(info.path).rollup()
    expected = rollup.Rollup()
    for s in spans:
        expected.add_span(s)
    assert got == expected


class WriterMachine(RuleBasedStateMachine):
    """The writer next to a list: after any mix of appends, ticks, seals, clean
    restarts and crashes, sealed + pending spans equal the list, in order."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="at-writer-")
        self.clock = FakeClock()
        self.model: list[Span] = []
        self.n = 0
        self.writer = self._new()

    def _new(self) -> SegmentWriter:
        cfg = WriterConfig(seal_rows=7, seal_age_s=1.0, wal_rotate_bytes=400, wal_fsync="none")
        w = SegmentWriter(self.dir, 0, cfg, clock=self.clock)
        w.open()
        return w

    @rule(k=st.integers(1, 4), batch=st.booleans())
    def append(self, k, batch):
        spans = [make_span(self.n + i) for i in range(k)]
        self.n += k
        if batch:
            self.writer.append_batch([(datagram([s], seq=s.start_ns), [s]) for s in spans])
        else:
            self.writer.append(datagram(spans), spans)
        self.model.extend(spans)

    @rule(dt=st.sampled_from([0.1, 0.5, 1.0]))
    def tick(self, dt):
        self.clock.now += dt
        self.writer.tick()

    @rule()
    def seal(self):
        self.writer.seal()

    @rule()
    def restart(self):
        self.writer.close()
        self.writer = self._new()

    @rule()
    def crash(self):
        self.writer._wal.close()  # no seal, no trim: what SIGKILL leaves (page cache kept)
        self.writer = self._new()

    @invariant()
    def sealed_plus_pending_is_the_list(self):
        assert stored(self.dir) + self.writer._pending == self.model

    def teardown(self):
        self.writer.close()
        assert stored(self.dir) == self.model
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


TestWriterMachine = WriterMachine.TestCase
TestWriterMachine.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)


def test_fsck_reports_damage_and_exits_1(tmp_path, capsys):
    from agenttrace.store.fsck import main

    with SegmentWriter(tmp_path, 0, WriterConfig(seal_rows=5)) as w:
        for i in range(10):
            w.append(b"raw", [make_span(i)])
    assert main(["--verify", str(tmp_path)]) == 0
    assert "2 segments, 1 WAL files, 0 damaged" in capsys.readouterr().out
    bad = list_segments(tmp_path)[0].path
    with open(bad, "r+b") as f:
        f.seek(20)
        f.write(b"\xff")
    assert main(["--verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}  BAD:" in out and "1 damaged" in out


def test_an_idle_writer_trims_its_wal(tmp_path):
    clock = FakeClock()
    w = SegmentWriter(tmp_path, 0, WriterConfig(seal_age_s=1.0, wal_rotate_s=60.0), clock=clock)
    w.open()
    w.append(b"raw", [make_span(1)])
    clock.now += 1.0
    assert w.tick() is not None
    assert len(scan_wal(wal_path(tmp_path, 0)).records) == 1  # sealed, not yet trimmed
    clock.now += 60.0
    w.tick()
    assert scan_wal(wal_path(tmp_path, 0)).records == []
    w.close()


def test_a_failing_rollup_never_blocks_a_seal(tmp_path, monkeypatch):
    from agenttrace.store import rollup

    def broken(self, spans):
        raise RuntimeError("bug in the rollup")

    monkeypatch.setattr(rollup.Rollup, "add_spans", broken)
    spans = [make_span(i) for i in range(3)]
    with SegmentWriter(tmp_path, 0) as w:
        w.append(b"raw", spans)
    [info] = list_segments(tmp_path)
    assert SegmentReader(info.path).rollup_bytes() is None
    assert stored(tmp_path) == spans
