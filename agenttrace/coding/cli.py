"""The ``agenttrace wrap`` and ``agenttrace import`` commands (thin: the work is in
:mod:`agenttrace.coding.wrap` and :mod:`agenttrace.coding.importers`)."""

from __future__ import annotations

import re
import sys

import typer

__all__ = ["parse_duration", "wrap"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

WRAP_CONTEXT = {"allow_interspersed_args": False, "ignore_unknown_options": True}


def parse_duration(text: str) -> float:
    """``"90s"``, ``"5m"``, ``"1.5h"``, ``"250ms"`` or plain seconds, as seconds.

    >>> parse_duration("5m"), parse_duration("30")
    (300.0, 30.0)
    """
    m = _DURATION.match(text)
    if m is None or float(m.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r}: expected a positive duration such as 30s, 5m or 1h")
    return float(m.group(1)) * _SECONDS[(m.group(2) or "s").lower()]


def wrap(
    command: list[str] = typer.Argument(..., metavar="-- CMD [ARGS...]", help="The command to run."),
    name: str | None = typer.Option(None, "--name", help="Session and agent-span name (default: the command)."),
    session_id: str | None = typer.Option(
        None, "--session-id", help="Session id (default: $AGENTTRACE_SESSION_ID, else a new one)."
    ),
    user_id: str | None = typer.Option(None, "--user-id", help="User the session belongs to."),
    tags: str = typer.Option("", "--tags", help="Comma-separated session tags, e.g. refactor,backend."),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        help="Collector datagram endpoint (default: $AGENTTRACE_ENDPOINT, else udp://127.0.0.1:4319).",
    ),
    git_auto_link: bool | None = typer.Option(
        None,
        "--git-auto-link/--no-git-auto-link",
        help="Record HEAD before/after, commits and changed files (default: on in a git work tree).",
    ),
    auto_checkpoint: bool = typer.Option(False, "--auto-checkpoint", help="Record a checkpoint span periodically."),
    checkpoint_interval: str = typer.Option("5m", "--checkpoint-interval", help="Time between auto checkpoints."),
    git_commit_on_complete: bool = typer.Option(
        False, "--git-commit-on-complete", help="Commit what the command left uncommitted (git add -A) when it ends."
    ),
) -> None:
    """Run a coding agent (or any command) as a traced session: `agenttrace wrap -- claude`.

    The terminal is the command's own; wrap exits with its status (128+N for signal N).
    """
    from agenttrace.coding.wrap import WrapOptions, run

    opts = WrapOptions(
        argv=list(command),
        name=name,
        session_id=session_id,
        user_id=user_id,
        tags=[t.strip() for t in tags.split(",") if t.strip()],
        endpoint=endpoint,
        git_auto_link=git_auto_link,
        auto_checkpoint=auto_checkpoint,
        checkpoint_interval_s=parse_duration(checkpoint_interval),
        git_commit_on_complete=git_commit_on_complete,
    )
    try:
        status = run(opts)
    except Exception as exc:  # a bad --endpoint and the like: say it, as the other commands do
        print(f"agenttrace wrap: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    raise typer.Exit(status)


import_app = typer.Typer(help="Import coding agents' session transcripts as sessions.", no_args_is_help=True)


def _import(
    source: str, path: str | None, endpoint: str | None, data_dir: str | None, watch: bool, interval: str
) -> None:
    import os
    from pathlib import Path

    from agenttrace.coding import importers
    from agenttrace.paths import default_data_dir
    from agenttrace.sdk.config import DEFAULT_ENDPOINT

    root = Path(path).expanduser() if path else importers.SOURCES[source].default_path()
    if not root.exists():
        print(f"agenttrace import {source}: {root} does not exist", file=sys.stderr)
        raise typer.Exit(2)
    state_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    try:
        sender = importers.SpanSender(endpoint or os.environ.get("AGENTTRACE_ENDPOINT") or DEFAULT_ENDPOINT)
    except Exception as exc:
        print(f"agenttrace import {source}: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None

    def report(r: importers.ImportResult) -> None:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(r.by_kind.items())) or "nothing new"
        print(f"{source}: {r.files} files, {r.lines} new lines, {r.spans} spans ({kinds})", flush=True)

    try:
        if watch:
            importers.watch(source, root, sender, state_dir, interval_s=parse_duration(interval), on_pass=report)
        else:
            result = importers.import_once(source, root, sender, state_dir)
            report(result)
            if result.bad_lines:
                print(f"{source}: skipped {result.bad_lines} lines that are not JSON objects", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"agenttrace import {source}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        sender.close()


_PATH_ARG = typer.Argument(None, help="A transcript file or a directory of them (default: the agent's own).")
_ENDPOINT = typer.Option(None, "--endpoint", help="Collector datagram endpoint (default: $AGENTTRACE_ENDPOINT).")
_DATA_DIR = typer.Option(None, "--data-dir", help="Where the import state is kept (default: the data directory).")
_WATCH = typer.Option(False, "--watch", help="Keep following the files as they grow (Ctrl-C to stop).")
_INTERVAL = typer.Option("2s", "--interval", help="How often --watch looks for new lines.")


@import_app.command("claude-code")
def import_claude_code(
    path: str | None = _PATH_ARG,
    endpoint: str | None = _ENDPOINT,
    data_dir: str | None = _DATA_DIR,
    watch: bool = _WATCH,
    interval: str = _INTERVAL,
) -> None:
    """Claude Code transcripts (default ~/.claude/projects): LLM spans per response, tool spans per tool use."""
    _import("claude-code", path, endpoint, data_dir, watch, interval)


@import_app.command("codex")
def import_codex(
    path: str | None = _PATH_ARG,
    endpoint: str | None = _ENDPOINT,
    data_dir: str | None = _DATA_DIR,
    watch: bool = _WATCH,
    interval: str = _INTERVAL,
) -> None:
    """Codex session files (default ~/.codex/sessions): LLM spans per turn's usage, tool spans per call."""
    _import("codex", path, endpoint, data_dir, watch, interval)
