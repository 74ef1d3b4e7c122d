"""``agenttrace service install``: the systemd unit, the sysctl drop-in and the config.

The texts are rendered here, from one source; ``systemd/`` in the repository holds
the same texts rendered with the defaults (a test keeps them identical), so
packagers can copy files while users run one command.

The service runs as the system user and group ``agenttrace`` (declared in a
sysusers.d file, created by the installer when it runs as root on this machine);
``collector.toml`` is written 0640 root:agenttrace, or 0600 agenttrace:agenttrace
when it holds an API key, so no other local user reads it.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import typer

__all__ = [
    "SYSCTL_NAME",
    "SYSUSERS_NAME",
    "UNIT_NAME",
    "app",
    "example_config",
    "render_sysctl",
    "render_sysusers",
    "render_unit",
    "systemd_quote",
]

UNIT_NAME = "agenttrace-collector.service"
SYSCTL_NAME = "60-agenttrace.conf"
SYSUSERS_NAME = "agenttrace.conf"
CONFIG_PATH = "/etc/agenttrace/collector.toml"
DEFAULT_EXEC = "/usr/local/bin/agenttrace-collector"
SERVICE_USER = "agenttrace"
# Where ProtectHome=yes would hide the executable (a virtualenv in a home directory).
_HOME_TREES = ("/home", "/root", "/run/user")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_@%$+=:,./-]+")


def systemd_quote(word: str) -> str:
    """One word of a systemd command line (``ExecStart=``), quoted when it must be.

    systemd splits on whitespace, reads quotes and C-style escapes, expands ``%``
    specifiers and ``$VAR``; so ``%`` becomes ``%%``, ``$`` becomes ``$$``, and a word
    with spaces, quotes or backslashes is double-quoted with ``\\`` and ``\"`` escapes.

        >>> systemd_quote("/opt/at/bin/agenttrace-collector")
        '/opt/at/bin/agenttrace-collector'
        >>> systemd_quote("/home/ann/My Tools/.venv/bin/agenttrace-collector")
        '"/home/ann/My Tools/.venv/bin/agenttrace-collector"'
        >>> systemd_quote("/srv/100%/$x")
        '/srv/100%%/$$x'
    """
    escaped = word.replace("%", "%%").replace("$", "$$")
    if word and _PLAIN_WORD.fullmatch(word):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _protect_home(exec_path: str) -> str:
    """``yes`` unless the executable lives under a home tree: then ``read-only`` (the
    least that lets the service start from a virtualenv there; it still writes nothing)."""
    for candidate in {exec_path, os.path.realpath(exec_path)}:
        if any(candidate == t or candidate.startswith(t + "/") for t in _HOME_TREES):
            return "read-only"
    return "yes"


# Receive buffer the collector asks for (SO_RCVBUF); the kernel caps it at rmem_max.
RMEM_MAX = 32 * 1024 * 1024


_ARGS = f"--config {CONFIG_PATH} --data-dir /var/lib/agenttrace --unix /run/agenttrace/collector.sock"


def render_unit(exec_path: str = DEFAULT_EXEC, *, watchdog_s: int = 30) -> str:
    """The unit file. ``exec_path`` is the ``agenttrace-collector`` executable."""
    return f"""\
# AgentTrace collector: receives spans from AI agents, prices them, stores them,
# serves /metrics and the query API. Installed by `agenttrace service install`.
[Unit]
Description=AgentTrace collector (observability for AI agents)
Documentation=https://github.com/agenttrace/agenttrace#deployment
After=network.target

[Service]
# Readiness: the collector sends READY=1 once its receivers are bound and its workers
# run, and WATCHDOG=1 every {watchdog_s // 2}s while healthy (sd_notify, no dependency).
Type=notify
NotifyAccess=main
WatchdogSec={watchdog_s}s
ExecStart={systemd_quote(exec_path)} {_ARGS}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
# SIGTERM goes to the main process only; it stops receiving, drains the rings and seals.
KillMode=mixed
TimeoutStopSec=30s
Environment=AGENTTRACE_DATA_DIR=/var/lib/agenttrace

# Where it may write: its state (segments, WAL) and its runtime directory (the socket).
# User and group agenttrace: static when sysusers.d/{SYSUSERS_NAME} created them (the
# config file is readable by that group only), otherwise allocated for the run.
DynamicUser=yes
User={SERVICE_USER}
Group={SERVICE_USER}
StateDirectory=agenttrace
StateDirectoryMode=0750
RuntimeDirectory=agenttrace
RuntimeDirectoryMode=0755
ConfigurationDirectory=agenttrace
UMask=0027

# Hardening. Python needs no W+X memory (no JIT, no ctypes callbacks).
ProtectSystem=strict
ProtectHome={_protect_home(exec_path)}
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
DevicePolicy=closed
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
"""


def render_sysctl() -> str:
    return f"""\
# AgentTrace collector: room in the kernel for bursts of spans.
# Installed by `agenttrace service install`; apply with `sysctl --system`.

# The collector asks for a {RMEM_MAX // (1 << 20)} MiB receive buffer per socket; the kernel caps it here.
net.core.rmem_max = {RMEM_MAX}
# Sockets that do not ask (the SDK's) keep a modest default.
net.core.rmem_default = 1048576
# Datagrams a Unix socket may queue before senders see EAGAIN (kernel default: 512 or less).
net.unix.max_dgram_qlen = 4096
"""


def render_sysusers() -> str:
    """sysusers.d(5) lines declaring the service's system user and group."""
    return f"""\
# AgentTrace collector: the system user and group the service runs as.
# Installed by `agenttrace service install`; applied by systemd-sysusers.
g {SERVICE_USER} -
u {SERVICE_USER} -:{SERVICE_USER} "AgentTrace collector" /var/lib/agenttrace
"""


