"""``GuardStage``: the guards run on spans as a worker stores them.

A stage in the sense of docs/architecture.md: ``stage(spans)`` edits spans in place,
after decoding and before the WAL's spans reach the column builders. For each span:

- secrets, personal data and injection markers are looked for in the captured content
  (``input_preview``, ``output_preview``); injection only in what an agent *reads* (the
  output of tool, retrieval, http, database and file spans), where a planted instruction
  comes from;
- a tool called again with the same name and input within one trace counts towards the
  loop guard, and a trace that grows past ``max_trace_spans`` is flagged once;
- each finding adds ``guard.findings`` (a list of ``guard:kind`` labels) to the span's
  attributes and a ``guard.finding`` event (guard, kind, field) to its events, and is
  counted in :attr:`GuardStage.counts`; with ``redact`` on, the matched text is replaced by
  ``[REDACTED:kind]`` before the span is stored.

The matched text itself goes nowhere: not into attributes, events, counters or logs.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from typing import Annotated, Literal

import msgspec

from agenttrace.guards.scan import GUARDS, Finding, Scanner, redact
from agenttrace.model import Event, Span

__all__ = ["FINDING_KINDS", "GuardConfig", "GuardStage", "metric_labels"]

# Span kinds whose output is content an agent reads from outside (a planted instruction).
READ_KINDS = frozenset({"tool", "retrieval", "http", "database", "file", "memory", "rerank"})
# Traces whose loop state is kept per worker; older ones are forgotten first.
TRACES_KEPT = 20_000
# Every kind a guard can report, by guard: the label values of
# ``agenttrace_guard_findings_total{guard,kind}``. A fixed set (the pattern tables and the
# loop guard's two kinds); a kind from elsewhere (an extra pattern) is counted as "other".
FINDING_KINDS: dict[str, frozenset[str]] = {
    **{guard: frozenset(patterns) for guard, patterns in GUARDS.items()},
    "loop": frozenset({"repeated_tool_call", "trace_too_long"}),
}


def metric_labels(label: str) -> tuple[str, str]:
    """``"secret:openai_api_key"`` -> ``("secret", "openai_api_key")``; a guard or kind
    outside :data:`FINDING_KINDS` becomes ``"other"``, so metric labels stay bounded."""
    guard, _, kind = label.partition(":")
    kinds = FINDING_KINDS.get(guard)
    if kinds is None:
        return "other", "other"
    return guard, kind if kind in kinds else "other"


class GuardConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The ``[guards]`` table of the collector's config."""

    enabled: list[Literal["secret", "pii", "injection", "loop"]] = msgspec.field(
        default_factory=lambda: ["secret", "pii", "injection", "loop"]
    )
    redact: bool = False  # replace what a content guard matched before the span is stored
    loop_threshold: Annotated[int, msgspec.Meta(ge=2)] = 5  # same tool, same input, this often in a trace
    max_trace_spans: Annotated[int, msgspec.Meta(ge=1)] = 5_000  # a trace longer than this is flagged once


