"""Exporters: every format reads back as the spans that went in, with stable field names."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agenttrace.export import CSV_COLUMNS, ExportError, export_spans, iter_csv, span_record, status_code
from agenttrace.model import Event, Span, Usage


def _spans(n: int) -> list[Span]:
    return [
        Span(
            trace_id=bytes([i % 7]) * 16,
            span_id=i.to_bytes(8, "big"),
            parent_id=b"" if i % 7 == 0 else (i - 1).to_bytes(8, "big"),
            name=f'step, "{i}"\nsecond line',  # CSV quoting must survive commas, quotes, newlines
            start_ns=1_795_305_600 * 10**9 + i * 1000,
            end_ns=1_795_305_600 * 10**9 + i * 1000 + 2_500_000,
            kind="llm" if i % 2 else "tool",
            status=2 if i % 5 == 0 else 1,
            model="gpt-4o" if i % 2 else "",
            usage=Usage(input_tokens=100 + i, output_tokens=10, cache_read_tokens=40) if i % 2 else None,
            cost_usd=0.001 * i if i % 2 else None,
            tags=["a", "b"],
            attributes={"k": i, "nested": {"x": [1, 2]}},
            events=[Event(name="retry", time_ns=5)],
        )
        for i in range(n)
    ]


def test_jsonl_round_trips_every_span(tmp_path: Path) -> None:
    spans = _spans(23)
    progress: list[int] = []
    out = tmp_path / "spans.jsonl"
    assert export_spans(spans, out, "jsonl", progress=progress.append, batch=10) == 23
    assert progress == [10, 10, 3]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 23
    assert rows[1]["trace_id"] == spans[1].trace_id.hex()
    assert rows[1]["parent_id"] == spans[0].span_id.hex()
    assert rows[1]["input_tokens"] == 101 and rows[1]["total_tokens"] == 111
    assert rows[1]["cost_usd"] == pytest.approx(0.001)
    assert rows[0]["cost_usd"] is None and rows[0]["status"] == "error"
    assert rows[3]["attributes"] == {"k": 3, "nested": {"x": [1, 2]}}
    assert rows[3]["events"] == [{"name": "retry", "time_ns": 5, "attributes": {}}]
    assert list(rows[0]) == list(CSV_COLUMNS)  # same names, same order, in every format


def test_csv_quotes_awkward_names_and_keeps_nested_fields_as_json(tmp_path: Path) -> None:
    spans = _spans(3)
    out = tmp_path / "spans.csv"
    export_spans(spans, out, "csv")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == [s.name for s in spans]
    assert json.loads(rows[2]["attributes"]) == {"k": 2, "nested": {"x": [1, 2]}}
    assert rows[0]["cost_usd"] == "" and float(rows[1]["cost_usd"]) == pytest.approx(0.001)


def test_csv_stream_has_a_header_even_when_empty() -> None:
    assert b"".join(iter_csv([])).decode().strip() == ",".join(CSV_COLUMNS)


def test_parquet_reads_back_with_typed_columns(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    spans = _spans(12)
    out = tmp_path / "spans.parquet"
    assert export_spans(spans, out, "parquet", batch=5) == 12
    table = pq.read_table(out)
    assert table.num_rows == 12
    assert table.column("input_tokens").to_pylist()[1] == 101
    assert str(table.schema.field("start_ns").type) == "int64"
    assert table.column("tags").to_pylist()[0] == ["a", "b"]


def test_unknown_format_is_refused_without_leaving_a_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="jsonl, csv, parquet"):
        export_spans(_spans(1), tmp_path / "x.xml", "xml")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_leaves_no_half_file(tmp_path: Path) -> None:
    def broken():
        yield from _spans(3)
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError):
        export_spans(broken(), tmp_path / "x.jsonl", "jsonl")
    assert list(tmp_path.iterdir()) == []


def test_status_words() -> None:
    assert [status_code(w) for w in ("unset", "OK", "error")] == [0, 1, 2]
    with pytest.raises(ValueError, match="unset, ok, error"):
        status_code("failed")
    assert span_record(_spans(1)[0]).status == "error"


def test_parquet_without_pyarrow_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what an install without the extra looks like
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ExportError, match=r"pip install 'agenttrace\[parquet\]'"):
        export_spans(_spans(2), tmp_path / "x.parquet", "parquet")
    assert list(tmp_path.iterdir()) == []


def test_csv_keeps_a_lone_carriage_return_inside_its_field() -> None:
    """Found by the poison-value run (issue 20): "\r" in a name split the row in two."""
    import io

    span = Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="a\rb\nc", start_ns=1, end_ns=2)
    rows = list(csv.DictReader(io.StringIO(b"".join(iter_csv([span, span])).decode(), newline="")))
    assert [r["name"] for r in rows] == ["a\rb\nc", "a\rb\nc"]
