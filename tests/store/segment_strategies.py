"""Shared test helpers of the store's write side: span strategies and the build fixture.

Not a test module (pytest collects ``test_*.py`` only); imported by test_segment*,
test_wal*, test_writer* and test_crash*.
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from agenttrace._native import columns_py
from agenttrace.model import SPAN_KINDS, Event, Span, Usage
from agenttrace.store import segment

INT64 = st.integers(-(2**63), 2**63 - 1)
UINT64 = st.integers(0, 2**64 - 1)


def _load_compiled():
    try:
        import agenttrace._native.columns as mod
    except ImportError:
        return None
    return mod


COMPILED = _load_compiled()
TWIN = columns_py


@pytest.fixture(params=["compiled", "python"], scope="module")
def columns_mod(request):
    """The compiled column codec and its pure-Python twin, in turn."""
    if request.param == "compiled":
        if COMPILED is None:
            pytest.skip("agenttrace._native.columns is not built (cythonize it to test the compiled build)")
        return COMPILED
    return TWIN


@pytest.fixture(params=["compiled", "python"], scope="module")
def segment_build(request):
    """Run the segment encoder/decoder on the compiled codec, then on the twin."""
    if request.param == "compiled":
        if COMPILED is None:
            pytest.skip("agenttrace._native.columns is not built (cythonize it to test the compiled build)")
        mod = COMPILED
    else:
        mod = TWIN
    saved = segment._cols
    segment._cols = mod
    try:
        yield mod
    finally:
        segment._cols = saved


# Small pools make repeats likely, so dict and const encodings get exercised too.
def pooled(strategy, pool):
    return st.one_of(st.sampled_from(pool), strategy)


msgpack_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20),
)
msgpack_values = st.recursive(
    msgpack_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
attributes = pooled(st.dictionaries(st.text(max_size=10), msgpack_values, max_size=4), [{}, {"k": 1}])
events = st.lists(
    st.builds(Event, name=st.text(max_size=10), time_ns=INT64, attributes=attributes),
    max_size=2,
)
usages = st.one_of(
    st.none(),
    st.just(Usage()),
    st.builds(Usage, *([st.integers(0, 2**63 - 1)] * 6)),
)
labels = lambda pool: pooled(st.text(max_size=12), pool)  # noqa: E731

span_ids = st.binary(min_size=8, max_size=8)
trace_ids = pooled(st.binary(min_size=16, max_size=16), [b"T" * 16, b"U" * 16])


@st.composite
def spans(draw, start=None) -> Span:
    start_ns = draw(start if start is not None else pooled(st.integers(0, 2**63 - 1), [1_763_700_000_000_000_000]))
    end_ns = draw(st.one_of(st.integers(start_ns, min(start_ns + 10**12, 2**63 - 1)), UINT64))
    return Span(
        trace_id=draw(trace_ids),
        span_id=draw(span_ids),
        name=draw(labels(["llm.call", "tool"])),
        start_ns=start_ns,
        end_ns=end_ns,
        parent_id=draw(st.one_of(st.just(b""), span_ids)),
        kind=draw(pooled(st.text(max_size=8), list(SPAN_KINDS))),
        status=draw(pooled(INT64, [0, 1, 2])),
        status_message=draw(labels([""])),
        session_id=draw(labels(["", "s1"])),
        service=draw(labels(["svc"])),
        user_id=draw(labels([""])),
        environment=draw(labels(["prod"])),
        tags=draw(pooled(st.lists(st.text(max_size=6), max_size=3), [[], ["a"]])),
        model=draw(labels(["", "gpt-4o"])),
        provider=draw(labels([""])),
        usage=draw(usages),
        cost_usd=draw(st.one_of(st.none(), st.floats(allow_nan=False))),
        input_preview=draw(st.text(max_size=40)),
        output_preview=draw(st.text(max_size=40)),
        attributes=draw(attributes),
        events=draw(events),
        service_tier=draw(labels([""])),
        cost_source=draw(labels(["", "catalogue"])),
    )


span_lists = st.lists(spans(), min_size=1, max_size=25)


def make_span(i: int, *, trace: int = 0, start_ns: int = 1_763_700_000_000_000_000, **kw) -> Span:
    """A plain, distinct span numbered ``i`` (for tests that count spans)."""
    fields = dict(
        trace_id=trace.to_bytes(16, "big"),
        span_id=i.to_bytes(8, "big"),
        name=f"step-{i % 5}",
        start_ns=start_ns + i * 1000,
        end_ns=start_ns + i * 1000 + 500,
        service="svc",
        session_id=f"sess-{trace}",
        kind="llm" if i % 2 else "tool",
        model="gpt-4o" if i % 2 else "",
        usage=Usage(input_tokens=i, output_tokens=2) if i % 2 else None,
    )
    fields.update(kw)
    return Span(**fields)
