"""``agenttrace status``: is a collector running, where, its rates, and the store's size.

The collector is probed over HTTP (``/healthz``, then ``/api/v1/live``); the store
size is read from the disk, so the command answers with no collector at all.
Exit status: 0 when a collector answers, 1 when none does; ``--wait N`` keeps asking
for up to N seconds first, so scripts can start a collector and wait for it.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from agenttrace.collector.live import LiveSnapshot
from agenttrace.commands._common import DataDirOpt, JsonOpt, store_size
from agenttrace.format import fmt_bytes
from agenttrace.paths import default_data_dir
from agenttrace.query import SkippedSegment

__all__ = ["CollectorStatus", "StatusReport", "StoreStatus", "probe_collector", "status"]

DEFAULT_URL = "http://127.0.0.1:4318"


class CollectorStatus(msgspec.Struct, kw_only=True):
    url: str
    running: bool
    error: str = ""  # why it is not reachable, or why /api/v1/live failed
    live: LiveSnapshot | None = None


class StoreStatus(msgspec.Struct, kw_only=True):
    data_dir: str
    exists: bool
    bytes: int = 0
    files: int = 0
    segments: int = 0
    # Segments holding damage (unreadable, or a chunk failing its checksum): `agenttrace fsck --repair`.
    damaged: list[SkippedSegment] = []
    postgres_backlog_bytes: int | None = None  # WAL bytes not yet in PostgreSQL; None: no sink


class StatusReport(msgspec.Struct, kw_only=True):
    collector: CollectorStatus
    store: StoreStatus


def _get(url: str, *, api_key: str | None, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    if api_key:
        req.add_header("Authorization", f"Bearer {api_key}")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def probe_collector(url: str, *, api_key: str | None = None, timeout: float = 2.0) -> CollectorStatus:
    """Ask the collector at ``url`` whether it lives and for its live figures."""
    base = url.rstrip("/")
    try:
        _get(base + "/healthz", api_key=None, timeout=timeout)
    except urllib.error.HTTPError as exc:
        return CollectorStatus(url=base, running=False, error=f"/healthz answered HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return CollectorStatus(url=base, running=False, error=f"no collector at {base} ({reason})")
    try:
        live = msgspec.json.decode(_get(base + "/api/v1/live", api_key=api_key, timeout=timeout), type=LiveSnapshot)
    except urllib.error.HTTPError as exc:
        hint = " (pass --api-key or set AGENTTRACE_API_KEY)" if exc.code == 401 else ""
        return CollectorStatus(url=base, running=True, error=f"/api/v1/live answered HTTP {exc.code}{hint}")
    except (urllib.error.URLError, OSError, msgspec.DecodeError) as exc:
        return CollectorStatus(url=base, running=True, error=f"/api/v1/live unreadable: {exc}")
    return CollectorStatus(url=base, running=True, live=live)


def _store_status(data_dir: Path) -> StoreStatus:
    if not data_dir.is_dir():
        return StoreStatus(data_dir=str(data_dir), exists=False)
    size, files = store_size(data_dir)
    segments = sum(1 for _ in (data_dir / "segments").rglob("*.seg")) if (data_dir / "segments").is_dir() else 0
    from agenttrace.store.postgres.waltail import disk_backlog

    return StoreStatus(
        data_dir=str(data_dir),
        exists=True,
        bytes=size,
        files=files,
        segments=segments,
        damaged=_damaged(data_dir) if segments else [],
        postgres_backlog_bytes=disk_backlog(data_dir),
    )


def _damaged(data_dir: Path) -> list[SkippedSegment]:
    from agenttrace.errors import StoreError
    from agenttrace.query import open_engine

    try:
        return open_engine(data_dir).inventory().skipped_segments
    except (OSError, StoreError):
        return []


def _print(report: StatusReport) -> None:
    from rich.console import Console
    from rich.markup import escape

    out = Console(highlight=False, soft_wrap=True)
    c, s = report.collector, report.store
    if c.running:
        out.print(f"[green]●[/green] collector running at {c.url}")
    else:
        out.print(f"[red]●[/red] {c.error or 'collector not running'}")
    live = c.live
    if live is not None:
        out.print(
            f"  up {live.uptime_s:,.0f}s · {live.spans_per_s:,.1f} spans/s · {live.datagrams_per_s:,.1f} datagrams/s"
        )
        out.print(
            f"  stored {live.stored_total:,} spans · received {live.received_total:,} datagrams · "
            f"dropped {live.dropped_total:,} · lost {live.lost_total:,}"
        )
        tok = live.tokens_per_s
        out.print(
            f"  tokens/s in {tok.input:,.0f} out {tok.output:,.0f} · cost so far ${live.cost_total_usd:,.4f}"
            f" · workers {sum(w.alive for w in live.workers)}/{len(live.workers)} alive"
        )
    elif c.running and c.error:
        out.print(f"  {c.error}")
    for warning in live.warnings if live is not None else ():
        out.print(f"  [yellow]warning:[/yellow] {escape(warning)}")
    if s.exists:
        out.print(f"store {s.data_dir}: {fmt_bytes(s.bytes)} in {s.segments:,} segments ({s.files:,} files)")
        for d in s.damaged:
            out.print(f"  [red]damaged[/red] {d.path} at offset {d.offset}: {d.reason}")
        if s.damaged:
            out.print(f"  run `agenttrace fsck --repair {s.data_dir}` to quarantine them and keep what reads")
        if s.postgres_backlog_bytes is not None:
            out.print(f"postgres backlog: {fmt_bytes(s.postgres_backlog_bytes)} of WAL not yet in PostgreSQL")
    else:
        out.print(f"store {s.data_dir}: does not exist yet")


def status(
    url: Annotated[str, typer.Option("--url", envvar="AGENTTRACE_URL", help="Collector HTTP address.")] = DEFAULT_URL,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="AGENTTRACE_API_KEY", help="Bearer key, if the API needs one.")
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, help="Wait up to this many seconds for a collector to answer (scripts)."),
    ] = 0.0,
) -> None:
    """Is a collector running, where, its rates, and how big the store is."""
    from agenttrace.commands.render import print_json

    path = Path(os.path.expanduser(data_dir)) if data_dir is not None else default_data_dir()
    collector = probe_collector(url, api_key=api_key)
    deadline = time.monotonic() + wait
    while not collector.running and time.monotonic() < deadline:
        time.sleep(0.2)
        collector = probe_collector(url, api_key=api_key)
    report = StatusReport(collector=collector, store=_store_status(path))
    if as_json:
        print_json(report)
    else:
        _print(report)
    if not report.collector.running:
        raise typer.Exit(1)
