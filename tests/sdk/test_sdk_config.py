"""Configuration: defaults, AGENTTRACE_* environment variables, configure() arguments."""

from __future__ import annotations

import json

import pytest
from sdk_helpers import run_python  # type: ignore[import-not-found]

import agenttrace as at
from agenttrace.errors import ConfigError
from agenttrace.sdk.config import load_config, parse_endpoint


def test_defaults_with_nothing_configured() -> None:
    cfg = load_config(environ={})
    assert str(cfg.endpoint) == "udp://127.0.0.1:4319"
    assert (cfg.sample_rate, cfg.capture_content, cfg.disabled, cfg.max_datagram_bytes) == (1.0, True, False, 8192)
    assert len(cfg.session_id) == 32 and cfg.service


def test_no_configuration_at_all_targets_the_default_endpoint() -> None:
    code = (
        "import json, agenttrace as at\n"
        "from agenttrace.sdk import runtime\n"
        "runtime.ensure_started()\n"  # what the first span does
        "cfg = runtime.get_config()\n"
        "at.shutdown()\n"
        "print(json.dumps({'endpoint': str(cfg.endpoint), 'service': cfg.service}))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"endpoint": "udp://127.0.0.1:4319", "service": "python"}


def test_environment_variables() -> None:
    cfg = load_config(
        environ={
            "AGENTTRACE_ENDPOINT": "unix:///run/agenttrace/collector.sock",
            "AGENTTRACE_SERVICE": "support-bot",
            "AGENTTRACE_SESSION_ID": "sess-1",
            "AGENTTRACE_USER_ID": "u-9",
            "AGENTTRACE_ENVIRONMENT": "prod",
            "AGENTTRACE_TAGS": "a, b,,c",
            "AGENTTRACE_SAMPLE_RATE": "0.1",
            "AGENTTRACE_DISABLED": "0",
            "AGENTTRACE_CAPTURE_CONTENT": "false",
            "AGENTTRACE_MAX_PREVIEW_CHARS": "100",
        }
    )
    assert cfg.endpoint.scheme == "unix" and cfg.endpoint.path == "/run/agenttrace/collector.sock"
    assert (cfg.service, cfg.session_id, cfg.user_id, cfg.environment) == ("support-bot", "sess-1", "u-9", "prod")
    assert cfg.tags == ("a", "b", "c")
    assert (cfg.sample_rate, cfg.disabled, cfg.capture_content, cfg.max_preview_chars) == (0.1, False, False, 100)


def test_arguments_win_over_the_environment() -> None:
    cfg = load_config({"service": "arg", "sample_rate": 0.5}, environ={"AGENTTRACE_SERVICE": "env"})
    assert (cfg.service, cfg.sample_rate) == ("arg", 0.5)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("endpoint", "http://localhost:4318"),
        ("endpoint", "udp://localhost"),
        ("endpoint", "udp://localhost:70000"),
        ("endpoint", "unix://"),
        ("sample_rate", 1.5),
        ("sample_rate", "often"),
        ("capture_content", "maybe"),
        ("max_datagram_bytes", 100),
        ("tags", [1, 2]),
        ("mask", "not callable"),
        ("no_such_key", 1),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({key: value}, environ={})
    assert info.value.key == key
    assert isinstance(info.value, ValueError)


def test_configure_rejects_bad_values() -> None:
    with pytest.raises(ConfigError, match="sample_rate"):
        at.configure(sample_rate=2)


def test_bad_environment_on_first_use_warns_instead_of_raising(udp_sink) -> None:
    code = "import agenttrace as at\nwith at.span('ok'):\n    pass\nat.flush()\n"
    env = {"AGENTTRACE_SAMPLE_RATE": "lots", "AGENTTRACE_ENDPOINT": udp_sink.endpoint}
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr
    assert "AGENTTRACE_SAMPLE_RATE" in result.stderr
    assert [s.name for s in udp_sink.spans(wait=2)] == ["ok"]


def test_parse_endpoint_ipv6() -> None:
    ep = parse_endpoint("udp://[::1]:4319")
    assert (ep.host, ep.port, str(ep)) == ("::1", 4319, "udp://[::1]:4319")