class GuardStage:
    """Runs the configured guards over each batch of spans (see the module docstring)."""

    def __init__(self, config: GuardConfig | None = None) -> None:
        self.config = config = config or GuardConfig()
        content = [g for g in config.enabled if g in ("secret", "pii")]
        self._content = Scanner(content) if content else None
        self._injection = Scanner(["injection"]) if "injection" in config.enabled else None
        self._loops = "loop" in config.enabled
        self._traces: OrderedDict[bytes, Counter[bytes]] = OrderedDict()
        self.counts: Counter[str] = Counter()  # "guard:kind" -> findings

    def __call__(self, spans: list[Span]) -> None:
        # Batch-wise first (one hint pass over the batch's content, one count per trace),
        # span by span only where that found something worth a closer look.
        found: dict[int, list[tuple[Finding, str]]] = {}
        # Spans of the kinds an agent reads (tool is one): the injection guard's and, for
        # tool spans, the loop guard's; one pass over the batch for both.
        read = [i for i, s in enumerate(spans) if s.kind in READ_KINDS]
        for i in self._candidates(spans, read):
            if hit := self._scan(spans[i]):
                found[i] = hit
        if self._loops:
            self._loop_batch(spans, [i for i in read if spans[i].kind == "tool"], found)
        for i in sorted(found):
            self._mark(spans[i], found[i])

    def _candidates(self, spans: list[Span], read: list[int]) -> set[int]:
        """Spans whose previews hold a hint of some content guard's pattern."""
        picked: set[int] = set()
        if self._content is not None:
            n = len(spans)
            texts = [s.input_preview for s in spans]
            texts += [s.output_preview for s in spans]
            picked.update(i if i < n else i - n for i in self._content.worth_scanning(texts))
        if self._injection is not None and read:
            hits = self._injection.worth_scanning([spans[i].output_preview for i in read])
            picked.update(read[j] for j in hits)
        return picked

    def _loop_batch(self, spans: list[Span], tools: list[int], found: dict[int, list[tuple[Finding, str]]]) -> None:
        """The loop guard over a batch: trace lengths counted once per trace, then tool calls."""
        traces, limit = self._traces, self.config.max_trace_spans
        for trace_id, n in Counter([s.trace_id for s in spans]).items():
            seen = self._trace_state(trace_id)
            before = seen[b""]
            seen[b""] = before + n
            if before <= limit < before + n:  # this batch holds the span past the limit
                nth = limit - before  # 0-based among the batch's spans of this trace
                for i, s in enumerate(spans):
                    if s.trace_id == trace_id:
                        if nth == 0:
                            found.setdefault(i, []).append((Finding("loop", "trace_too_long"), ""))
                            break
                        nth -= 1
        for i in tools:
            s = spans[i]
            seen = traces.get(s.trace_id)
            if seen is None:  # forgotten within this batch (more than TRACES_KEPT traces in it)
                seen = self._trace_state(s.trace_id)
            key = hashlib.blake2b(f"{s.name}\0{s.input_preview}".encode(), digest_size=8).digest()
            seen[key] += 1
            if seen[key] == self.config.loop_threshold:
                found.setdefault(i, []).append((Finding("loop", "repeated_tool_call"), "input_preview"))

    def _trace_state(self, trace_id: bytes) -> Counter[bytes]:
        seen = self._traces.get(trace_id)
        if seen is None:
            seen = self._traces[trace_id] = Counter()
            if len(self._traces) > TRACES_KEPT:
                self._traces.popitem(last=False)
        else:
            self._traces.move_to_end(trace_id)
        return seen

    def _scan(self, span: Span) -> list[tuple[Finding, str]]:
        out = []
        for field in ("input_preview", "output_preview"):
            text = getattr(span, field)
            if not text:
                continue
            findings = self._content.scan(text) if self._content is not None else []
            if self._injection is not None and field == "output_preview" and span.kind in READ_KINDS:
                findings += self._injection.scan(text)
            if findings:
                out.extend((f, field) for f in findings)
                if self.config.redact:
                    setattr(span, field, redact(text, [f for f in findings if f.guard != "injection"]))
        return out

    def _mark(self, span: Span, found: list[tuple[Finding, str]]) -> None:
        labels = sorted({f.label for f, _ in found})
        attrs = dict(span.attributes)
        previous = attrs.get("guard.findings")
        if isinstance(previous, list):
            labels = sorted({*labels, *(str(x) for x in previous)})
        attrs["guard.findings"] = labels
        span.attributes = attrs
        t = span.end_ns
        span.events = [
            *span.events,
            *(Event("guard.finding", t, {"guard": f.guard, "kind": f.kind, "field": field}) for f, field in found),
        ]
        for f, _ in found:
            self.counts[f.label] += 1
