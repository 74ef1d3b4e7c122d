"""Configuration: defaults, precedence, and errors that name the key, the value and what was expected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agenttrace.collector.config import load_config, parse_hostport
from agenttrace.errors import ConfigError


def test_no_configuration_gives_the_documented_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg-run"))
    monkeypatch.delenv("AGENTTRACE_DATA_DIR", raising=False)
    monkeypatch.delenv("AGENTTRACE_RUNTIME_DIR", raising=False)
    cfg = load_config(environ={})
    assert cfg.udp_addresses == [("127.0.0.1", 4319)]
    assert cfg.http_address == ("127.0.0.1", 4318)
    assert cfg.unix_path == tmp_path / "xdg-run" / "agenttrace" / "collector.sock"
    assert cfg.data_dir == tmp_path / "xdg-data" / "agenttrace"
    assert cfg.workers == os.cpu_count()


def test_file_then_environment_then_flags(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[collector]\nworkers = 3\ndata_dir = "/from/file"\n[store]\nseal_rows = 100\n')
    env = {"AGENTTRACE_WORKERS": "5", "AGENTTRACE_STORE_SEAL_AGE_S": "2.5", "AGENTTRACE_UDP": "127.0.0.1:1,[::1]:2"}
    cfg = load_config(path, environ=env, overrides={"collector.workers": 7, "collector.data_dir": None})
    assert cfg.collector.workers == 7  # flag beats env beats file
    assert cfg.collector.data_dir == "/from/file"  # a flag left unset does not override
    assert cfg.store.seal_rows == 100
    assert cfg.store.seal_age_s == 2.5
    assert cfg.udp_addresses == [("127.0.0.1", 1), ("::1", 2)]
    assert cfg.writer_config().seal_rows == 100


def test_sdk_variables_are_not_mistaken_for_collector_keys():
    cfg = load_config(environ={"AGENTTRACE_ENDPOINT": "udp://x:1", "AGENTTRACE_SERVICE": "a"})
    assert cfg.receive.udp == ["127.0.0.1:4319"]


@pytest.mark.parametrize(
    ("toml", "key", "value", "expected"),
    [
        ("[collector]\nworkers = -1\n", "collector.workers", -1, "an integer >= 0"),
        ('[collector]\nworkers = "four"\n', "collector.workers", "four", "an integer >= 0"),
        ('[store]\nwal_fsync = "sometimes"\n', "store.wal_fsync", "sometimes", "'interval', 'batch', 'none'"),
        ("[store]\nseal_rowz = 1\n", "store.seal_rowz", 1, "store.seal_rows"),
        ("[storage]\nx = 1\n", "storage", {"x": 1}, "one of the tables"),
        ('[receive]\nudp = ["localhost"]\n', "receive.udp[0]", "localhost", "HOST:PORT"),
        ('[http]\nlisten = "127.0.0.1:99999"\n', "http.listen", "127.0.0.1:99999", "port between 0 and 65535"),
        ('[pricing]\ncatalog = "x"\n', "pricing", {"catalog": "x"}, "catalog"),
    ],
)
def test_errors_name_key_value_and_expectation(tmp_path: Path, toml, key, value, expected):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    assert err.key == key
    assert err.value == value
    assert expected in err.expected
    assert str(path) in str(err)


def test_environment_errors_say_where_they_came_from():
    with pytest.raises(ConfigError) as info:
        load_config(environ={"AGENTTRACE_STORE_SEAL_ROWS": "lots"})
    assert info.value.key == "store.seal_rows" and info.value.source == "environment"
    assert "got 'lots'" in str(info.value)


def test_broken_toml_and_missing_file(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[collector\n")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_config(bad, environ={})
    with pytest.raises(ConfigError, match="an existing TOML file"):
        load_config(tmp_path / "absent.toml", environ={})


def test_parse_hostport():
    assert parse_hostport("0.0.0.0:4319") == ("0.0.0.0", 4319)
    assert parse_hostport("[::]:80") == ("::", 80)
    with pytest.raises(ConfigError):
        parse_hostport("4319")


def test_example_config_is_valid_and_matches_the_defaults():
    example = Path(__file__).resolve().parents[2] / "agenttrace" / "collector" / "collector.example.toml"
    cfg = load_config(example, environ={})
    assert cfg == load_config(environ={})  # the example restates every default


def test_the_command_reports_a_bad_value_and_exits_2(tmp_path: Path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "agenttrace.cli", "collector", "--workers", "-3", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert "config key 'collector.workers' in flags: got -3, expected an integer >= 0" in out.stderr
    assert not list(tmp_path.iterdir())  # nothing was created or bound


@pytest.mark.parametrize("ring_bytes", [(1 << 20) + 4, 1 << 19, 0])
def test_a_ring_size_the_ring_cannot_use_is_a_config_error(ring_bytes: int):
    with pytest.raises(ConfigError) as info:
        load_config(environ={}, overrides={"collector.ring_bytes": ring_bytes})
    assert info.value.key == "collector.ring_bytes" and info.value.value == ring_bytes
    assert "a multiple of 8" in info.value.expected and "receive.max_datagram_bytes" in info.value.expected


def test_every_valid_ring_size_is_one_the_ring_accepts():
    from agenttrace._native import ring_py

    for max_record in (1024, 16384, 65507):
        cfg = load_config(
            environ={}, overrides={"collector.ring_bytes": 1 << 20, "receive.max_datagram_bytes": max_record}
        )
        ring = ring_py.Ring.create(cfg.collector.ring_bytes, max_record=cfg.receive.max_datagram_bytes)
        assert ring.max_record == max_record
        ring.close()
        ring.unlink()


@pytest.mark.parametrize("value", [65508, 100])
def test_max_datagram_bytes_is_bounded_by_the_largest_udp_payload(value: int):
    with pytest.raises(ConfigError) as info:
        load_config(environ={"AGENTTRACE_RECEIVE_MAX_DATAGRAM_BYTES": str(value)})
    assert info.value.key == "receive.max_datagram_bytes" and info.value.source == "environment"
    assert "65507" in info.value.expected


def test_a_bad_ring_size_stops_the_command_with_one_line_and_exit_2(tmp_path: Path):
    import subprocess
    import sys

    path = tmp_path / "c.toml"
    path.write_text("[collector]\nring_bytes = 1048580\n")
    out = subprocess.run(
        [sys.executable, "-m", "agenttrace.cli", "collector", "--config", str(path), "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert f"config key 'collector.ring_bytes' in {path}: got 1048580, expected a multiple of 8" in out.stderr
