"""Read sealed segments: footer first, then only the columns asked for.

>>> import tempfile
>>> from agenttrace.model import Span
>>> from agenttrace.store.writer import SegmentWriter
>>> d = tempfile.mkdtemp()
>>> with SegmentWriter(d, 0) as w:
...     w.append(b"raw", [Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="a", start_ns=1, end_ns=2)])
>>> [info] = list_segments(d)
>>> r = SegmentReader(info.path)
>>> r.footer.rows, r.read_columns(["name", "end_ns"])
(1, {'name': ['a'], 'end_ns': [2]})
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from agenttrace.errors import SegmentCorruptError, StoreError
from agenttrace.model import Span
from agenttrace.store import segment as _seg
from agenttrace.store.layout import SegmentInfo, list_segments
from agenttrace.store.segment import COLUMN_NAMES, ColumnEntry, Footer

__all__ = ["OpenedSegments", "SegmentReader", "SegmentReplacedError", "list_segments", "open_segments"]


class SegmentReplacedError(StoreError):
    """The file at a reader's path is no longer the one it opened (compaction replaced
    it under the same name). The footer read before would not match: open it again."""


class SegmentReader:
    """One sealed segment. Opening reads the 24-byte trailer and the footer only;
    columns are read (and CRC-checked, and decompressed) when asked for.

    Raises :class:`~agenttrace.errors.SegmentCorruptError` (with ``path`` and
    ``offset``) for a truncated or damaged file, at open for the trailer and footer,
    at read for a column."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                self._identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
                size = st.st_size
                self.size = size
                if size < _seg.MIN_SIZE:
                    raise SegmentCorruptError(self.path, 0, f"file of {size} bytes is shorter than a segment")
                header = f.read(_seg.HEADER.size)
                f.seek(size - _seg.TRAILER.size)
                f_off, f_len, f_crc = _seg.parse_trailer(self.path, size, f.read(_seg.TRAILER.size))
                _seg.check_header(self.path, header)
                f.seek(f_off)
                self.footer: Footer = _seg.parse_footer(self.path, f.read(f_len), f_off, f_crc)
        except OSError as exc:
            raise StoreError(f"cannot read segment {self.path}: {exc.strerror or exc}") from exc
        self._directory = {e.name: e for e in self.footer.columns}

    def __repr__(self) -> str:
        return f"SegmentReader({self.path!r}, rows={self.footer.rows})"

    @property
    def rows(self) -> int:
        return self.footer.rows

    # --- skipping ---------------------------------------------------------------

    def may_contain_trace(self, trace_id: bytes) -> bool:
        """False when the segment certainly holds no span of ``trace_id`` (Bloom filter)."""
        bloom = self.footer.trace_bloom
        return bloom is None or bloom.may_contain(bytes(trace_id))

    def may_contain_session(self, session_id: str) -> bool:
        """False when the segment certainly holds no span of ``session_id``."""
        bloom = self.footer.session_bloom
        if not session_id:
            return True
        return bloom is None or bloom.may_contain(session_id.encode("utf-8", "surrogatepass"))

    def overlaps(self, start_ns: int | None = None, end_ns: int | None = None) -> bool:
        """Whether any span may start in ``[start_ns, end_ns)``."""
        f = self.footer
        return (start_ns is None or f.max_start_ns >= start_ns) and (end_ns is None or f.min_start_ns < end_ns)

    # --- reading ----------------------------------------------------------------

    def read_columns(self, names: Iterable[str], rows: Sequence[int] | None = None) -> dict[str, list]:
        """The named columns as plain lists (only those columns are read from disk).

        Names are the Span fields with ``usage`` flattened: ``has_usage`` and
        ``input_tokens`` .. ``cache_write_1h_tokens`` (0 where there is no usage);
        ``cost_usd`` holds None where unset. ``rows`` keeps only those row numbers,
        in that order."""
        names = list(names)
        rows = None if rows is None else list(rows)
        with self._open() as f:
            return _seg.read_columns_from(self.path, self.footer, names, rows, lambda e: _fetch(self.path, f, e))

    def read_spans(self, rows: Sequence[int] | None = None) -> list[Span]:
        """Spans equal to those written, in append order (or of ``rows`` only)."""
        rows = None if rows is None else list(rows)
        cols = self.read_columns(COLUMN_NAMES, rows)
        return _seg.join_spans(cols, self.footer.rows if rows is None else len(rows))

    def rows_where(self, name: str, value: Any) -> list[int]:
        """Row numbers whose column ``name`` equals ``value`` (e.g. a trace id)."""
        if name not in _seg.COLUMN_TYPES:
            raise KeyError(f"no column {name!r}; columns are {', '.join(COLUMN_NAMES)}")
        with self._open() as f:
            return _seg.find_rows(self.path, self.footer, name, value, lambda e: _fetch(self.path, f, e))

    def rollup_bytes(self) -> bytes | None:
        """The raw rollup section, checked against its CRC; None when the segment has none."""
        ref = self.footer.rollup
        if ref is None:
            return None
        with self._open() as f:
            f.seek(ref.offset)
            data = f.read(ref.length)
        import zlib

        if len(data) != ref.length or zlib.crc32(data) != ref.crc32:
            raise SegmentCorruptError(self.path, ref.offset, "rollup section checksum mismatch")
        return data

    def rollup(self) -> Any:
        """The segment's per-minute :class:`~agenttrace.store.rollup.Rollup`."""
        data = self.rollup_bytes()
        if data is None:
            raise StoreError(f"segment {self.path} has no rollup section")
        from agenttrace.store.rollup import Rollup

        try:
            return Rollup.from_bytes(data)
        except (ValueError, msgspec.DecodeError) as exc:
            raise SegmentCorruptError(self.path, self.footer.rollup.offset, f"rollup does not decode: {exc}") from None

    def verify(self) -> None:
        """Read and check every column chunk and section; raise on the first bad one."""
        with self._open() as f:
            for entry in self.footer.columns:
                if entry.length:
                    _seg.decode_chunk(self.path, entry, _fetch(self.path, f, entry))
        self.rollup_bytes()
        self.read_spans()

    def _open(self):
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - returned to a with block
        except OSError as exc:
            raise StoreError(f"cannot read segment {self.path}: {exc.strerror or exc}") from exc
        st = os.fstat(f.fileno())
        if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != self._identity:
            f.close()
            raise SegmentReplacedError(
                f"segment {self.path} was replaced since it was opened (compaction); open it again"
            )
        return f


def _fetch(path: str, f, entry: ColumnEntry) -> bytes:
    f.seek(entry.offset)
    data = f.read(entry.length)
    if len(data) != entry.length:
        raise SegmentCorruptError(path, entry.offset, f"column {entry.name!r} is truncated")
    return data


class OpenedSegments(msgspec.Struct):
    """Readers for every segment that opened, and the errors of those that did not."""

    readers: list[SegmentReader]
    skipped: list[SegmentCorruptError]
    infos: list[SegmentInfo]


def open_segments(data_dir: str | os.PathLike, *, infos: list[SegmentInfo] | None = None) -> OpenedSegments:
    """Open every segment of ``data_dir``; a corrupt one is skipped and reported, not fatal."""
    infos = list_segments(data_dir) if infos is None else infos
    readers, skipped, kept = [], [], []
    for info in infos:
        try:
            readers.append(SegmentReader(info.path))
            kept.append(info)
        except SegmentCorruptError as exc:
            skipped.append(exc)
        except StoreError as exc:
            if os.path.exists(info.path):
                skipped.append(SegmentCorruptError(info.path, 0, str(exc)))
    return OpenedSegments(readers, skipped, kept)
