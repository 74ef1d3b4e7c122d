"""``agenttrace wrap -- CMD ...``: run a coding agent (or any command) as a traced session.

The child gets the terminal as it is: stdin, stdout and stderr are inherited, so a tty,
its window size and SIGWINCH are the child's own, and it stays in wrap's process group
(the foreground group), so Ctrl-C and a hang-up reach it straight from the terminal.
Signals sent to wrap itself by another process (``kill``) are forwarded: wrap blocks
them and takes them with ``sigtimedwait``, which tells a signal the terminal raised
(``si_code == SI_KERNEL``; the child already has it) from one a process sent.

Around the child, wrap records through the SDK (so through the wire, the ring, the WAL
and the store like any span): one ``agent`` span for the run (argv, cwd, exit status,
git HEAD before and after), a git-link span per commit made during the run, a file span
per file changed since HEAD-before, and checkpoints. It hands the child an environment
that makes what the child emits join the same session and trace (see
:func:`child_environment`), never replacing a variable the user already set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agenttrace.coding import git

__all__ = [
    "DEFAULT_OTLP_URL",
    "WrapOptions",
    "child_environment",
    "codex_arguments",
    "exit_status",
    "run",
]

DEFAULT_OTLP_URL = "http://127.0.0.1:4318"
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_WAITED = (*_FORWARDED, signal.SIGCHLD)
_SI_KERNEL = 0x80  # siginfo si_code of a signal the kernel raised (terminal keys, hang-up)


@dataclass
class WrapOptions:
    argv: list[str]
    name: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: list[str] = field(default_factory=list)
    endpoint: str | None = None  # our SDK's datagram endpoint
    otlp_url: str | None = None  # the collector's HTTP address, for OTLP
    git_auto_link: bool | None = None  # None: on inside a git work tree
    auto_checkpoint: bool = False
    checkpoint_interval_s: float = 300.0
    git_commit_on_complete: bool = False


def _set_default(env: dict[str, str], key: str, value: str) -> None:
    if not env.get(key):
        env[key] = value


def child_environment(
    base: Mapping[str, str],
    *,
    session_id: str,
    traceparent: str | None,
    endpoint: str,
    otlp_url: str,
    user_id: str | None = None,
    tags: Sequence[str] = (),
) -> dict[str, str]:
    """The wrapped command's environment: ``base`` plus what makes its telemetry join
    the session. A variable already set (non-empty) in ``base`` is left as it is, except
    ``TRACEPARENT``, which names wrap's own span (wrap itself joined the incoming one).

    >>> env = child_environment({"OTEL_LOGS_EXPORTER": "console"}, session_id="s1",
    ...     traceparent=None, endpoint="udp://127.0.0.1:4319", otlp_url="http://127.0.0.1:4318")
    >>> env["OTEL_LOGS_EXPORTER"], env["CLAUDE_CODE_ENABLE_TELEMETRY"], env["OTEL_RESOURCE_ATTRIBUTES"]
    ('console', '1', 'session.id=s1')
    """
    env = dict(base)
    # Our SDK: same session, same collector; root spans become children of wrap's span.
    _set_default(env, "AGENTTRACE_SESSION_ID", session_id)
    _set_default(env, "AGENTTRACE_ENDPOINT", endpoint)
    if user_id:
        _set_default(env, "AGENTTRACE_USER_ID", user_id)
    if tags:
        _set_default(env, "AGENTTRACE_TAGS", ",".join(tags))
    if traceparent:
        env["TRACEPARENT"] = traceparent
    # Any OpenTelemetry SDK: export over OTLP/HTTP to the collector, tagged with the session.
    _set_default(env, "OTEL_EXPORTER_OTLP_ENDPOINT", otlp_url)
    _set_default(env, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    _set_default(env, "OTEL_LOGS_EXPORTER", "otlp")
    _set_default(env, "OTEL_METRICS_EXPORTER", "otlp")
    resource = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    keys = {part.split("=", 1)[0].strip() for part in resource.split(",") if "=" in part}
    added = [] if "session.id" in keys else [f"session.id={session_id}"]
    if traceparent and "agenttrace.traceparent" not in keys:
        # Read back by agenttrace.coding.telemetry: the agent's events become children of
        # wrap's span (the W3C value holds no ',' or '=', so it needs no escaping here).
        added.append(f"agenttrace.traceparent={traceparent}")
    if added:
        env["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(([resource] if resource else []) + added)
    # Claude Code (monitoring-usage docs): telemetry is off until this is 1; it reads the
    # OTEL_* exporter variables above.
    _set_default(env, "CLAUDE_CODE_ENABLE_TELEMETRY", "1")
    # Gemini CLI (docs/cli/telemetry.md): its settings' environment overrides.
    _set_default(env, "GEMINI_TELEMETRY_ENABLED", "true")
    _set_default(env, "GEMINI_TELEMETRY_TARGET", "local")
    _set_default(env, "GEMINI_TELEMETRY_OTLP_ENDPOINT", otlp_url)
    _set_default(env, "GEMINI_TELEMETRY_OTLP_PROTOCOL", "http")
    return env


def codex_arguments(argv: list[str], otlp_url: str, environ: Mapping[str, str]) -> list[str]:
    """Codex reads its exporter from ``config.toml`` or ``-c key=value`` only (docs/config.md,
    "otel"), not from the environment: for a ``codex`` command whose own config and
    arguments say nothing of ``otel``, add ``-c otel.exporter=...`` pointing its OTLP/HTTP
    log exporter at the collector. Any other command is returned unchanged."""
    if not argv or os.path.basename(argv[0]) != "codex":
        return argv
    if any("otel" in arg for arg in argv[1:]):
        return argv
    home = Path(environ.get("CODEX_HOME") or Path(environ.get("HOME", "~")).expanduser() / ".codex")
    try:
        if "[otel" in (home / "config.toml").read_text(errors="replace"):
            return argv
    except OSError:
        pass
    exporter = f'otel.exporter={{otlp-http={{endpoint="{otlp_url.rstrip("/")}/v1/logs",protocol="binary"}}}}'
    return [argv[0], "-c", exporter, *argv[1:]]


def exit_status(returncode: int) -> int:
    """A child's status as a shell reports it: its exit code, or 128+N for signal N."""
    return 128 - returncode if returncode < 0 else returncode


