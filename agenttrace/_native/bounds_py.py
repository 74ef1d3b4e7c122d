"""Pure-Python twin of ``bounds.pyx``: the reference implementation is
:func:`agenttrace.bounds.sanitize_batch` (ranges and reasons documented there)."""

from __future__ import annotations

from agenttrace.bounds import sanitize_batch

__all__ = ["sanitize_batch"]
