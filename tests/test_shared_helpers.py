"""One formatting module and one label cap, used by every face and counter."""

from __future__ import annotations

import doctest

import agenttrace.format
import agenttrace.labels
from agenttrace.collector.counters import DomainCounters
from agenttrace.collector.metrics import CollectorState
from agenttrace.labels import OTHER, LabelCap
from agenttrace.pricing import CostStage


def test_docstring_examples_hold() -> None:
    for module in (agenttrace.format, agenttrace.labels):
        failed, tried = doctest.testmod(module)
        assert tried > 0 and failed == 0, module.__name__


def test_every_capped_label_uses_the_one_cap() -> None:
    d = DomainCounters(max_label_values=3)
    assert isinstance(d.model, LabelCap) and isinstance(d.service, LabelCap)
    assert CollectorState.__dataclass_fields__["caps"].type == "dict[str, LabelCap]"
    stage = CostStage()
    assert isinstance(stage._unknown_cap, LabelCap)


def test_a_real_other_value_takes_no_slot() -> None:
    cap = LabelCap(1)
    assert cap(OTHER) == OTHER
    assert cap("gpt-4o") == "gpt-4o"  # the one slot is still free
    assert cap("claude") == OTHER
