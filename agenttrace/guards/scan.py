"""One pass of one combined regular expression over a text, yielding findings.

A finding names its guard and kind and where in the text it is, never what matched:
a secret must not reach a log line, a webhook, a metric label or a span attribute.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from itertools import accumulate

import msgspec

from agenttrace.guards.patterns import DIGIT_KINDS, DIGIT_RUN, HINTS, INJECTION, PII, SECRETS, luhn_ok

__all__ = ["GUARDS", "Finding", "Scanner", "redact"]

# For the batch pre-filter: UTF-8 bytes mapped to d (an ASCII digit), s (a separator of
# DIGIT_RUN) or x, so that "a run of digits" is a search with a literal prefix ("ddd"),
# which re runs with a fast substring search instead of a character class per position.
_DIGIT_CLASSES = bytes(ord("d") if 48 <= i <= 57 else ord("s") if chr(i) in " .-)" else ord("x") for i in range(256))
_DIGIT_RUN_CLASSES = re.compile(rb"ddds{0,2}ddd")

GUARDS: dict[str, dict[str, str]] = {"secret": SECRETS, "pii": PII, "injection": INJECTION}


class Finding(msgspec.Struct, frozen=True):
    """``guard`` (secret, pii, injection, loop), ``kind`` (e.g. ``openai_api_key``) and the
    span of characters ``[start, end)`` it covers in the scanned text."""

    guard: str
    kind: str
    start: int = 0
    end: int = 0

    @property
    def label(self) -> str:
        return f"{self.guard}:{self.kind}"


class Scanner:
    """Scans text for the chosen guards' patterns.

    Each kind's cheap hint (:data:`~agenttrace.guards.patterns.HINTS`: substrings of the
    lower-cased text, or a run of digits) picks the kinds worth running; those run as one
    combined regex, compiled once per combination that occurs.

    >>> Scanner(["secret"]).scan("key: sk-proj-abcdefghijklmnopqrstuvwx")
    [Finding(guard='secret', kind='openai_api_key', start=5, end=37)]
    """

    def __init__(
        self, guards: Iterable[str] = ("secret", "pii", "injection"), *, extra: Mapping[str, Mapping[str, str]] = {}
    ) -> None:
        sets = {g: dict(GUARDS[g]) for g in guards}
        for guard, patterns in extra.items():
            sets.setdefault(guard, {}).update(patterns)
        self.guards = tuple(sets)
        self._kinds: list[tuple[str, str, str]] = []  # (guard, kind, pattern), in priority order
        for guard, patterns in sets.items():
            for kind, pattern in patterns.items():
                # Inline flags such as (?i) apply to their own alternative only.
                if pattern.startswith("(?i)"):
                    pattern = f"(?i:{pattern[4:]})"
                self._kinds.append((guard, kind, pattern))
        # One regex over all hints finds which kinds are worth running, in C, in one pass.
        self._by_hint: dict[str, list[int]] = {}
        self._always: list[int] = []
        self._digit: list[int] = []
        for i, (_, kind, _) in enumerate(self._kinds):
            if kind in DIGIT_KINDS:
                self._digit.append(i)
            elif kind in HINTS:
                for hint in HINTS[kind]:
                    self._by_hint.setdefault(hint, []).append(i)
            else:
                self._always.append(i)
        # The hints as a trie-shaped regex (re tries one branch per first character instead
        # of every hint at every position: 20x faster on prose); digit runs (the hint of
        # card and phone numbers) are one more alternative of the same pass.
        alternatives = [_trie_regex(sorted(self._by_hint))] if self._by_hint else []
        if self._digit:
            alternatives.append(DIGIT_RUN)
        self._hint_re = re.compile("|".join(alternatives)) if alternatives else None
        self._compiled: dict[tuple[int, ...], re.Pattern[str]] = {}
        # A hint that starts with another hint is present only where that one is ("sk-ant-",
        # "sk-"); the longer one is looked for only then.
        hints = sorted(self._by_hint)
        self._hints = [h for h in hints if not any(h != o and h.startswith(o) for o in hints)]
        self._longer = {o: [h for h in hints if h != o and h.startswith(o)] for o in self._hints}
        self._digit_re = re.compile(DIGIT_RUN)

    def _regex(self, picked: tuple[int, ...]) -> re.Pattern[str]:
        regex = self._compiled.get(picked)
        if regex is None:
            regex = re.compile("|".join(f"(?P<g{i}>{self._kinds[i][2]})" for i in picked))
            self._compiled[picked] = regex
        return regex

    def worth_scanning(self, texts: list[str]) -> list[int]:
        """Indices of the ``texts`` in which :meth:`scan` may find something (a superset).

        One pass per hint over all of them joined (``str.__contains__``, a fast substring
        search), instead of a regex per text: a worker's batch is hundreds of short
        previews, and per-call overhead and the regex's per-position work dominated. No
        hint contains the separator, so no hint match spans two texts."""
        if self._always:
            return [i for i, t in enumerate(texts) if t]
        joined = "\x00".join(texts)
        lowered = joined.lower()
        if len(lowered) != len(joined):  # a character whose lower case is longer: positions shift
            return [i for i, t in enumerate(texts) if t]
        hits = []
        for hint in self._hints:
            if hint in lowered:
                for h in (hint, *self._longer[hint]):
                    pos = lowered.find(h)
                    while pos >= 0:
                        hits.append(pos)
                        pos = lowered.find(h, pos + 1)
        if self._digit:
            classes = lowered.encode("utf-8", "surrogatepass").translate(_DIGIT_CLASSES)
            if _DIGIT_RUN_CLASSES.search(classes) is not None:
                if lowered.isascii():  # byte offsets are character offsets
                    hits.extend(m.start() for m in _DIGIT_RUN_CLASSES.finditer(classes))
                else:
                    return sorted(
                        {*self._texts_at(texts, hits), *(i for i, t in enumerate(texts) if self._digit_re.search(t))}
                    )
        return sorted(set(self._texts_at(texts, hits))) if hits else []

    @staticmethod
    def _texts_at(texts: list[str], positions: list[int]) -> list[int]:
        if not positions:
            return []
        starts = list(accumulate((len(t) + 1 for t in texts), initial=0))
        return [bisect_right(starts, pos) - 1 for pos in positions]

    def scan(self, text: str) -> list[Finding]:
        if not text:
            return []
        hits = self._hint_re.findall(text.lower()) if self._hint_re is not None else ()
        if not hits and not self._always:
            return []  # the common case: nothing in the text is worth a closer look
        picked = set(self._always)
        for hit in set(hits):
            picked.update(self._digit if hit[0].isdigit() else self._by_hint[hit])
        if not picked:
            return []
        found = []
        for m in self._regex(tuple(sorted(picked))).finditer(text):
            guard, kind, _ = self._kinds[int((m.lastgroup or "g0")[1:])]
            if kind == "credit_card" and not luhn_ok(m.group()):
                continue
            found.append(Finding(guard, kind, m.start(), m.end()))
        return found


def _trie_regex(words: list[str]) -> str:
    """A regex matching any of ``words``, shaped as their prefix trie (longest match first)."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        optional = "" in node
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if optional else body

    return build(trie)


def redact(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with every finding replaced by ``[REDACTED:kind]``."""
    out, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < pos or f.end <= f.start:
            continue
        out.append(text[pos : f.start])
        out.append(f"[REDACTED:{f.kind}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
