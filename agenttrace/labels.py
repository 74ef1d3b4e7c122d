"""Capping label values that come from users (model, service names).

A metric label or a counter key taken from user data must not grow without bound: a bug
upstream that puts a request id in the model name would otherwise grow memory and
Prometheus series forever. :class:`LabelCap` admits the first ``cap`` distinct values and
maps every later one to :data:`OTHER`. Every capped label of the product uses it.

>>> cap = LabelCap(2)
>>> [cap(v) for v in ("a", "b", "c", "a", "other")]
['a', 'b', 'other', 'a', 'other']
"""

from __future__ import annotations

__all__ = ["OTHER", "LabelCap"]

OTHER = "other"


class LabelCap:
    """Admits the first ``cap`` distinct values; later ones (and ``"other"`` itself) map to ``"other"``."""

    __slots__ = ("cap", "seen")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self.seen:
            return value
        if len(self.seen) < self.cap and value != OTHER:
            self.seen.add(value)
            return value
        return OTHER
