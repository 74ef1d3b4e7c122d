"""Config errors come from walking the config Structs' own fields (msgspec.inspect), not
from reading msgspec's message text: each case names the key, the value and the TOML type."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenttrace.collector.config import load_config
from agenttrace.errors import ConfigError


@pytest.mark.parametrize(
    ("toml", "key", "value", "expected"),
    [
        ("[receive]\nudp = 5\n", "receive.udp", 5, "a list"),
        ('[store]\ncompress = "yes"\n', "store.compress", "yes", "true or false"),
        ("[api]\napi_key = 42\n", "api.api_key", 42, "a string"),
        ('[store]\nseal_age_s = "soon"\n', "store.seal_age_s", "soon", "a number > 0"),  # the semantic check's words
        ('[collector]\nlog_level = "loud"\n', "collector.log_level", "loud", "one of 'debug', 'info', 'warning'"),
        ("[collector]\nwokers = 2\n", "collector.wokers", 2, "collector.workers"),
        ('http = "x"\n', "http", "x", "a table"),
    ],
)
def test_a_wrong_value_names_its_key_and_type(tmp_path: Path, toml, key, value, expected) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert (info.value.key, info.value.value) == (key, value)
    assert expected in info.value.expected
    assert "Expected `" not in info.value.expected  # never msgspec's own text
