"""The batch decoder, compiled and twin, against agenttrace.wire.decode on any bytes."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenttrace._native import decode_py
from agenttrace.errors import WireError
from agenttrace.model import Span, Usage
from agenttrace.wire import decode, encode

try:
    from agenttrace._native import decode as decode_c
except ImportError:  # not built in this checkout
    decode_c = None


@pytest.fixture(
    params=[
        pytest.param(decode_py, id="twin"),
        pytest.param(
            decode_c,
            id="compiled",
            marks=pytest.mark.skipif(decode_c is None, reason="agenttrace._native.decode is not built"),
        ),
    ]
)
def mod(request):
    return request.param


def reference(datagrams: list[bytes]):
    good, errors = [], {}
    for d in datagrams:
        try:
            good.append((d, decode(d).spans))
        except WireError as exc:
            errors[exc.reason] = errors.get(exc.reason, 0) + 1
    return good, errors


def span(i: int) -> Span:
    return Span(
        trace_id=os.urandom(16), span_id=os.urandom(8), name=f"s{i}", start_ns=i, end_ns=i + 1,
        model="m", usage=Usage(input_tokens=i),
    )  # fmt: skip


def test_valid_compressed_and_broken_datagrams(mod):
    ok = encode([span(i) for i in range(3)], sender_id=1, seq=0, compress=False)
    packed = encode([span(i) for i in range(40)], sender_id=1, seq=1, compress=True)
    assert packed[3] & 1
    batch = [ok, packed, ok[:19], b"XX" + ok[2:], ok[:2] + b"\x02" + ok[3:], ok[:-1], ok[:20] + b"\xc1"]
    good, errors = mod.decode_batch(batch)
    assert [len(spans) for _, spans in good] == [3, 40]
    assert good[0][0] is ok
    assert errors == {"truncated": 2, "bad_magic": 1, "unknown_version": 1, "bad_payload": 1}
    assert (good, errors) == reference(batch)


def test_wrong_span_count_is_bad_payload(mod):
    ok = encode([span(0), span(1)], sender_id=1, seq=0)
    lying = ok[:4] + b"\x05\x00" + ok[6:]
    assert mod.decode_batch([lying]) == ([], {"bad_payload": 1})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_any_bytes_match_the_reference_decoder(datagrams):
    # Headers that pass the fast-path check, followed by fuzz.
    datagrams = datagrams + [b"AT\x01\x00" + d for d in datagrams]
    for m in (decode_py, decode_c):
        if m is None:
            continue
        assert m.decode_batch(datagrams) == reference(datagrams)