def _resolve_endpoint(opts: WrapOptions, environ: Mapping[str, str]) -> str:
    from agenttrace.sdk.config import DEFAULT_ENDPOINT

    return opts.endpoint or environ.get("AGENTTRACE_ENDPOINT") or DEFAULT_ENDPOINT


class _Child:
    """The wrapped command, started with ``posix_spawn``: no Python code runs between
    fork and exec (wrap has threads: the SDK's emitter), and the child gets an empty
    signal mask and default SIGPIPE/SIGXFSZ whatever wrap had."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid = os.posix_spawnp(argv[0], argv, env, setsigmask=(), setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)  # -N for signal N
        return self.returncode

    def send_signal(self, signo: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signo)


def _supervise(proc: _Child, on_tick: Any, tick_s: float | None, forwarded: list[int]) -> int:
    """Wait for the child, forwarding signals sent to wrap (appended to ``forwarded``);
    call ``on_tick`` every ``tick_s`` seconds. Returns the child's returncode."""
    next_tick = time.monotonic() + tick_s if tick_s else None
    while True:
        code = proc.poll()
        if code is not None:
            return code
        timeout = 0.5 if next_tick is None else max(0.0, min(0.5, next_tick - time.monotonic()))
        info = signal.sigtimedwait(_WAITED, timeout)
        if info is not None and info.si_signo != signal.SIGCHLD and info.si_code != _SI_KERNEL:
            proc.send_signal(info.si_signo)
            forwarded.append(info.si_signo)
        if next_tick is not None and time.monotonic() >= next_tick:
            on_tick()
            next_tick = time.monotonic() + tick_s  # type: ignore[operator]


