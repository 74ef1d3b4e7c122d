"""Which sealed segments hold damage, found cheaply and remembered.

A segment whose footer reads can still hold a damaged column chunk or rollup section
in the middle. A query that answers from a rollup, or from a page of rows that avoids
the chunk, would never notice; the user must still be told. So the query engine checks
each live segment once: the CRC-32 of every column chunk and of the rollup section
(no decompression, no decoding: a sequential read at checksum speed). Segments are
immutable, so the verdict is kept by ``(path, size, mtime_ns)``: in memory, and in
``DATA_DIR/.segment-checks`` (msgpack) so a CLI run does not read the store again.

>>> import tempfile
>>> DamageChecks(tempfile.mkdtemp()).known
0
"""

from __future__ import annotations

import contextlib
import os
import zlib
from pathlib import Path
from typing import Any

import msgspec

from agenttrace.errors import SegmentCorruptError, StoreError

__all__ = ["CACHE_NAME", "DamageChecks", "check_segment_crcs"]

CACHE_NAME = ".segment-checks"


class _Verdict(msgspec.Struct, array_like=True, frozen=True):
    size: int
    mtime_ns: int
    offset: int  # -1: sound
    reason: str = ""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(dict[str, _Verdict])


def check_segment_crcs(reader: Any) -> SegmentCorruptError | None:
    """Check every column chunk's and the rollup section's CRC; the first fault (with its
    path and byte offset), or None."""
    path = reader.path
    try:
        with open(path, "rb") as f:
            for entry in reader.footer.columns:
                if not entry.length:
                    continue
                f.seek(entry.offset)
                data = f.read(entry.length)
                if len(data) != entry.length:
                    return SegmentCorruptError(path, entry.offset, f"column {entry.name!r} is truncated")
                if zlib.crc32(data) != entry.crc32:
                    return SegmentCorruptError(path, entry.offset, f"column {entry.name!r} checksum mismatch")
        reader.rollup_bytes()
    except SegmentCorruptError as exc:
        return exc
    except (OSError, StoreError) as exc:
        return SegmentCorruptError(path, 0, str(exc))
    return None


class DamageChecks:
    """The damage verdict of each segment, checked once per file version."""

    def __init__(self, data_dir: str | os.PathLike) -> None:
        self.cache_path = Path(data_dir) / CACHE_NAME
        self._verdicts: dict[str, _Verdict] = {}
        self._dirty = False
        with contextlib.suppress(OSError, msgspec.DecodeError, ValueError):
            self._verdicts = _decoder.decode(self.cache_path.read_bytes())

    @property
    def known(self) -> int:
        return len(self._verdicts)

    def check(self, reader: Any, size: int, mtime_ns: int) -> SegmentCorruptError | None:
        """The fault of the segment ``reader`` opened (at this size and mtime), or None."""
        v = self._verdicts.get(reader.path)
        if v is None or v.size != size or v.mtime_ns != mtime_ns:
            fault = check_segment_crcs(reader)
            v = _Verdict(size, mtime_ns, -1 if fault is None else fault.offset, "" if fault is None else fault.detail)
            self._verdicts[reader.path] = v
            self._dirty = True
        return None if v.offset < 0 else SegmentCorruptError(reader.path, v.offset, v.reason)

    def keep_only(self, paths: set[str]) -> None:
        """Forget files that are gone (compacted, expired, quarantined)."""
        for p in [p for p in self._verdicts if p not in paths]:
            del self._verdicts[p]
            self._dirty = True

    def save(self) -> None:
        """Write the verdicts (best effort: a read-only data directory just re-checks next time)."""
        if not self._dirty:
            return
        tmp = self.cache_path.with_name(f"{CACHE_NAME}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(_encoder.encode(self._verdicts))
            os.replace(tmp, self.cache_path)
            self._dirty = False
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
