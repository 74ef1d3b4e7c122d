"""Help texts that read as words: ``--since WHEN``, ``--limit N``, ``--json`` alone.

Typer labels every option with its Python type (``<str>``, ``<bool>``, ``<int range>``),
which tells a user nothing (and ``<bool>`` wrongly suggests ``--json true``). The root
command's group (:class:`WordyGroup`) names each value after what it means, once, for every
sub-command, so no command module has to spell a metavar and new commands get it too.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

__all__ = ["WordyGroup", "word_for"]

# What an option's value is, by option name; others are named after the option (--rate RATE).
_WORDS = {
    "since": "WHEN",
    "until": "WHEN",
    "limit": "N",
    "data-dir": "DIR",
    "config": "FILE",
    "output": "FILE",
    "session": "SESSION_ID",
    "trace": "TRACE_ID",
    "user": "USER_ID",
    "service": "NAME",
    "model": "MODEL",
    "kind": "KIND",
    "name": "SUBSTRING",
    "cursor": "CURSOR",
    "width": "COLUMNS",
    "url": "URL",
    "active": "WINDOW",
    "duration": "SECONDS",
    "rate": "SPANS_PER_S",
    "processes": "COUNT",
    "workers": "COUNT",
    "services": "NAMES",
    "endpoint": "URL",
    "api-key": "KEY",
    "udp": "HOST:PORT",
    "http": "HOST:PORT",
    "otlp-grpc": "HOST:PORT",
    "otlp-http": "HOST:PORT",
    "unix": "PATH",
    "out": "FILE",
    "litellm-version": "VERSION",
    "log-level": "LEVEL",
    "by": "GROUP",
}


# Typer carries its own copy of Click, so parameters are read by what they have, not their class.
def word_for(param: Any) -> str | None:
    """The metavar ``param`` should show: ``""`` for a flag, a word for a value."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    described = getattr(param, "type_descriptor", None)
    if described is not None and described.is_choice:
        return "|".join(str(c) for c in described.choices or ())
    long = next((o[2:] for o in param.opts if o.startswith("--")), None)
    if long is None:
        return (param.name or "value").upper()
    return _WORDS.get(long, long.upper().replace("-", "_"))


def _no_type(ctx: Any = None) -> None:
    return None


def _wordify(command: Any, ctx: Any) -> None:
    for param in command.get_params(ctx):
        if param.metavar is None:
            param.metavar = word_for(param)
        if getattr(param, "param_type_name", "") == "argument":
            # An argument's name already says what it is (TRACE_ID); "<str>" beside it adds nothing.
            param.display_type_rich = _no_type
    for sub in getattr(command, "commands", {}).values():  # a group: its sub-commands too
        _wordify(sub, ctx)


class WordyGroup(TyperGroup):
    """The root group: gives every option of every sub-command a metavar that reads as a word."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            if param.metavar is None:
                param.metavar = word_for(param)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _wordify(command, ctx)
        return command