def example_config() -> str:
    """The commented example configuration shipped with the package."""
    return resources.files("agenttrace.collector").joinpath("collector.example.toml").read_text()


app = typer.Typer(help="Run the collector as a systemd service.", no_args_is_help=True)


@app.callback()
def _service() -> None:
    """Run the collector as a systemd service."""
    # A callback keeps ``install`` a subcommand even when this app is run on its own
    # (Typer otherwise promotes a lone command to the app itself).


def _collector_executable() -> str:
    found = shutil.which("agenttrace-collector")
    if found:
        return os.path.abspath(found)
    beside = Path(sys.executable).with_name("agenttrace-collector")
    return str(beside) if beside.exists() else DEFAULT_EXEC


@app.command("install")
def install(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the files instead of writing them."),
    root: Path = typer.Option(Path("/"), "--root", help="Install under this directory (for images)."),
    exec_path: str = typer.Option("", "--exec", help="Path of agenttrace-collector (default: the one on PATH)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing collector.toml."),
    api_key: str = typer.Option(
        "", "--api-key", envvar="AGENTTRACE_API_KEY", help="Write this [api] api_key into collector.toml (then 0600)."
    ),
    group: str = typer.Option(SERVICE_USER, "--group", help="Group that may read collector.toml (the service's)."),
) -> None:
    """Write the unit, the sysctl drop-in, the sysusers.d file and the config, then print
    what to run next."""
    config_text = example_config()
    if api_key:
        config_text = config_text.replace('\napi_key = ""\n', f"\napi_key = {_toml_string(api_key)}\n", 1)
    files = {
        f"etc/systemd/system/{UNIT_NAME}": render_unit(exec_path or _collector_executable()),
        f"etc/sysctl.d/{SYSCTL_NAME}": render_sysctl(),
        f"etc/sysusers.d/{SYSUSERS_NAME}": render_sysusers(),
        CONFIG_PATH.lstrip("/"): config_text,
    }
    if dry_run:
        for rel, text in files.items():
            typer.echo(f"# ---- /{rel}")
            typer.echo(text.replace(api_key, "<api_key>") if api_key else text)
        return
    if root == Path("/") and os.geteuid() == 0:
        _ensure_service_user(root / f"etc/sysusers.d/{SYSUSERS_NAME}", render_sysusers())
    for rel, text in files.items():
        target = root / rel
        is_config = rel.endswith(".toml")
        if target.exists() and is_config and not force:
            typer.echo(f"kept existing {target} (use --force to replace it)")
            _secure_config(target, group)
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            # The config may hold a key: born private, never briefly world-readable.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if is_config else 0o644)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except PermissionError:
            typer.echo(f"cannot write {target}: run as root (sudo), or use --dry-run", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"wrote {target}")
        if is_config:
            _secure_config(target, group)
    typer.echo(
        "\nNext:\n"
        "  sudo systemd-sysusers\n"
        "  sudo sysctl --system\n"
        "  sudo systemctl daemon-reload\n"
        f"  sudo systemctl enable --now {UNIT_NAME}\n"
        f"  systemctl status {UNIT_NAME}\n"
        f"  journalctl -u {UNIT_NAME} -f"
    )


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string."""
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in out) + '"'


def _holds_key(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return bool(tomllib.load(fh).get("api", {}).get("api_key"))
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        return False


def _secure_config(path: Path, group: str) -> None:
    """0640 root:<group>; 0600 <group>:<group> when the file holds an API key (only the
    service reads it). Ownership changes need root and an existing group: otherwise
    the command to run is printed."""
    keyed = _holds_key(path)
    mode = 0o600 if keyed else 0o640
    os.chmod(path, mode)
    try:
        gid = grp.getgrnam(group).gr_gid
        uid = pwd.getpwnam(group).pw_uid if keyed else 0
    except KeyError:
        owner = f"{group}:{group}" if keyed else f"root:{group}"
        typer.echo(f"  {path}: mode {mode:04o}; once the {group} user exists run: chown {owner} {path}")
        return
    try:
        os.chown(path, uid, gid)
    except PermissionError:
        typer.echo(f"  {path}: mode {mode:04o}; as root run: chown {uid}:{gid} {path}")
        return
    typer.echo(f"  {path}: mode {mode:04o}, owner {uid}:{gid}{' (holds the API key)' if keyed else ''}")


def _ensure_service_user(sysusers_file: Path, text: str) -> None:
    """Create the service's user and group on this machine now (the config file is
    given to that group), with systemd-sysusers when present, else groupadd/useradd."""
    try:
        grp.getgrnam(SERVICE_USER)
        pwd.getpwnam(SERVICE_USER)
        return
    except KeyError:
        pass
    sysusers = shutil.which("systemd-sysusers")
    if sysusers:
        sysusers_file.parent.mkdir(parents=True, exist_ok=True)
        sysusers_file.write_text(text)
        done = subprocess.run([sysusers, str(sysusers_file)], capture_output=True, text=True)
    else:
        subprocess.run(["groupadd", "--system", SERVICE_USER], capture_output=True, text=True)
        done = subprocess.run(
            ["useradd", "--system", "--gid", SERVICE_USER, "--home-dir", "/var/lib/agenttrace", "--no-create-home",
             "--shell", "/usr/sbin/nologin", SERVICE_USER],
            capture_output=True, text=True,
        )  # fmt: skip
    if done.returncode != 0:
        typer.echo(f"could not create the {SERVICE_USER} user: {done.stderr.strip()}", err=True)