def run(opts: WrapOptions, *, environ: Mapping[str, str] | None = None) -> int:
    """Run the command as a traced session; return the status wrap should exit with."""
    env_in = dict(os.environ if environ is None else environ)
    argv = list(opts.argv)
    if not argv:
        raise ValueError("no command to run")
    if shutil.which(argv[0], path=env_in.get("PATH")) is None and not os.path.exists(argv[0]):
        print(f"agenttrace wrap: {argv[0]}: command not found", file=sys.stderr)
        return 127
    cwd = os.getcwd()
    # Block the forwarded signals (and SIGCHLD) before any thread starts: threads inherit
    # the mask, so none of them can take a signal meant for the child; the main thread
    # takes them with sigtimedwait.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WAITED)
    try:
        return _run_blocked(opts, argv, cwd, env_in)
    finally:
        # Whatever is still pending was meant for the child, which is gone.
        while signal.sigtimedwait(_WAITED, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _run_blocked(opts: WrapOptions, argv: list[str], cwd: str, env_in: dict[str, str]) -> int:
    import agenttrace as at
    from agenttrace.sdk.config import new_session_id

    session_id = opts.session_id or env_in.get("AGENTTRACE_SESSION_ID") or new_session_id()
    endpoint = _resolve_endpoint(opts, env_in)
    otlp_url = opts.otlp_url or env_in.get("AGENTTRACE_URL") or DEFAULT_OTLP_URL
    name = opts.name or os.path.basename(argv[0])
    repo_root = git.toplevel(cwd)
    link_git = (repo_root is not None) if opts.git_auto_link is None else (opts.git_auto_link and repo_root is not None)

    at.configure(
        service=name, endpoint=endpoint, session_id=session_id, user_id=opts.user_id or None, tags=list(opts.tags)
    )
    head_before = git.head(cwd) if link_git else None
    attrs: dict[str, Any] = {"session.name": name, "wrap.argv": argv, "wrap.cwd": cwd}
    if link_git:
        attrs["git.repo"] = git.remote_url(cwd) or repo_root
        attrs["git.head_before"] = head_before or ""
    root = at.agent(name, **attrs)
    root.__enter__()
    started = time.monotonic()
    child_env = child_environment(
        env_in,
        session_id=session_id,
        traceparent=root.traceparent,
        endpoint=endpoint,
        otlp_url=otlp_url,
        user_id=opts.user_id,
        tags=opts.tags,
    )
    checkpoints = 0

    def checkpoint() -> None:
        nonlocal checkpoints
        checkpoints += 1
        state: dict[str, Any] = {"elapsed_s": round(time.monotonic() - started, 3)}
        if link_git:
            state["head"] = git.head(cwd) or ""
            state["dirty"] = git.is_dirty(cwd)
        at.checkpoint(f"auto-{checkpoints}", **state)

    try:
        proc = _Child(codex_arguments(argv, otlp_url, env_in), child_env)
    except OSError as exc:
        print(f"agenttrace wrap: {argv[0]}: {exc.strerror or exc}", file=sys.stderr)
        root.set_status("error", str(exc))
        root.__exit__(None, None, None)
        at.flush(5)
        return 127 if isinstance(exc, FileNotFoundError) else 126
    forwarded: list[int] = []
    returncode = _supervise(proc, checkpoint, opts.checkpoint_interval_s if opts.auto_checkpoint else None, forwarded)
    if forwarded:
        root.set_attribute("wrap.signals_forwarded", forwarded)
    status = exit_status(returncode)
    try:
        _record_after(root, opts, cwd, link_git, head_before, name, session_id, status, returncode)
    finally:
        root.__exit__(None, None, None)
        at.flush(5)
    return status


def _record_after(
    root: Any,
    opts: WrapOptions,
    cwd: str,
    link_git: bool,
    head_before: str | None,
    name: str,
    session_id: str,
    status: int,
    returncode: int,
) -> None:
    import agenttrace as at

    root.set_attribute("wrap.exit_code", status)
    if returncode < 0:
        root.set_attribute("wrap.signal", -returncode)
    if status != 0:
        root.set_status("error", f"exit status {status}")
    if opts.auto_checkpoint:
        at.checkpoint("final", exit_code=status)
    if not link_git:
        return
    if opts.git_commit_on_complete and git.is_dirty(cwd):
        git.commit_all(cwd, f"agenttrace wrap: {name}\n\nsession {session_id}")
    head_after = git.head(cwd)
    root.set_attribute("git.head_after", head_after or "")
    repo = git.remote_url(cwd) or git.toplevel(cwd)
    commits = git.commits_between(cwd, head_before, head_after)
    root.set_attribute("git.commits", [c.sha for c in commits])
    for c in commits:
        at.git_link(
            c.sha,
            repo=repo,
            message=c.message,
            files=c.files,
            lines_added=c.lines_added,
            lines_removed=c.lines_removed,
            **{"git.commit_time": c.time_s},
        )
    for f in git.changed_files(cwd, head_before):
        at.file_op(f.path, f.op, lines_added=f.lines_added, lines_removed=f.lines_removed)
