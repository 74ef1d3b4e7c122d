"""The systemd unit, the sysctl drop-in and `agenttrace service install`."""

from __future__ import annotations

import grp
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenttrace.collector.config import load_config
from agenttrace.service import SYSCTL_NAME, UNIT_NAME, app, render_sysctl, render_sysusers, render_unit, systemd_quote

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_committed_files_are_what_the_installer_writes():
    # Packagers copy systemd/; users run the installer: both must say the same thing.
    assert (REPO / "systemd" / UNIT_NAME).read_text() == render_unit()
    assert (REPO / "systemd" / SYSCTL_NAME).read_text() == render_sysctl()


def test_unit_is_a_hardened_notify_service():
    unit = render_unit("/opt/at/bin/agenttrace-collector")
    for line in (
        "Type=notify",
        "WatchdogSec=30s",
        "Restart=on-failure",
        "StateDirectory=agenttrace",
        "RuntimeDirectory=agenttrace",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "MemoryDenyWriteExecute=yes",
        "SystemCallFilter=@system-service",
    ):
        assert line in unit.splitlines(), line
    assert "ExecStart=/opt/at/bin/agenttrace-collector --config /etc/agenttrace/collector.toml" in unit


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian package systemd); .ci/run installs it",
)


@needs_systemd_analyze
def test_unit_passes_systemd_analyze_verify(tmp_path):
    unit = tmp_path / UNIT_NAME
    unit.write_text(render_unit("/bin/true"))  # verify checks that ExecStart exists
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify exits 0 even for lines it ignores, so its complaints are read from stderr.
    complaints = [line for line in done.stderr.splitlines() if UNIT_NAME in line]
    assert done.returncode == 0 and not complaints, done.stderr


@needs_systemd_analyze
def test_unit_security_exposure_is_2_or_better(tmp_path):
    unit = tmp_path / UNIT_NAME
    unit.write_text(render_unit("/bin/true"))
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    if found is None:
        pytest.skip(f"this systemd-analyze cannot rate units offline: {done.stderr.strip()[:200]}")
    assert float(found.group(1)) <= 2.0, done.stdout[-2000:]


def test_sysctl_raises_receive_buffers():
    values = dict(line.split(" = ") for line in render_sysctl().splitlines() if line and not line.startswith("#"))
    assert int(values["net.core.rmem_max"]) >= 16 * 1024 * 1024
    assert "net.core.rmem_default" in values
    assert int(values["net.unix.max_dgram_qlen"]) >= 1024


