"""Issue 6: bound beyond loopback, the collector requires an API key; health checks stay open."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agenttrace.collector.config import load_config, require_api_key
from agenttrace.errors import ConfigError

KEY = "s3cret-key-for-tests"


def _env_without_key() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("AGENTTRACE_API_KEY", "AGENTTRACE_API_API_KEY")}


def _get(url: str, key: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url)
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize(
    ("listen", "refused"),
    [("127.0.0.1:4318", False), ("[::1]:4318", False), ("localhost:4318", False),
     ("0.0.0.0:4318", True), ("[::]:4318", True), ("192.0.2.7:4318", True)],
)  # fmt: skip
def test_a_key_is_required_only_beyond_loopback(listen: str, refused: bool):
    cfg = load_config(environ={}, overrides={"http.listen": listen})
    if refused:
        with pytest.raises(ConfigError) as info:
            require_api_key(cfg)
        assert info.value.key == "api.api_key"
        assert listen in str(info.value) and "AGENTTRACE_API_KEY" in str(info.value)
    else:
        require_api_key(cfg)


@pytest.mark.parametrize("name", ["AGENTTRACE_API_KEY", "AGENTTRACE_API_API_KEY"])
def test_the_key_comes_from_either_environment_name(name: str):
    cfg = load_config(environ={name: KEY}, overrides={"http.listen": "0.0.0.0:4318"})
    assert cfg.api.api_key == KEY
    require_api_key(cfg)  # no error


def test_the_collector_refuses_to_start_on_a_public_address_without_a_key(tmp_path: Path):
    data_dir = tmp_path / "d"
    out = subprocess.run(
        [sys.executable, "-m", "agenttrace.collector.main", "--data-dir", str(data_dir),
         "--udp", "127.0.0.1:0", "--unix", "off", "--http", "0.0.0.0:0", "--workers", "1"],
        capture_output=True, text=True, timeout=60, env=_env_without_key(),
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "api.api_key" in lines[0] and "AGENTTRACE_API_KEY" in lines[0] and "0.0.0.0:0" in lines[0]
    assert not data_dir.exists()  # refused before anything was created or bound


def test_with_the_key_from_the_environment_it_serves_health_openly_and_the_rest_with_the_key(start_collector):
    c = start_collector("--workers", "1", "--http", "0.0.0.0:0", env={"AGENTTRACE_API_KEY": KEY})
    assert c.http is not None and c.http.startswith("http://0.0.0.0:")
    base = c.http
    assert _get(base + "/healthz")[0] == 200
    assert _get(base + "/readyz")[0] == 200
    status, body = _get(base + "/metrics")
    assert status == 401 and b"agenttrace_" not in body
    assert _get(base + "/metrics", key="wrong")[0] == 401
    status, body = _get(base + "/metrics", key=KEY)
    assert status == 200 and b"agenttrace_datagrams_received_total" in body
    assert _get(base + "/api/v1/live")[0] == 401
    assert _get(base + "/api/v1/live", key=KEY)[0] == 200
    assert c.stop() == 0
    assert KEY not in c.output()  # neither stdout nor stderr shows the key


def test_metrics_can_be_left_open_while_the_api_keeps_its_key(start_collector):
    c = start_collector(
        "--workers", "1", "--http", "0.0.0.0:0",
        config="[api]\nmetrics_require_key = false\n", env={"AGENTTRACE_API_KEY": KEY},
    )  # fmt: skip
    status, body = _get(c.http + "/metrics")
    assert status == 200 and b"agenttrace_spans_stored_total" in body
    assert _get(c.http + "/api/v1/live")[0] == 401
    assert c.stop() == 0
