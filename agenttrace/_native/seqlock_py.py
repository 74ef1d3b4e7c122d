"""Pure-Python twin of seqlock.pyx (same layout and names; see its docstring).

Python has no fences: this twin relies on x86-64's total store order (stores are seen in
program order, loads are not reordered with older loads), where it is correct. On
weaker machines (ARM64) the compiled module, whose C11 fences make the order explicit,
is the one that holds; the twin is for machines without a compiler and for tests.
"""

from __future__ import annotations

HEADER = 16


def publish(area: memoryview | bytearray, data: bytes) -> None:
    """Write ``data`` into ``area`` under the seqlock (one writer only)."""
    view = memoryview(area)
    n = len(data)
    if len(view) < HEADER or n > len(view) - HEADER:
        raise ValueError(f"{n} bytes do not fit a seqlock area of {len(view)} bytes")
    words = view[:HEADER].cast("Q")
    try:
        seq = words[0]
        words[0] = seq + 1  # odd: writing
        words[1] = n
        view[HEADER : HEADER + n] = data
        words[0] = seq + 2
    finally:
        words.release()


def read(area: memoryview | bytes | bytearray) -> bytes | None:
    """The bytes last published into ``area``, or None when a publish overlapped the copy."""
    view = memoryview(area)
    if len(view) < HEADER:
        raise ValueError(f"a seqlock area holds at least {HEADER} bytes, got {len(view)}")
    words = view[:HEADER].cast("Q")
    try:
        s1 = words[0]
        if s1 & 1:
            return None
        n = words[1]
        if n > len(view) - HEADER:
            return None
        out = bytes(view[HEADER : HEADER + n])
        return out if words[0] == s1 else None
    finally:
        words.release()
