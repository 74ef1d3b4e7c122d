"""Segments give back exactly the spans written; damage is detected, never returned."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segment_strategies import make_span, segment_build, span_lists
from segment_strategies import spans as spans_strategy

from agenttrace.errors import SegmentCorruptError
from agenttrace.model import Span
from agenttrace.store import segment
from agenttrace.store.reader import SegmentReader
from agenttrace.store.segment import COLUMN_NAMES, USAGE_COLUMNS, SegmentData, encode_segment

__all__ = ["segment_build"]

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(SETTINGS, max_examples=25)


def _write(path, spans: list[Span], **kw) -> str:
    with open(path, "wb") as f:
        f.write(encode_segment(spans, worker=1, seq=2, **kw))
    return str(path)


@given(spans=span_lists)
@SETTINGS
def test_spans_written_are_the_spans_read(segment_build, spans):
    """The store against a plain list: same spans, same order, None vs Usage() kept."""
    data = SegmentData(encode_segment(spans, worker=0, seq=1))
    assert data.read_spans() == spans
    assert data.footer.rows == len(spans)
    assert data.footer.min_start_ns == min(s.start_ns for s in spans)
    assert data.footer.max_end_ns == max(s.end_ns for s in spans)
    for s in spans:
        assert segment.Bloom.may_contain(data.footer.trace_bloom, s.trace_id)


@given(spans=span_lists, data=st.data())
@FEWER
def test_read_columns_and_rows_match_the_spans(segment_build, tmp_path_factory, spans, data):
    path = _write(tmp_path_factory.mktemp("seg") / "s.seg", spans)
    reader = SegmentReader(path)
    names = data.draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=6, unique=True))
    cols = reader.read_columns(names)
    assert set(cols) == set(names)
    for name in names:
        if name == "has_usage":
            expected = [s.usage is not None for s in spans]
        elif name in USAGE_COLUMNS:
            expected = [getattr(s.usage, name) if s.usage else 0 for s in spans]
        else:
            expected = [getattr(s, name) for s in spans]
        assert cols[name] == expected, name
    rows = data.draw(st.lists(st.integers(0, len(spans) - 1), max_size=4))
    assert reader.read_spans(rows) == [spans[r] for r in rows]
    probe = spans[data.draw(st.integers(0, len(spans) - 1))]
    for name in ("trace_id", "session_id", "name", "span_id"):
        want = getattr(probe, name)
        assert reader.rows_where(name, want) == [i for i, s in enumerate(spans) if getattr(s, name) == want]
    assert reader.rows_where("trace_id", b"absent") == []


def test_only_the_asked_columns_are_read(tmp_path, monkeypatch):
    spans = [make_span(i, trace=i % 3, input_preview=f"p{i}" * 50) for i in range(200)]
    reader = SegmentReader(_write(tmp_path / "s.seg", spans))
    touched = []
    real = segment.decode_chunk
    monkeypatch.setattr(segment, "decode_chunk", lambda p, e, b: touched.append(e.name) or real(p, e, b))
    reader.read_columns(["service", "input_tokens"])
    assert set(touched) <= {"service", "input_tokens"}
    touched.clear()
    reader.read_columns(["end_ns"])
    assert set(touched) <= {"start_ns", "end_ns"}  # end_ns is stored as a duration


def test_footer_lets_a_reader_skip(tmp_path):
    spans = [make_span(i, trace=7) for i in range(50)]
    reader = SegmentReader(_write(tmp_path / "s.seg", spans, wal_first_seq=3, wal_last_seq=9))
    f = reader.footer
    assert (f.wal_first_seq, f.wal_last_seq, f.worker, f.seq) == (3, 9, 1, 2)
    assert f.services == ["svc"] and f.kinds == ["llm", "tool"] and f.models == ["", "gpt-4o"]
    assert reader.may_contain_trace((7).to_bytes(16, "big"))
    assert reader.may_contain_session("sess-7")
    # 1 % false positives: of 1,000 absent ids, far fewer than 100 may pass.
    rng = random.Random(5)
    passed = sum(reader.may_contain_trace(rng.randbytes(16)) for _ in range(1000))
    assert passed < 100
    assert not reader.may_contain_session("sess-8") or not reader.may_contain_session("sess-9")
    assert reader.rows_where("trace_id", (7).to_bytes(16, "big")) == list(range(50))


def test_every_single_bit_flip_is_detected(tmp_path):
    """CRCs cover every byte: header, chunks, rollup, footer and trailer."""
    spans = [make_span(i, trace=i % 4, attributes={"i": i}, cost_usd=i / 7) for i in range(40)]
    blob = encode_segment(spans, worker=0, seq=1, rollup=b"opaque rollup bytes")
    rng = random.Random(1234)
    path = tmp_path / "s.seg"
    positions = sorted({rng.randrange(len(blob) * 8) for _ in range(300)} | {0, len(blob) * 8 - 1})
    for bit in positions:
        damaged = bytearray(blob)
        damaged[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(damaged)
        with pytest.raises(SegmentCorruptError) as info:
            SegmentReader(path).verify()
        assert info.value.path == str(path)
        assert 0 <= info.value.offset <= len(blob)


@pytest.mark.parametrize("keep", [0, 1, 8, 31, 100, -25, -24, -1])
def test_truncated_segment_raises_with_path_and_offset(tmp_path, keep):
    blob = encode_segment([make_span(i) for i in range(30)], worker=0, seq=1)
    path = tmp_path / "s.seg"
    path.write_bytes(blob[:keep])  # negative: cut that many bytes off the end
    with pytest.raises(SegmentCorruptError) as info:
        SegmentReader(path).verify()
    assert info.value.path == str(path)
    assert isinstance(info.value, ValueError)  # the error is also a standard error


def test_unknown_version_is_named(tmp_path):
    blob = bytearray(encode_segment([make_span(1)], worker=0, seq=1))
    blob[-8:-6] = (2).to_bytes(2, "little")  # trailer version
    path = tmp_path / "s.seg"
    path.write_bytes(blob)
    with pytest.raises(segment.UnknownSegmentVersionError) as info:
        SegmentReader(path)
    assert info.value.version == 2
    assert "version 2" in str(info.value)


def test_encodings_fall_back_instead_of_refusing(tmp_path):
    # end_ns - start_ns beyond 64 bits and a status beyond int64: still stored, still equal.
    spans = [make_span(0, end_ns=2**64 - 1, status=2**64 - 1), make_span(1, start_ns=0)]
    reader = SegmentReader(_write(tmp_path / "s.seg", spans))
    assert reader.read_spans() == spans
    encodings = {e.name: e.encoding for e in reader.footer.columns}
    assert encodings["end_ns"] == "msgpack" and encodings["status"] == "msgpack"


def test_rows_do_not_share_mutable_values(tmp_path):
    spans = [make_span(i, attributes={"k": 1}, tags=["x"]) for i in range(10)]
    got = SegmentReader(_write(tmp_path / "s.seg", spans)).read_spans()
    got[0].attributes["k"] = 2
    got[0].tags.append("y")
    assert got[1].attributes == {"k": 1} and got[1].tags == ["x"]


def test_bytes_per_span_is_small(tmp_path):
    """Not a timing: a size. Typical agent spans cost well under their wire size."""
    from agenttrace.wire import encode_payload

    rng = random.Random(3)
    spans = [
        make_span(i, trace=i // 8, attributes={"tool": f"t{i % 4}"}, output_preview=f"answer {rng.random()}")
        for i in range(5000)
    ]
    size = os.path.getsize(_write(tmp_path / "s.seg", spans))
    assert size < len(encode_payload(spans)) / 2


def test_a_reader_notices_its_file_was_replaced(tmp_path):
    from agenttrace.store.reader import SegmentReplacedError

    path = _write(tmp_path / "s.seg", [make_span(i) for i in range(5)])
    reader = SegmentReader(path)
    tmp = tmp_path / "new.tmp"
    tmp.write_bytes(encode_segment([make_span(i) for i in range(9)], worker=1, seq=2))
    os.replace(tmp, path)  # what compaction does to the last segment of a run
    with pytest.raises(SegmentReplacedError):
        reader.read_spans()
    assert len(SegmentReader(path).read_spans()) == 9


@given(spans=st.lists(spans_strategy(), min_size=1, max_size=6), data=st.data())
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_bit_flips_are_detected(tmp_path_factory, spans, data):
    blob = encode_segment(spans, worker=0, seq=1, rollup=b"rollup")
    bit = data.draw(st.integers(0, len(blob) * 8 - 1), label="bit")
    damaged = bytearray(blob)
    damaged[bit // 8] ^= 1 << (bit % 8)
    path = tmp_path_factory.mktemp("flip") / "s.seg"
    path.write_bytes(damaged)
    with pytest.raises(SegmentCorruptError):
        SegmentReader(path).verify()


def test_a_column_the_segment_lacks_reads_as_its_default(tmp_path):
    """Segments written before a column existed still read: the column is its default."""
    import zlib

    import msgspec

    spans = [make_span(i, cost_source="catalogue", tags=["x"]) for i in range(3)]
    blob = encode_segment(spans, worker=0, seq=1)
    f_off = segment.TRAILER.unpack(blob[-segment.TRAILER.size :])[0]
    footer = SegmentData(blob).footer
    footer.columns = [e for e in footer.columns if e.name not in ("cost_source", "tags")]
    fb = msgspec.msgpack.encode(footer)
    rebuilt = blob[:f_off] + fb + segment.TRAILER.pack(f_off, len(fb), zlib.crc32(fb), 1, 0, segment.MAGIC)
    got = SegmentData(rebuilt).read_spans()
    assert [s.cost_source for s in got] == ["", "", ""] and [s.tags for s in got] == [[], [], []]
    assert [s.span_id for s in got] == [s.span_id for s in spans]
