"""The compiled range guard (``_native/bounds.pyx``) and its twin (``agenttrace.bounds``)
clamp, reject and count alike over the whole value space of Span."""

from __future__ import annotations

import time

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from native_helpers import load_build

from agenttrace.bounds import MAX_SKEW_NS, MAX_TOKENS
from agenttrace.model import Event, Span, Usage

NOW = time.time_ns()
INTS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 3, MAX_TOKENS, MAX_TOKENS + 1, 2**53, 2**63 - 1, -(2**63), 2**64 - 1, NOW]),
    st.integers(-(2**63), 2**64 - 1),
    st.integers(NOW - 10**12, NOW + MAX_SKEW_NS + 10**12),
)
FLOATS = st.one_of(st.none(), st.floats(), st.sampled_from([float("nan"), float("inf"), -1.0, 0.0, 1e6, 1e6 + 1]))
SPANS = st.builds(
    Span,
    trace_id=st.just(b"t" * 16),
    span_id=st.just(b"s" * 8),
    name=st.just("x"),
    start_ns=INTS,
    end_ns=INTS,
    status=INTS,
    usage=st.one_of(st.none(), st.builds(Usage, *[INTS] * 6)),
    cost_usd=FLOATS,
    events=st.lists(st.builds(Event, name=st.just("e"), time_ns=INTS), max_size=3),
)

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(list[list[Span]])


def _run(mod, batch: list[list[Span]]):
    copy = _dec.decode(_enc.encode(batch))  # each build gets its own spans to edit
    fixes = mod.sanitize_batch([(b"", spans) for spans in copy], NOW)
    counts = None if fixes is None else (fixes.sanitized, fixes.rejected)
    return _enc.encode(copy), counts


@given(batch=st.lists(st.lists(SPANS, max_size=4), min_size=1, max_size=3))
@settings(max_examples=150, deadline=None)
def test_compiled_and_twin_agree(batch: list[list[Span]]) -> None:
    compiled, twin = load_build("bounds", "compiled"), load_build("bounds", "twin")
    assert _run(compiled, batch) == _run(twin, batch)


@given(batch=st.lists(st.lists(SPANS, max_size=4), min_size=1, max_size=3))
@settings(max_examples=100, deadline=None)
def test_every_stored_value_is_in_range(batch: list[list[Span]]) -> None:
    twin = load_build("bounds", "twin")
    good = [(b"", spans) for spans in _dec.decode(_enc.encode(batch))]
    fixes = twin.sanitize_batch(good, NOW)
    kept = sum(len(spans) for _, spans in good)
    assert kept + (sum(fixes.rejected.values()) if fixes else 0) == sum(len(b) for b in batch)
    for _, spans in good:
        for s in spans:
            assert 0 <= s.start_ns <= s.end_ns <= NOW + MAX_SKEW_NS and 0 <= s.status <= 2
            assert s.cost_usd is None or 0 <= s.cost_usd <= 1e6
            if s.usage is not None:
                assert all(0 <= v <= MAX_TOKENS for v in msgspec.structs.astuple(s.usage))
            assert all(0 <= e.time_ns <= NOW + MAX_SKEW_NS for e in s.events)
    # A second pass finds nothing left to fix.
    assert twin.sanitize_batch(good, NOW) is None
