"""Check a data directory: ``agenttrace fsck [--repair] [--verify] [--json] [DATA_DIR]``
(also ``python -m agenttrace.store.fsck``).

Lists every segment (rows, size, bytes per span, time range, WAL records held) and every
WAL (records, numbers, torn tail, damaged ranges), checking the CRC of every column
chunk and rollup section. ``--verify`` also decodes every column of every segment.
Exit status 1 when anything is damaged.

Without ``--repair`` it only reads. ``--repair`` (:func:`repair_segment`) quarantines
each damaged segment: the file is copied to ``DATA_DIR/quarantine/<its path>``; when
its footer and the identity columns (trace and span id, name, start, end) still read,
the rows are salvaged into a new segment under the same name (the same WAL range, so
the writer's exactly-once bookkeeping holds), any other unreadable column taking its
default (say, empty attributes); otherwise the file is moved to the quarantine whole.
WAL damage needs no repair: the writer keeps every intact record at its next open.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from typing import Any

from agenttrace.errors import SegmentCorruptError, StoreError
from agenttrace.store.layout import fsync_dir, list_segments, wal_dir
from agenttrace.store.reader import SegmentReader
from agenttrace.store.wal import scan_wal

__all__ = ["QUARANTINE", "check_segment", "check_wal", "main", "repair_segment", "run"]

QUARANTINE = "quarantine"


def _iso(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).isoformat(timespec="seconds")


def check_segment(path: str, *, verify: bool = False) -> dict[str, Any]:
    """A report of one segment; ``ok`` False with ``error`` when it is damaged."""
    row: dict[str, Any] = {"kind": "segment", "path": path}
    try:
        r = SegmentReader(path)
        if verify:
            r.verify()
        else:
            from agenttrace.store.damage import check_segment_crcs

            fault = check_segment_crcs(r)  # every chunk's CRC: cheap, no decoding
            if fault is not None:
                raise fault
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
        ok=scan.valid_end == scan.size and not scan.damaged,
    )
    problems = [f"{n} bad bytes at {off} (records after them are kept)" for off, n in scan.damaged]
    if scan.valid_end < scan.size:
        problems.append(f"{scan.size - scan.valid_end} bad bytes at {scan.valid_end}")
    if problems:
        row["error"] = "; ".join(problems) + f": {scan.problem}"
    return row


def _quarantine_path(data_dir: str, path: str) -> str:
    rel = os.path.relpath(path, data_dir)
    if rel.startswith(".."):
        rel = os.path.basename(path)
    dest = os.path.join(data_dir, QUARANTINE, rel)
    if os.path.exists(dest):
        dest = f"{dest}.{time.time_ns()}"
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    return dest


def _salvage(path: str) -> tuple[list[Any], list[str], Any] | None:
    """(spans, columns lost, footer) of a damaged segment, or None when nothing is salvageable."""
    from agenttrace.store import segment as seg

    try:
        r = SegmentReader(path)
        rows = r.footer.rows
    except (StoreError, ValueError, OverflowError):
        return None
    cols: dict[str, list] = {}
    lost: list[str] = []
    for name in seg.COLUMN_NAMES:
        try:
            cols.update(r.read_columns([name]))
        except (StoreError, ValueError, OverflowError, KeyError):
            if name in seg._REQUIRED:
                return None
            cols[name] = seg._defaults(name, rows)
            lost.append(name)
    try:
        return seg.join_spans(cols, rows), lost, r.footer
    except (ValueError, TypeError):
        return None


def repair_segment(data_dir: str, path: str) -> dict[str, Any]:
    """Quarantine one damaged segment, salvaging its readable rows (see the module docstring)."""
    from agenttrace.store.rollup import Rollup
    from agenttrace.store.segment import encode_segment

    dest = _quarantine_path(data_dir, path)
    salvaged = _salvage(path)
    if salvaged is None:
        os.replace(path, dest)
        fsync_dir(os.path.dirname(path))
        return {"path": path, "quarantined": dest, "salvaged_rows": 0}
    spans, lost, footer = salvaged
    shutil.copy2(path, dest)  # a copy first: a crash below leaves the damaged original in place
    rollup = Rollup()
    rollup.add_spans(spans)
    blob = encode_segment(
        spans,
        worker=footer.worker,
        seq=footer.seq,
        wal_first_seq=footer.wal_first_seq,
        wal_last_seq=footer.wal_last_seq,
        rollup=rollup.to_bytes(),
    )
    tmp = os.path.join(os.path.dirname(path), f"fsck-{os.path.basename(path)}.tmp")
    with open(tmp, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))
    return {"path": path, "quarantined": dest, "salvaged_rows": len(spans), "lost_columns": lost}


def _check_paths(paths: list[str], verify: bool) -> list[dict[str, Any]]:
    rows = []
    for p in paths:
        if os.path.isdir(p):
            rows += [check_segment(str(i.path), verify=verify) for i in list_segments(p)]
            wd = wal_dir(p)
            if wd.is_dir():
                rows += [check_wal(str(w)) for w in sorted(wd.glob("worker-*.wal"))]
        else:
            rows.append(check_segment(p, verify=verify))
    return rows


def run(paths: list[str], *, verify: bool = False, repair: bool = False, as_json: bool = False) -> int:
    """Check (and with ``repair``, quarantine and salvage) and print; the exit status."""
    if repair:
        verify = True  # repair acts on what a full read finds
    rows = _check_paths(paths, verify)
    repairs: list[dict[str, Any]] = []
    if repair:
        from agenttrace.store.compaction import maintenance_lock

        for p in paths:
            if not os.path.isdir(p):
                continue
            bad = [r["path"] for r in rows if r["kind"] == "segment" and not r["ok"] and r["path"].startswith(p)]
            if bad:
                with maintenance_lock(p):  # no compaction or retention meanwhile
                    repairs += [repair_segment(p, b) for b in bad]
    for row in rows:
        if as_json:
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
    for fix in repairs:
        if as_json:
            print(json.dumps({"kind": "repair", **fix}))
        elif fix["salvaged_rows"]:
            lost = ", ".join(fix["lost_columns"]) or "none"
            print(
                f"repaired {fix['path']}: {fix['salvaged_rows']} rows kept (columns lost: {lost}); "
                f"the damaged file is in {fix['quarantined']}"
            )
        else:
            print(f"quarantined {fix['path']} (nothing readable) to {fix['quarantined']}")
    bad = sum(not r["ok"] for r in rows)
    if not as_json:
        segs = sum(r["kind"] == "segment" for r in rows)
        print(f"{segs} segments, {len(rows) - segs} WAL files, {bad} damaged, {len(repairs)} repaired")
        if bad and not repair:
            print("run with --repair to quarantine damaged segments and keep what reads", file=sys.stderr)
    # After a repair only damage left in place (WAL ranges, kept by the writer) counts.
    return 1 if bad - len(repairs) > 0 else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agenttrace.store.fsck", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", help="data directories or .seg files")
    parser.add_argument("--verify", action="store_true", help="read every column and check every checksum")
    parser.add_argument("--repair", action="store_true", help="quarantine damaged segments, salvaging their rows")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    args = parser.parse_args(argv)
    return run(args.paths, verify=args.verify, repair=args.repair, as_json=args.json)


if __name__ == "__main__":
    raise SystemExit(main())
