"""Wire format v1: round trips, schema evolution both ways, batching, and decoding
arbitrary bytes (Hypothesis on random and mutated datagrams)."""

from __future__ import annotations

import os
import struct

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenttrace import wire
from agenttrace.errors import BadMagicError, BadPayloadError, TruncatedError, UnknownVersionError, WireError
from agenttrace.model import SPAN_KINDS, Event, Span, Usage

# Longer fuzzing runs: AGENTTRACE_FUZZ_SCALE=20 pytest tests/test_wire.py
SCALE = int(os.environ.get("AGENTTRACE_FUZZ_SCALE", "1"))

# --- strategies ------------------------------------------------------------------------

text = st.text(max_size=40)
json_scalar = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | text
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=10,
)
attributes = st.dictionaries(text.filter(lambda k: k != "agenttrace.truncated"), json_value, max_size=5)
usages = st.builds(
    Usage,
    input_tokens=st.integers(0, 10**9),
    output_tokens=st.integers(0, 10**9),
    cache_read_tokens=st.integers(0, 10**9),
    cache_write_tokens=st.integers(0, 10**9),
    reasoning_tokens=st.integers(0, 10**9),
    cache_write_1h_tokens=st.integers(0, 10**9),
)
events = st.builds(Event, name=text, time_ns=st.integers(0, 2**63 - 1), attributes=attributes)
spans = st.builds(
    Span,
    trace_id=st.binary(min_size=16, max_size=16),
    span_id=st.binary(min_size=8, max_size=8),
    name=text,
    start_ns=st.integers(0, 2**63 - 1),
    end_ns=st.integers(0, 2**63 - 1),
    parent_id=st.just(b"") | st.binary(min_size=8, max_size=8),
    kind=st.sampled_from(SPAN_KINDS) | text,
    status=st.integers(0, 2),
    status_message=text,
    session_id=text,
    service=text,
    user_id=text,
    environment=text,
    tags=st.lists(text, max_size=4),
    model=text,
    provider=text,
    usage=st.none() | usages,
    cost_usd=st.none() | st.floats(min_value=0, max_value=1e6),
    input_preview=st.text(max_size=300),
    output_preview=st.text(max_size=300),
    attributes=attributes,
    events=st.lists(events, max_size=3),
    service_tier=st.sampled_from(["", "batch", "priority", "flex"]),
    cost_source=st.sampled_from(["", "sdk", "catalogue", "override", "unknown"]),
)


def make_span(**kw: object) -> Span:
    base: dict[str, object] = {"trace_id": b"T" * 16, "span_id": b"S" * 8, "name": "step", "start_ns": 1, "end_ns": 2}
    base.update(kw)
    return Span(**base)  # type: ignore[arg-type]


# --- round trips -----------------------------------------------------------------------


@settings(max_examples=40 * SCALE, deadline=None)
@given(st.lists(spans, max_size=8), st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1), st.booleans())
def test_encode_decode_round_trip(span_list: list[Span], sender_id: int, seq: int, compress: bool) -> None:
    datagram = wire.decode(wire.encode(span_list, sender_id=sender_id, seq=seq, compress=compress))
    assert (datagram.sender_id, datagram.seq) == (sender_id, seq)
    assert datagram.spans == span_list


def test_header_layout_matches_the_doc() -> None:
    data = wire.encode([make_span()], sender_id=0x0102030405060708, seq=7, compress=False)
    assert data[:2] == b"AT" and data[2] == 1 and data[3] == 0
    assert struct.unpack_from("<HHQI", data, 4) == (1, 0, 0x0102030405060708, 7)
    assert wire.HEADER_SIZE == 20


# --- schema evolution --------------------------------------------------------------------