def test_install_dry_run_prints_every_file_and_writes_nothing(tmp_path):
    result = runner.invoke(app, ["install", "--dry-run", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"# ---- /etc/systemd/system/{UNIT_NAME}" in result.output
    assert f"# ---- /etc/sysctl.d/{SYSCTL_NAME}" in result.output
    assert "# ---- /etc/agenttrace/collector.toml" in result.output
    assert list(tmp_path.iterdir()) == []


def test_install_writes_files_and_keeps_an_edited_config(tmp_path):
    result = runner.invoke(app, ["install", "--root", str(tmp_path), "--exec", "/usr/bin/agenttrace-collector"])
    assert result.exit_code == 0, result.output
    unit = tmp_path / "etc/systemd/system" / UNIT_NAME
    config = tmp_path / "etc/agenttrace/collector.toml"
    assert "ExecStart=/usr/bin/agenttrace-collector " in unit.read_text()
    assert (tmp_path / "etc/sysctl.d" / SYSCTL_NAME).read_text() == render_sysctl()
    assert "systemctl enable --now" in result.output and "journalctl -u" in result.output

    config.write_text("# mine\n")
    again = runner.invoke(app, ["install", "--root", str(tmp_path)])
    assert again.exit_code == 0 and "kept existing" in again.output
    assert config.read_text() == "# mine\n"
    forced = runner.invoke(app, ["install", "--root", str(tmp_path), "--force"])
    assert forced.exit_code == 0 and config.read_text() != "# mine\n"


# --- issue 20: starts from a virtualenv under /home and from paths with spaces ----------


def test_committed_sysusers_file_is_what_the_installer_writes():
    assert (REPO / "systemd" / "sysusers-agenttrace.conf").read_text() == render_sysusers()


@pytest.mark.parametrize(
    ("word", "quoted"),
    [
        ("/opt/at/bin/agenttrace-collector", "/opt/at/bin/agenttrace-collector"),
        ("/home/ann/My Tools/.venv/bin/agenttrace-collector", '"/home/ann/My Tools/.venv/bin/agenttrace-collector"'),
        ('/srv/a "b"/c', '"/srv/a \\"b\\"/c"'),
        ("/srv/back\\slash", '"/srv/back\\\\slash"'),
        ("/srv/50%/$HOME", "/srv/50%%/$$HOME"),
    ],
)
def test_exec_paths_are_quoted_by_systemds_rules(word, quoted):
    assert systemd_quote(word) == quoted


def test_a_virtualenv_under_home_gets_protecthome_read_only_and_nothing_more():
    lines = render_unit("/home/ann/My Tools/.venv/bin/agenttrace-collector").splitlines()
    assert any(
        line.startswith('ExecStart="/home/ann/My Tools/.venv/bin/agenttrace-collector" --config ') for line in lines
    )
    assert "ProtectHome=read-only" in lines and "ProtectHome=yes" not in lines
    assert "ProtectHome=yes" in render_unit("/opt/venv/bin/agenttrace-collector").splitlines()
    assert "ProtectHome=read-only" in render_unit("/root/.venv/bin/agenttrace-collector").splitlines()


@needs_systemd_analyze
def test_a_unit_for_a_path_with_spaces_passes_systemd_analyze_verify(tmp_path):
    exe = tmp_path / "my tools" / "bin" / "agenttrace-collector"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    unit = tmp_path / UNIT_NAME
    unit.write_text(render_unit(str(exe)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in done.stderr.splitlines() if UNIT_NAME in line]
    assert done.returncode == 0 and not complaints, done.stderr


def test_the_config_is_written_0640_to_the_service_group(tmp_path):
    group = grp.getgrgid(os.getegid()).gr_name  # a group that exists here
    result = runner.invoke(app, ["install", "--root", str(tmp_path), "--exec", "/opt/x", "--group", group])
    assert result.exit_code == 0, result.output
    config = tmp_path / "etc/agenttrace/collector.toml"
    st = config.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (0, os.getegid())
    assert (tmp_path / "etc/sysusers.d/agenttrace.conf").read_text() == render_sysusers()


def test_a_config_holding_a_key_is_written_0600_and_the_key_never_printed(tmp_path):
    key = 'k3y with "quotes" \\ and spaces'
    dry = runner.invoke(app, ["install", "--dry-run", "--root", str(tmp_path), "--api-key", key])
    assert dry.exit_code == 0 and key not in dry.output and 'api_key = "<api_key>"' not in dry.output
    result = runner.invoke(app, ["install", "--root", str(tmp_path), "--exec", "/opt/x", "--api-key", key])
    assert result.exit_code == 0, result.output
    assert key not in result.output
    config = tmp_path / "etc/agenttrace/collector.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert load_config(config, environ={}).api.api_key == key


def test_an_existing_config_with_a_key_is_made_private(tmp_path):
    config = tmp_path / "etc/agenttrace/collector.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[api]\napi_key = "mine"\n')
    config.chmod(0o644)
    result = runner.invoke(app, ["install", "--root", str(tmp_path), "--exec", "/opt/x", "--group", "no-such-group-x"])
    assert result.exit_code == 0, result.output
    assert "kept existing" in result.output and "chown no-such-group-x:no-such-group-x" in result.output
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
