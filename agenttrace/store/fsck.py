"""Check a data directory: ``python -m agenttrace.store.fsck [--verify] [--json] DATA_DIR...``

Lists every segment (rows, size, bytes per span, time range, WAL records held) and every
WAL (records, numbers, torn tail). ``--verify`` also reads every column of every
segment and checks every checksum. Exit status 1 when anything is damaged. Read-only:
it never repairs (the writer does that at its next open, see docs/store.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from typing import Any

from agenttrace.errors import SegmentCorruptError, StoreError
from agenttrace.store.layout import list_segments, wal_dir
from agenttrace.store.reader import SegmentReader
from agenttrace.store.wal import scan_wal

__all__ = ["check_segment", "check_wal", "main"]


def _iso(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).isoformat(timespec="seconds")


def check_segment(path: str, *, verify: bool = False) -> dict[str, Any]:
    """A report of one segment; ``ok`` False with ``error`` when it is damaged."""
    row: dict[str, Any] = {"kind": "segment", "path": path}
    try:
        r = SegmentReader(path)
        if verify:
            r.verify()
        f = r.footer
        row.update(
            rows=f.rows,
            bytes=r.size,
            bytes_per_span=round(r.size / f.rows, 1),
            first=_iso(f.min_start_ns),
            last=_iso(f.max_start_ns),
            wal=[f.wal_first_seq, f.wal_last_seq],
            services=f.services,
            ok=True,
        )
    except (StoreError, ValueError, OverflowError) as exc:
        row.update(ok=False, error=str(exc))
    return row


def check_wal(path: str) -> dict[str, Any]:
    """A report of one WAL file; ``ok`` False when it has a bad tail or header."""
    row: dict[str, Any] = {"kind": "wal", "path": path}
    try:
        scan = scan_wal(path)
    except (OSError, SegmentCorruptError) as exc:
        return {**row, "ok": False, "error": str(exc)}
    row.update(
        base_seq=scan.base_seq,
        records=len(scan.records),
        seq=[scan.records[0].seq, scan.records[-1].seq] if scan.records else None,
        bytes=scan.size,
        ok=scan.valid_end == scan.size,
    )
    if scan.valid_end < scan.size:
        row["error"] = f"{scan.size - scan.valid_end} bad bytes at {scan.valid_end}: {scan.problem}"
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agenttrace.store.fsck", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", help="data directories or .seg files")
    parser.add_argument("--verify", action="store_true", help="read every column and check every checksum")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    args = parser.parse_args(argv)
    rows = []
    for p in args.paths:
        if os.path.isdir(p):
            rows += [check_segment(i.path, verify=args.verify) for i in list_segments(p)]
            wd = wal_dir(p)
            if wd.is_dir():
                rows += [check_wal(str(w)) for w in sorted(wd.glob("worker-*.wal"))]
        else:
            rows.append(check_segment(p, verify=args.verify))
    for row in rows:
        if args.json:
            print(json.dumps(row))
        elif not row["ok"]:
            print(f"{row['path']}  BAD: {row['error']}")
        elif row["kind"] == "segment":
            print(
                f"{row['path']}  rows={row['rows']}  {row['bytes']} B ({row['bytes_per_span']} B/span)  "
                f"{row['first']} .. {row['last']}  wal={row['wal'][0]}..{row['wal'][1]}"
            )
        else:
            print(f"{row['path']}  records={row['records']} seq={row['seq']} base_seq={row['base_seq']}")
    bad = sum(not r["ok"] for r in rows)
    if not args.json:
        segs = sum(r["kind"] == "segment" for r in rows)
        print(f"{segs} segments, {len(rows) - segs} WAL files, {bad} damaged")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