def _struct_like_span(name: str, drop_last: int = 0, extra: list[tuple[str, type, object]] | None = None) -> type:
    """Span's layout with its last ``drop_last`` fields removed (an older SDK) or extra
    fields appended (a newer one)."""
    fields = list(msgspec.structs.fields(Span))
    if drop_last:
        fields = fields[:-drop_last]
    spec: list[tuple[str, object, object] | tuple[str, object]] = []
    for f in fields:
        if f.default is not msgspec.NODEFAULT:
            spec.append((f.name, f.type, f.default))
        elif f.default_factory is not msgspec.NODEFAULT:
            spec.append((f.name, f.type, msgspec.field(default_factory=f.default_factory)))
        else:
            spec.append((f.name, f.type))
    spec.extend(extra or [])
    return msgspec.defstruct(name, spec, array_like=True, omit_defaults=True)


OldSpan = _struct_like_span("OldSpan", drop_last=2)  # before service_tier and cost_source
NewSpan = _struct_like_span(
    "NewSpan", extra=[("region", str, ""), ("retries", int, 0), ("labels", dict[str, str], msgspec.field(default={}))]
)


def _frame(objs: list[object], **kw: int) -> bytes:
    return wire.frame(msgspec.msgpack.encode(objs), len(objs), sender_id=kw.get("sender_id", 1), seq=0, compress=False)


def test_old_collector_reads_newer_sdk_datagram() -> None:
    newer = NewSpan(
        trace_id=b"T" * 16,
        span_id=b"S" * 8,
        name="call",
        start_ns=5,
        end_ns=9,
        kind="llm",
        model="m",
        service_tier="batch",
        cost_source="sdk",
        region="eu",
        retries=3,
        labels={"a": "b"},
    )
    # "old collector" = today's decoder facing fields it never heard of
    span = wire.decode(_frame([newer])).spans[0]
    assert (span.name, span.kind, span.model, span.service_tier, span.cost_source) == (
        "call",
        "llm",
        "m",
        "batch",
        "sdk",
    )
    # and an even older collector (no service_tier yet) reads today's datagram
    today = wire.encode([make_span(model="m", service_tier="priority", cost_source="sdk")], sender_id=1, seq=0)
    old = msgspec.msgpack.decode(today[wire.HEADER_SIZE :], type=list[OldSpan])[0]
    assert (old.name, old.model) == ("step", "m")
    assert not hasattr(old, "service_tier")


def test_new_collector_reads_older_sdk_datagram() -> None:
    older = OldSpan(trace_id=b"T" * 16, span_id=b"S" * 8, name="old", start_ns=1, end_ns=3, tags=["x"], model="m")
    span = wire.decode(_frame([older])).spans[0]
    assert (span.name, span.tags, span.model) == ("old", ["x"], "m")
    assert (span.service_tier, span.cost_source) == ("", "")
    # and a newer reader (with fields appended after today's) reads today's datagram
    today = wire.encode([make_span(service_tier="flex")], sender_id=1, seq=0)
    newer = msgspec.msgpack.decode(today[wire.HEADER_SIZE :], type=list[NewSpan])[0]
    assert (newer.service_tier, newer.region, newer.retries, newer.labels) == ("flex", "", 0, {})


@settings(max_examples=30 * SCALE, deadline=None)
@given(spans)
def test_evolution_round_trip_property(span: Span) -> None:
    as_old = msgspec.msgpack.decode(
        wire.encode([span], sender_id=1, seq=0, compress=False)[wire.HEADER_SIZE :], type=list[OldSpan]
    )
    back = wire.decode(_frame(as_old)).spans[0]
    assert back == msgspec.structs.replace(span, service_tier="", cost_source="")


# --- bad bytes ------------------------------------------------------------------------------


