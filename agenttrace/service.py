"""``agenttrace service install``: the systemd unit, the sysctl drop-in and the config.

The texts are rendered here, from one source; ``systemd/`` in the repository holds
the same texts rendered with the defaults (a test keeps them identical), so
packagers can copy files while users run one command.
"""

from __future__ import annotations

import os
import shutil
import sys
from importlib import resources
from pathlib import Path

import typer

__all__ = ["SYSCTL_NAME", "UNIT_NAME", "app", "example_config", "render_sysctl", "render_unit"]

UNIT_NAME = "agenttrace-collector.service"
SYSCTL_NAME = "60-agenttrace.conf"
CONFIG_PATH = "/etc/agenttrace/collector.toml"
DEFAULT_EXEC = "/usr/local/bin/agenttrace-collector"

# Receive buffer the collector asks for (SO_RCVBUF); the kernel caps it at rmem_max.
RMEM_MAX = 32 * 1024 * 1024


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
ExecStart={exec_path} --config {CONFIG_PATH} --data-dir /var/lib/agenttrace --unix /run/agenttrace/collector.sock
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
# SIGTERM goes to the main process only; it stops receiving, drains the rings and seals.
KillMode=mixed
TimeoutStopSec=30s
Environment=AGENTTRACE_DATA_DIR=/var/lib/agenttrace

# Where it may write: its state (segments, WAL) and its runtime directory (the socket).
DynamicUser=yes
StateDirectory=agenttrace
StateDirectoryMode=0750
RuntimeDirectory=agenttrace
RuntimeDirectoryMode=0755
ConfigurationDirectory=agenttrace
UMask=0027

# Hardening. Python needs no W+X memory (no JIT, no ctypes callbacks).
ProtectSystem=strict
ProtectHome=yes
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
) -> None:
    """Write the unit, the sysctl drop-in and the config, then print what to run next."""
    files = {
        f"etc/systemd/system/{UNIT_NAME}": render_unit(exec_path or _collector_executable()),
        f"etc/sysctl.d/{SYSCTL_NAME}": render_sysctl(),
        CONFIG_PATH.lstrip("/"): example_config(),
    }
    if dry_run:
        for rel, text in files.items():
            typer.echo(f"# ---- /{rel}")
            typer.echo(text)
        return
    for rel, text in files.items():
        target = root / rel
        if target.exists() and rel.endswith(".toml") and not force:
            typer.echo(f"kept existing {target} (use --force to replace it)")
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, target)
        except PermissionError:
            typer.echo(f"cannot write {target}: run as root (sudo), or use --dry-run", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"wrote {target}")
    typer.echo(
        "\nNext:\n"
        "  sudo sysctl --system\n"
        "  sudo systemctl daemon-reload\n"
        f"  sudo systemctl enable --now {UNIT_NAME}\n"
        f"  systemctl status {UNIT_NAME}\n"
        f"  journalctl -u {UNIT_NAME} -f"
    )
