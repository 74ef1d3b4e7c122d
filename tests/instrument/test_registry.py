"""The registry behind ``at.instrument()``: what it imports (nothing), when it patches
(on the application's import), what it reports, and that it causes no network access.
Each case runs in a fresh interpreter, since imports are what is being tested."""

from __future__ import annotations

import json

import pytest
from sdk_helpers import run_python  # type: ignore[import-not-found]

import agenttrace as at


def _run(code: str) -> dict:
    done = run_python(code, env={"AGENTTRACE_DISABLED": "1"}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_instrument_imports_no_library_and_patches_when_the_application_imports_it() -> None:
    result = _run(
        """
import json, sys
import agenttrace as at
status = at.instrument()
libraries = ("openai", "anthropic", "langchain_core", "langgraph", "litellm", "agents", "mcp")
before = sorted(m for m in sys.modules if m.split(".")[0] in libraries)
import openai
from openai.resources.chat.completions import Completions
print(json.dumps({"status": status, "before": before, "after": at.instrumented()["openai"],
                  "wrapped": type(vars(Completions)["create"]).__name__}))
"""
    )
    assert result["before"] == []  # nothing imported on the application's behalf
    assert set(result["status"]) == {"openai", "anthropic", "langchain", "litellm", "openai-agents", "mcp"}
    assert all(v == "waiting for import" for v in result["status"].values()), result["status"]
    assert result["after"] == "patched"
    assert result["wrapped"] == "FunctionWrapper"


def test_a_library_imported_before_instrument_is_patched_at_once() -> None:
    result = _run(
        """
import json
import anthropic
import agenttrace as at
print(json.dumps(at.instrument("anthropic")))
"""
    )
    assert result == {"anthropic": "patched"}


def test_instrumenting_litellm_causes_no_network_access() -> None:
    result = _run(
        """
import json, os, socket
attempts = []
real_connect = socket.socket.connect
def connect(self, address):
    attempts.append(str(address))
    raise OSError("network disabled in this test")
socket.socket.connect = connect
real_getaddrinfo = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    attempts.append(str(host))
    raise OSError("network disabled in this test")
socket.getaddrinfo = getaddrinfo
os.environ.pop("LITELLM_LOCAL_MODEL_COST_MAP", None)
import agenttrace as at
at.instrument("litellm")
import litellm
print(json.dumps({"attempts": attempts, "status": at.instrumented()["litellm"],
                  "flag": os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP")}))
"""
    )
    assert result["status"] == "patched"
    assert result["flag"] == "True"
    assert result["attempts"] == []


def test_a_missing_library_is_reported_not_raised() -> None:
    result = _run(
        """
import json, sys
sys.modules["litellm"] = None  # as good as not installed: importing it fails
import importlib.util
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "litellm" else real_find_spec(name, *a)
import agenttrace as at
print(json.dumps(at.instrument("litellm", "openai")))
"""
    )
    assert result == {"openai": "waiting for import", "litellm": "not installed"}


def test_unknown_names_raise_and_versions_compare() -> None:
    from agenttrace.instrumentation import version_in_range

    with pytest.raises(ValueError, match="unknown library 'langchian'"):
        at.instrument("langchian")
    assert version_in_range("1.109.1rc1", "1.30", "4")
    assert not version_in_range("4.0.0", "1.30", "4")
    assert not version_in_range("0.29.9", "0.30", "3")