def _valid() -> bytes:
    return wire.encode([make_span(), make_span(name="two")], sender_id=9, seq=3, compress=False)


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"", TruncatedError, "truncated"),
        (b"AT\x01", TruncatedError, "truncated"),
        (b"XX" + b"\x00" * 30, BadMagicError, "bad_magic"),
        (b"XY\x01", BadMagicError, "bad_magic"),
        (b"AT\x02" + b"\x00" * 30, UnknownVersionError, "unknown_version"),
        (_valid()[:-3], TruncatedError, "truncated"),
        (_valid()[:20] + b"\xc1", BadPayloadError, "bad_payload"),
        (_valid()[:4] + b"\x05\x00" + _valid()[6:], BadPayloadError, "bad_payload"),  # count says 5, payload holds 2
        (
            wire.frame(msgspec.msgpack.encode([[b"short", b"S" * 8, "n", 1, 2]]), 1, sender_id=1, seq=0),
            BadPayloadError,
            "bad_payload",
        ),
        (
            wire.HEADER.pack(b"AT", 1, wire.FLAG_LZ4, 1, 0, 1, 0) + struct.pack("<I", 1 << 30) + b"xx",
            BadPayloadError,
            "bad_payload",
        ),
        (wire.HEADER.pack(b"AT", 1, wire.FLAG_LZ4, 1, 0, 1, 0) + b"\x01", TruncatedError, "truncated"),
        (
            wire.HEADER.pack(b"AT", 1, wire.FLAG_LZ4, 1, 0, 1, 0) + struct.pack("<I", 50) + b"\xff" * 9,
            BadPayloadError,
            "bad_payload",
        ),
    ],
    ids=[
        "empty",
        "short-header",
        "bad-magic",
        "bad-magic-short",
        "version-2",
        "cut-payload",
        "not-msgpack",
        "count-mismatch",
        "bad-trace-id",
        "lz4-claims-too-much",
        "lz4-no-length",
        "lz4-garbage",
    ],
)
def test_each_bad_datagram_names_its_reason(data: bytes, error: type[WireError], reason: str) -> None:
    with pytest.raises(error) as info:
        wire.decode(data)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)


def _decode_or_wire_error(data: bytes) -> None:
    try:
        datagram = wire.decode(data)
    except WireError as exc:
        assert exc.reason in ("bad_magic", "unknown_version", "truncated", "bad_payload")
        return
    assert isinstance(datagram, wire.Datagram)
    assert all(isinstance(s, Span) for s in datagram.spans)


@settings(max_examples=400 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.binary(max_size=60).map(lambda b: b"AT\x01" + b))
def test_random_bytes_decode_or_raise_wire_error(data: bytes) -> None:
    _decode_or_wire_error(data)


mutations = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "insert", "delete", "truncate"]), st.integers(0, 10**6), st.integers(0, 255)
    ),
    min_size=1,
    max_size=6,
)


def _mutate(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, pos, byte in ops:
        if not buf:
            break
        i = pos % len(buf)
        if op == "flip":
            buf[i] ^= 1 << (byte % 8)
        elif op == "set":
            buf[i] = byte
        elif op == "insert":
            buf.insert(i, byte)
        elif op == "delete":
            del buf[i]
        else:
            del buf[i:]
    return bytes(buf)


@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans, min_size=1, max_size=3), st.booleans(), mutations)
def test_mutated_datagrams_decode_or_raise_wire_error(span_list: list[Span], compress: bool, ops) -> None:
    data = wire.encode(span_list, sender_id=1, seq=1, compress=compress)
    _decode_or_wire_error(_mutate(data, ops))


def test_deep_nesting_is_a_bad_payload_not_a_crash() -> None:
    payload = b"\x91" + b"\x91" * 200_000
    with pytest.raises(WireError):
        wire.decode(wire.HEADER.pack(b"AT", 1, 0, 1, 0, 1, 0) + payload)


# --- batching ------------------------------------------------------------------------------


@settings(max_examples=40 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans, max_size=40), st.integers(512, 9000), st.booleans())
def test_batch_keeps_every_datagram_under_the_limit(span_list: list[Span], max_bytes: int, compress: bool) -> None:
    stats: dict[str, int] = {}
    grams = wire.batch(span_list, max_bytes, sender_id=5, seq=100, compress=None if compress else False, stats=stats)
    assert all(len(g) <= max_bytes for g in grams)
    decoded = [wire.decode(g) for g in grams]
    assert [d.seq for d in decoded] == list(range(100, 100 + len(grams)))
    out = [s for d in decoded for s in d.spans]
    assert len(out) + stats.get("oversize", 0) + stats.get("unencodable", 0) == len(span_list)
    untouched = [s for s in out if "agenttrace.truncated" not in s.attributes]
    assert stats.get("truncated", 0) == len(out) - len(untouched)
    # spans that fit arrive unchanged and in order
    assert untouched == [s for s in span_list if s in untouched]


