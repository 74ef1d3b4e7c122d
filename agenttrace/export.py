"""Span exporters (JSONL, CSV, Parquet): they write :class:`SpanRecord`, the one stable
record shape of :mod:`agenttrace.query.records` (re-exported here with ``span_record``,
``status_code``, ``STATUS_NAMES`` and ``iso_utc`` for scripts that import them from here).

    >>> from agenttrace.model import Span
    >>> spans = [Span(trace_id=b"\\x01" * 16, span_id=b"\\x02" * 8, name="step", start_ns=0, end_ns=1)]
    >>> b"".join(iter_jsonl(spans)).count(b"\\n")
    1
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from agenttrace.errors import AgentTraceError
from agenttrace.extras import MissingExtraError, require
from agenttrace.format import iso_utc
from agenttrace.model import Span

# The record shape belongs to the query layer; exporters write what it returns.
from agenttrace.query.records import STATUS_NAMES, SpanRecord, span_record, status_code

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "STATUS_NAMES",
    "ExportError",
    "SpanLike",
    "SpanRecord",
    "as_record",
    "export_spans",
    "iso_utc",
    "iter_csv",
    "iter_jsonl",
    "span_record",
    "status_code",
]

EXPORT_FORMATS = ("jsonl", "csv", "parquet")


class ExportError(AgentTraceError, ValueError):
    """An export could not be written (unknown format, missing optional dependency)."""


CSV_COLUMNS: tuple[str, ...] = tuple(SpanRecord.__struct_fields__)


_json = msgspec.json.Encoder()


SpanLike = Span | SpanRecord


def as_record(span: SpanLike) -> SpanRecord:
    """``span`` as a :class:`SpanRecord` (records pass through unchanged)."""
    return span if isinstance(span, SpanRecord) else span_record(span)


def iter_jsonl(spans: Iterable[SpanLike]) -> Iterator[bytes]:
    """One JSON object per span, each line ending in ``\\n``."""
    for span in spans:
        yield _json.encode(as_record(span)) + b"\n"


def _csv_row(rec: SpanRecord) -> list[Any]:
    row: list[Any] = []
    for name in CSV_COLUMNS:
        value = getattr(rec, name)
        if isinstance(value, dict | list):
            value = _json.encode(value).decode()  # nested fields as JSON text in one cell
        elif value is None:
            value = ""
        row.append(value)
    return row


def iter_csv(spans: Iterable[SpanLike], *, chunk_rows: int = 1000) -> Iterator[bytes]:
    """CSV with a header row (:data:`CSV_COLUMNS`), yielded in chunks of UTF-8 bytes."""
    buf = io.StringIO()
    # RFC 4180 line ends: the csv module quotes a field only for the characters of its
    # line terminator, so with "\n" alone a field holding a lone "\r" went out unquoted
    # and split the row for every reader.
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for rows, span in enumerate(spans, 1):
        writer.writerow(_csv_row(as_record(span)))
        if rows % chunk_rows == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _write_stream(chunks: Iterator[bytes], out: BinaryIO) -> None:
    for chunk in chunks:
        out.write(chunk)


def _write_parquet(spans: Iterable[SpanLike], path: Path, progress: Callable[[int], None] | None, batch: int) -> int:
    try:
        pa = require("parquet", "pyarrow", "Parquet export")
        pq = require("parquet", "pyarrow.parquet", "Parquet export")
    except MissingExtraError as exc:
        raise ExportError(str(exc)) from None  # an export error, like every other reason it fails
    types = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}
    schema = pa.schema(
        [
            (name, pa.list_(pa.string()) if name == "tags" else types[_ARROW_TYPES.get(name, "string")])
            for name in CSV_COLUMNS
        ]
    )
    count = 0
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        rows: list[dict[str, Any]] = []
        for span in spans:
            rec = msgspec.structs.asdict(as_record(span))
            rec["attributes"] = _json.encode(rec["attributes"]).decode()
            rec["events"] = _json.encode(rec["events"]).decode()
            rows.append(rec)
            if len(rows) >= batch:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count += len(rows)
                if progress:
                    progress(len(rows))
                rows = []
        if rows or count == 0:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
            if progress and rows:
                progress(len(rows))
    return count


# attributes and events are JSON text in Parquet, as in CSV: their shape varies per span.
_ARROW_TYPES = {
    "start_ns": "int64",
    "end_ns": "int64",
    "duration_ms": "float64",
    "input_tokens": "int64",
    "output_tokens": "int64",
    "cache_read_tokens": "int64",
    "cache_write_tokens": "int64",
    "reasoning_tokens": "int64",
    "total_tokens": "int64",
    "cost_usd": "float64",
}


def export_spans(
    spans: Iterable[SpanLike],
    path: str | Path,
    fmt: str,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 5000,
) -> int:
    """Write ``spans`` (Spans or SpanRecords) to ``path`` as ``fmt`` (jsonl, csv or parquet); return the count.

    ``progress(n)`` is called after each ``n`` spans written. The file is written
    to ``PATH.tmp`` and renamed, so a failed export never leaves a half file.
    """
    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    count = 0

    def counted() -> Iterator[SpanLike]:
        nonlocal count
        pending = 0
        for span in spans:
            yield span
            count += 1
            pending += 1
            if progress and pending >= batch:
                progress(pending)
                pending = 0
        if progress and pending:
            progress(pending)

    try:
        if fmt == "parquet":
            count = _write_parquet(spans, tmp, progress, batch)
        else:
            with open(tmp, "wb") as out:
                _write_stream(iter_jsonl(counted()) if fmt == "jsonl" else iter_csv(counted()), out)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return count
