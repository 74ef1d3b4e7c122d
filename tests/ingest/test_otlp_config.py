"""``[otlp]`` configuration: the gRPC address from file, environment and flag; a gRPC
address beyond loopback needs the API key, as HTTP does; the auth rules themselves."""

from __future__ import annotations

import base64

import pytest

from agenttrace.collector.config import load_config, require_api_key
from agenttrace.errors import ConfigError
from agenttrace.ingest.otlp.auth import authorized


def test_grpc_address_sources():
    assert load_config(environ={}).otlp_grpc_address == ("127.0.0.1", 4317)
    assert load_config(environ={"AGENTTRACE_OTLP_GRPC": "127.0.0.1:5317"}).otlp_grpc_address == ("127.0.0.1", 5317)
    assert load_config(environ={"AGENTTRACE_OTLP_GRPC": ""}).otlp_grpc_address is None
    flags = load_config(environ={"AGENTTRACE_OTLP_GRPC": "127.0.0.1:5317"}, overrides={"otlp.grpc": ""})
    assert flags.otlp_grpc_address is None


def test_grpc_beyond_loopback_needs_a_key():
    with pytest.raises(ConfigError) as err:
        require_api_key(load_config(environ={}, overrides={"otlp.grpc": "0.0.0.0:4317"}))
    assert "otlp.grpc" in str(err.value)
    require_api_key(load_config(environ={"AGENTTRACE_API_KEY": "k"}, overrides={"otlp.grpc": "0.0.0.0:4317"}))


@pytest.mark.parametrize(
    ("key", "value"),
    [("otlp.grpc", "nowhere"), ("otlp.max_body_bytes", 10), ("otlp.mask_patterns", ["(unclosed"])],
)
def test_bad_values_name_the_key(key, value):
    with pytest.raises(ConfigError) as err:
        load_config(environ={}, overrides={key: value})
    assert err.value.key == key


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("headers", "peer", "key", "ok"),
    [
        ({}, "127.0.0.1", None, True),
        ({}, "::1", None, True),
        ({}, "10.0.0.5", None, False),
        ({}, None, None, False),
        ({"authorization": "Bearer s3cret"}, "10.0.0.5", "s3cret", True),
        ({"authorization": "bearer s3cret"}, "10.0.0.5", "s3cret", True),
        ({"x-api-key": "s3cret"}, "10.0.0.5", "s3cret", True),
        ({"authorization": _basic("pk-lf-1", "s3cret")}, "10.0.0.5", "s3cret", True),
        ({"authorization": _basic("s3cret", "other")}, "10.0.0.5", "s3cret", False),
        ({"authorization": "Basic !!notbase64"}, "127.0.0.1", "s3cret", False),
        ({}, "127.0.0.1", "s3cret", False),  # with a key, loopback needs it too
    ],
)
def test_authorized(headers, peer, key, ok):
    assert authorized(headers.get, peer, key) is ok