def test_batch_packs_many_spans_per_datagram() -> None:
    grams = wire.batch([make_span(name=f"s{i}") for i in range(1000)], 8192, sender_id=1, seq=0)
    assert 1 < len(grams) < 30
    assert sum(len(wire.decode(g).spans) for g in grams) == 1000


def test_oversized_span_is_cut_to_fit_and_marked() -> None:
    big = make_span(
        input_preview="i" * 20_000,
        output_preview="o" * 20_000,
        attributes={"doc": "d" * 30_000, "n": 1},
        events=[Event("log", 1, {"line": "x" * 5000})] * 20,
    )
    stats: dict[str, int] = {}
    (gram,) = wire.batch([big], 4096, sender_id=1, seq=0, stats=stats)
    assert len(gram) <= 4096
    span = wire.decode(gram).spans[0]
    assert span.attributes["agenttrace.truncated"] > 4096
    assert span.name == "step" and span.trace_id == big.trace_id
    assert stats == {"truncated": 1}


def test_span_that_cannot_be_cut_is_counted_oversize() -> None:
    stats: dict[str, int] = {}
    grams = wire.batch([make_span(service="s" * 10_000), make_span()], 2048, sender_id=1, seq=0, stats=stats)
    assert stats == {"oversize": 1}
    assert len(wire.decode(grams[0]).spans) == 1


def test_unencodable_attribute_values_travel_as_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    (gram,) = wire.batch([make_span(attributes={"obj": Thing(), "big": 2**80})], sender_id=1, seq=0)
    attrs = wire.decode(gram).spans[0].attributes
    assert attrs == {"obj": "<thing>", "big": str(2**80)}


def test_lone_surrogates_are_replaced_not_dropped() -> None:
    bad = "bytes \udcff here"
    span = make_span(
        name=bad, input_preview=bad, tags=[bad], attributes={bad: [bad]}, events=[Event(bad, 1, {"k": bad})]
    )
    stats: dict[str, int] = {}
    (gram,) = wire.batch([span], sender_id=1, seq=0, stats=stats)
    got = wire.decode(gram).spans[0]
    assert stats == {}
    assert got.name == got.input_preview == got.tags[0] == "bytes ? here"
    assert got.attributes == {"bytes ? here": ["bytes ? here"]}
    assert (got.events[0].name, got.events[0].attributes) == ("bytes ? here", {"k": "bytes ? here"})


def test_oversized_span_with_lone_surrogates_is_cut_too() -> None:
    stats: dict[str, int] = {}
    span = make_span(input_preview="\udcff" * 5000, attributes={"k": "v\udcff" * 2000})
    (gram,) = wire.batch([span, make_span(name="next")], 2048, sender_id=1, seq=0, stats=stats)
    got = wire.decode(gram).spans
    assert stats == {"truncated": 1}
    assert [s.name for s in got] == ["step", "next"] and "agenttrace.truncated" in got[0].attributes


any_text = st.text(st.characters(exclude_categories=()), max_size=30)


@settings(max_examples=40 * SCALE, deadline=None)
@given(
    st.lists(
        st.builds(
            make_span,
            name=any_text,
            input_preview=st.text(st.characters(exclude_categories=()), max_size=3000),
            tags=st.lists(any_text, max_size=3),
            attributes=st.dictionaries(any_text, any_text | st.integers() | st.none(), max_size=4),
        ),
        max_size=10,
    ),
    st.integers(512, 4096),
)
def test_batch_never_raises_and_accounts_for_every_span(span_list: list[Span], max_bytes: int) -> None:
    stats: dict[str, int] = {}
    grams = wire.batch(span_list, max_bytes, sender_id=1, seq=0, stats=stats)
    assert all(len(g) <= max_bytes for g in grams)
    delivered = sum(len(wire.decode(g).spans) for g in grams)
    assert delivered + stats.get("oversize", 0) + stats.get("unencodable", 0) == len(span_list)
    assert stats.get("unencodable", 0) == 0
