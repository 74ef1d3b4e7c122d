"""What every read command shares: options, the store check, and one-sentence errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from agenttrace.errors import AmbiguousIdError, NotFoundError, StoreError, error_message
from agenttrace.format import fmt_bytes, local_time, plural
from agenttrace.paths import default_data_dir
from agenttrace.query.protocol import QueryEngine

__all__ = [
    "EXIT_ERROR",
    "EXIT_USAGE",
    "DataDirOpt",
    "JsonOpt",
    "LimitOpt",
    "ModelOpt",
    "ServiceOpt",
    "SessionOpt",
    "SinceOpt",
    "StatusOpt",
    "UntilOpt",
    "error_message",
    "fail",
    "fmt_bytes",
    "json_printed",
    "local_time",
    "open_engine",
    "plural",
    "resolve_data_dir",
    "run_query",
    "say_cut",
    "status_filter",
    "store_errors",
    "store_size",
    "time_range",
    "warn_skipped",
]

T = TypeVar("T")
STORE_ENV = "AGENTTRACE_STORE"  # a postgresql:// URI: read PostgreSQL instead of the segment store

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Store directory (default: $AGENTTRACE_DATA_DIR, else $XDG_DATA_HOME/agenttrace).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable field names instead of a table.")]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many rows.")]
# The span filters that read the same in every command that offers them.
ServiceOpt = Annotated[str | None, typer.Option("--service", help="Only this service.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Only this model.")]
StatusOpt = Annotated[str | None, typer.Option("--status", help="Only this status: ok, error or unset.")]
SessionOpt = Annotated[str | None, typer.Option("--session", help="Only this session id.")]

EXIT_ERROR = 1  # the store or the collector could not answer (missing dir, unknown id, empty store)
EXIT_USAGE = 2  # the arguments were wrong (bad time string, bad id, bad format), as Click uses 2


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``agenttrace: <message>`` on stderr and exit with ``code``."""
    sys.stderr.write(f"agenttrace: {message}\n")
    raise typer.Exit(code)


def resolve_data_dir(data_dir: Path | None) -> Path:
    """The ``--data-dir`` given, or the default; fails in one sentence if it does not exist."""
    path = data_dir if data_dir is not None else default_data_dir()
    path = Path(os.path.expanduser(path))
    if not path.exists():
        how = "" if data_dir is not None else " (pass --data-dir or set AGENTTRACE_DATA_DIR)"
        fail(f"store directory {path} does not exist{how}")
    if not path.is_dir():
        fail(f"store directory {path} is not a directory")
    return path


def store_size(path: Path) -> tuple[int, int]:
    """``(bytes, files)`` under ``path``: what the store occupies on disk."""
    total = files = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.stat(os.path.join(root, name)).st_size
                files += 1
            except OSError:  # removed by compaction while we walked
                continue
    return total, files


SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only spans that started at or after this: 15m, 24h, 7d, today, or ISO time."),
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Only spans that started before this (same forms as --since).")
]


def time_range(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """``--since``/``--until`` as Unix nanoseconds; a bad string fails with exit 2."""
    from agenttrace.query.timeparse import BadTimeError, parse_time

    try:
        lo = parse_time(since) if since else None
        hi = parse_time(until) if until else None
    except BadTimeError as exc:
        fail(str(exc), EXIT_USAGE)
    if lo is not None and hi is not None and lo >= hi:
        fail("--since must be earlier than --until", EXIT_USAGE)
    return lo, hi


def open_engine(data_dir: Path | None, *, allow_empty: bool = False) -> QueryEngine:
    """A :class:`~agenttrace.query.QueryEngine` over the store; fails in one sentence if there is nothing to read
    (unless ``allow_empty``: ``--json`` then prints the empty document, which a script can read)."""
    from agenttrace.extras import MissingExtraError
    from agenttrace.query import open_engine as open_query_engine

    store = os.environ.get(STORE_ENV, "")  # agenttrace --store postgresql://... (or the env)
    path: Any = store if store.startswith(("postgresql://", "postgres://")) else resolve_data_dir(data_dir)
    try:
        engine = open_query_engine(path)
    except MissingExtraError as exc:  # reading segments needs lz4, of the collector extra
        fail(str(exc))
    try:
        held = engine.inventory()
    except (OSError, StoreError) as exc:
        fail(f"cannot read the store at {path}: {exc}")
    skipped = held.skipped_segments
    if not held.readable and not skipped:
        if allow_empty:
            return engine
        path = path.rpartition("@")[2] if isinstance(path, str) else path  # no password on screen
        fail(f"the store at {path} holds no spans yet (is a collector running and an agent sending to it?)")
    if not held.readable:
        fail(f"every segment in {path} is unreadable ({len(skipped)} corrupt); nothing to show")
    return engine


def status_filter(status: str | None) -> int | None:
    """``--status ok|error|unset`` as the stored status code; a bad word fails with exit 2."""
    from agenttrace.query import status_code

    try:
        return status_code(status) if status is not None else None
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def run_query(data_dir: Path | None, ask: Callable[[QueryEngine], T], *, allow_empty: bool = False) -> T:
    """``ask(engine)`` over the store at ``data_dir``.

    Fails in one sentence when the store cannot answer (see :func:`open_engine` and
    :func:`store_errors`) and warns on stderr about the corrupt segments the answer was
    given without, e.g. ``run_query(data_dir, lambda e: e.session(session_id))``.
    ``allow_empty`` answers from an empty store too (listings pass ``as_json``).
    """
    engine = open_engine(data_dir, allow_empty=allow_empty)
    with store_errors():
        result = ask(engine)
    warn_skipped(result)
    return result


def say_cut(shown: int, total: int | None, what: str, limit: int) -> None:
    """On stderr (stdout stays the table), when a listing was cut at ``--limit``:
    ``20 of 1,284 sessions shown; --limit N for more``. ``total`` None: not counted."""
    if total is not None and total <= shown:
        return
    if total is None and shown < limit:
        return
    if total is None:  # the engine stopped reading once it had the newest ones
        sys.stderr.write(f"{plural(shown, what)} shown, the newest; --limit N for more\n")
    else:
        sys.stderr.write(f"{shown:,} of {plural(total, what)} shown; --limit N for more\n")


def json_printed(result: Any, as_json: bool) -> bool:
    """With ``--json``: print ``result`` as JSON and say so, so the caller prints nothing else."""
    if not as_json:
        return False
    from agenttrace.commands.render import print_json

    print_json(result)
    return True


def warn_skipped(result: Any) -> None:
    """Say on stderr which corrupt segments a result was answered without."""
    skipped = getattr(result, "skipped_segments", None) or []
    if skipped:
        first = skipped[0]
        more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        sys.stderr.write(
            f"agenttrace: warning: answered without {len(skipped)} corrupt segment(s): "
            f"{first.path} at offset {first.offset} ({first.reason}){more}\n"
        )


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn the engine's errors into one sentence and an exit status."""
    try:
        yield
    except NotFoundError as exc:
        fail(error_message(exc))
    except AmbiguousIdError as exc:  # list every candidate, one a line, so the user can copy one
        shown = "".join(f"\n  {m}" for m in exc.matches[:20])
        more = f"\n  ... and {len(exc.matches) - 20} more" if len(exc.matches) > 20 else ""
        fail(f"{exc.prefix!r} matches {len(exc.matches)} ids; give more of the one you mean:{shown}{more}", EXIT_USAGE)
    except StoreError as exc:
        fail(str(exc))
    except ValueError as exc:  # a malformed id or cursor: the user's input
        fail(str(exc), EXIT_USAGE)
