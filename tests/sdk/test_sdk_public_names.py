"""``agenttrace.__all__`` and ``agenttrace.sdk.api.__all__`` name the same SDK surface.

Both lists are written out: the package's so that ``import agenttrace`` can answer
``dir()`` and ``from agenttrace import *`` without loading the SDK, the module's so that
linters and type checkers see its imports as re-exports. This keeps them from drifting.
"""

from __future__ import annotations

import agenttrace
from agenttrace.sdk import api


def test_the_package_lists_every_sdk_name_and_the_model_types() -> None:
    model_types = {"SpanKind", "Status", "Usage"}
    assert set(agenttrace.__all__) == {"__version__"} | model_types | (set(api.__all__) - {"RemoteParent"})


def test_every_listed_name_resolves_to_the_sdk_object() -> None:
    for name in agenttrace.__all__:
        value = getattr(agenttrace, name)
        if name in api.__all__:
            assert value is getattr(api, name), name


def test_instrument_stays_the_function_after_its_package_loads() -> None:
    # Importing a submodule binds it on its parent package: the instrumentation package is
    # named apart from at.instrument so that binding cannot shadow the function.
    import agenttrace.instrumentation.openai

    assert agenttrace.instrument is api.instrument
    assert callable(agenttrace.instrument) and callable(agenttrace.uninstrument)


def test_the_coding_agent_helpers_are_public() -> None:
    for name in ("file_op", "terminal_cmd", "git_link", "checkpoint"):
        assert name in agenttrace.__all__ and name in api.__all__, name
        assert callable(getattr(agenttrace, name)), name
