"""The shared-memory ring against a plain deque (Hypothesis stateful testing).

Every combination of builds is run: the producer writes through one build, the
consumer reads through the other (attached by name), so the compiled ring and its
twin are checked against the model and against each other's bytes.
"""

from __future__ import annotations

import importlib
from collections import deque

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from native_helpers import compiled_module

CAPACITY = 256
MAX_RECORD = 64


def _module(build: str):
    if build == "twin":
        return importlib.import_module("agenttrace._native.ring_py")
    return compiled_module("ring")


payloads = st.one_of(
    st.binary(max_size=MAX_RECORD + 8),
    st.integers(0, MAX_RECORD + 8).map(lambda n: bytes([n % 251]) * n),
)


class RingMachine(RuleBasedStateMachine):
    producer_build = "twin"
    consumer_build = "twin"

    def __init__(self) -> None:
        super().__init__()
        self.ring = _module(self.producer_build).Ring.create(CAPACITY, max_record=MAX_RECORD)
        self.reader = _module(self.consumer_build).Ring.attach(self.ring.name)
        self.model: deque[tuple[bytes, int]] = deque()  # (payload, bytes it advances the tail)
        self.head = self.tail = 0
        self.counts = dict.fromkeys(("pushed", "popped", "dropped_full", "dropped_oversize"), 0)

    def _model_push(self, data: bytes) -> bool:
        if len(data) > MAX_RECORD:
            self.counts["dropped_oversize"] += 1
            return False
        need = (len(data) + 11) & ~7
        off = self.head % CAPACITY
        to_end = CAPACITY - off
        free = CAPACITY - (self.head - self.tail)
        advance = need if need <= to_end else to_end + need
        if advance > free:
            self.counts["dropped_full"] += 1
            return False
        self.head += advance
        self.model.append((data, advance))
        self.counts["pushed"] += 1
        return True

    def _model_pop(self) -> bytes:
        data, advance = self.model.popleft()
        self.tail += advance
        self.counts["popped"] += 1
        return data

    @rule(data=payloads)
    def push(self, data: bytes) -> None:
        assert self.ring.push(data) == self._model_push(data)

    @rule(data=payloads)
    def push_memoryview(self, data: bytes) -> None:
        assert self.ring.push(memoryview(bytearray(data))) == self._model_push(data)

    @rule()
    def pop(self) -> None:
        expected = self._model_pop() if self.model else None
        assert self.reader.pop() == expected

    @rule(k=st.integers(0, 12))
    def pop_many(self, k: int) -> None:
        expected = [self._model_pop() for _ in range(min(k, len(self.model)))]
        assert self.reader.pop_many(k) == expected

    @precondition(lambda self: len(self.model) > 0)
    @rule()
    def fill_up(self) -> None:
        # Push until the ring refuses: exercises "full" at every wrap position.
        for i in range(40):
            data = bytes([i]) * (i % (MAX_RECORD + 1))
            ok = self.ring.push(data)
            assert ok == self._model_push(data)
            if not ok:
                break

    @invariant()
    def counters_and_fill_agree(self) -> None:
        for ring in (self.ring, self.reader):
            stats = ring.stats()
            assert {k: stats[k] for k in self.counts} == self.counts
            assert ring.fill() == pytest.approx((self.head - self.tail) / CAPACITY)

    def teardown(self) -> None:
        self.reader.close()
        self.ring.close()
        self.ring.unlink()


_SETTINGS = settings(
    max_examples=40, stateful_step_count=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _case(producer: str, consumer: str):
    machine = type(
        f"RingMachine_{producer}_{consumer}",
        (RingMachine,),
        {"producer_build": producer, "consumer_build": consumer},
    )
    case = machine.TestCase
    case.settings = _SETTINGS
    missing = [b for b in {producer, consumer} if _module(b) is None]
    if missing:
        case = pytest.mark.skip(reason="agenttrace._native.ring is not compiled, or AGENTTRACE_NO_EXTENSIONS=1")(case)
    return case


TestRingTwin = _case("twin", "twin")
TestRingCompiled = _case("compiled", "compiled")
TestRingCompiledToTwin = _case("compiled", "twin")
TestRingTwinToCompiled = _case("twin", "compiled")
