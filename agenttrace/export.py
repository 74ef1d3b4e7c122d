"""Span exporters (JSONL, CSV, Parquet) and the one stable record shape they write.

:class:`SpanRecord` is how a span looks to everything outside the store: the CLI's
``--json``, the HTTP API and every export format use it, so a field name means the
same thing everywhere. Ids are lowercase hex (W3C ``traceparent`` style), the status
is a word, token counts are flat columns and times are both Unix nanoseconds and an
ISO-8601 UTC string.

    >>> from agenttrace.model import Span
    >>> rec = span_record(Span(trace_id=b"\\x01" * 16, span_id=b"\\x02" * 8, name="step",
    ...                        start_ns=1_000_000_000, end_ns=1_500_000_000, status=2))
    >>> (rec.trace_id[:8], rec.status, rec.duration_ms, rec.start_time)
    ('01010101', 'error', 500.0, '1970-01-01T00:00:01.000000Z')
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from agenttrace.errors import AgentTraceError
from agenttrace.model import Span

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "STATUS_NAMES",
    "ExportError",
    "SpanLike",
    "SpanRecord",
    "as_record",
    "export_spans",
    "iter_csv",
    "iter_jsonl",
    "span_record",
    "status_code",
]

EXPORT_FORMATS = ("jsonl", "csv", "parquet")
STATUS_NAMES = {0: "unset", 1: "ok", 2: "error"}
_STATUS_CODES = {v: k for k, v in STATUS_NAMES.items()}


class ExportError(AgentTraceError, ValueError):
    """An export could not be written (unknown format, missing optional dependency)."""


class SpanRecord(msgspec.Struct, kw_only=True):
    """One span with stable, self-describing field names (see the module docstring)."""

    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    kind: str
    status: str  # "unset", "ok" or "error"
    status_message: str = ""
    start_ns: int
    end_ns: int
    start_time: str  # ISO-8601 UTC
    duration_ms: float
    session_id: str = ""
    service: str = ""
    user_id: str = ""
    environment: str = ""
    tags: list[str] = []
    model: str = ""
    provider: str = ""
    service_tier: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None
    cost_source: str = ""
    input_preview: str = ""
    output_preview: str = ""
    attributes: dict[str, Any] = {}
    events: list[dict[str, Any]] = []


CSV_COLUMNS: tuple[str, ...] = tuple(SpanRecord.__struct_fields__)


def status_code(name: str) -> int:
    """``"ok"`` → 1 and so on; raises ``ValueError`` naming the accepted words."""
    try:
        return _STATUS_CODES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown status {name!r}: use one of unset, ok, error") from None


def iso_utc(ns: int) -> str:
    """Unix nanoseconds as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return datetime.fromtimestamp(ns // 1000 / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def span_record(span: Span) -> SpanRecord:
    """The stable record of ``span``."""
    u = span.usage
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_id.hex(),
        name=span.name,
        kind=span.kind,
        status=STATUS_NAMES.get(span.status, str(span.status)),
        status_message=span.status_message,
        start_ns=span.start_ns,
        end_ns=span.end_ns,
        start_time=iso_utc(span.start_ns),
        duration_ms=(span.end_ns - span.start_ns) / 1e6,
        session_id=span.session_id,
        service=span.service,
        user_id=span.user_id,
        environment=span.environment,
        tags=list(span.tags),
        model=span.model,
        provider=span.provider,
        service_tier=span.service_tier,
        input_tokens=u.input_tokens if u else 0,
        output_tokens=u.output_tokens if u else 0,
        cache_read_tokens=u.cache_read_tokens if u else 0,
        cache_write_tokens=u.cache_write_tokens if u else 0,
        reasoning_tokens=u.reasoning_tokens if u else 0,
        total_tokens=(u.input_tokens + u.output_tokens) if u else 0,
        cost_usd=span.cost_usd,
        cost_source=span.cost_source,
        input_preview=span.input_preview,
        output_preview=span.output_preview,
        attributes=dict(span.attributes),
        events=[{"name": e.name, "time_ns": e.time_ns, "attributes": dict(e.attributes)} for e in span.events],
    )


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
    writer = csv.writer(buf, lineterminator="\n")
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
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError(
            "Parquet export needs pyarrow, which is not installed: pip install 'agenttrace[parquet]'"
        ) from None
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
