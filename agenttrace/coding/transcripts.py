"""Coding agents' session transcripts (JSONL) → spans: pure, line-by-line state machines.

Claude Code writes ``~/.claude/projects/<project>/<session>.jsonl``: one JSON record a
line, ``type`` "user" / "assistant" / "summary" / "system". An assistant API response
is written as several lines (one per content block) that repeat the same
``message.id``, ``requestId`` and ``message.usage``; tool calls are ``tool_use`` blocks
whose results come back in a later user record as ``tool_result`` blocks with the same
``tool_use_id``. Codex writes ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``: records
``{"timestamp", "type", "payload"}`` with ``session_meta``, ``turn_context`` (the model),
``response_item`` (``function_call`` / ``function_call_output`` paired by ``call_id``)
and ``event_msg`` ``token_count`` (usage per turn, ``last_token_usage``, or cumulative
``total_token_usage``). The parsing rules follow ccusage's loaders (see
docs/coding-agents.md) so totals agree with it.

Each parser turns records into :class:`~agenttrace.model.Span` values with ids derived
from the records' own ids (so the same record always gives the same span), and keeps a
small JSON-able state (:meth:`state`) so an import can stop at any line and resume.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from agenttrace.model import Span, Status, Usage
from agenttrace.sdk.integrations.anthropic import usage_from_anthropic

__all__ = ["ClaudeCodeParser", "CodexParser", "SeenResponses", "derived_id", "parse_time_ns", "tool_kind"]

_PREVIEW = 500
# Claude Code tools that act on one file, and what they do to it.
_FILE_TOOLS = {"Read": "read", "Write": "write", "Edit": "edit", "MultiEdit": "edit", "NotebookEdit": "edit"}
_SHELL_TOOLS = {"Bash", "shell", "exec_command", "local_shell", "container.exec"}


def derived_id(key: str, size: int) -> bytes:
    """A deterministic id of ``size`` bytes for ``key`` (never all zeros)."""
    digest = hashlib.blake2b(key.encode(), digest_size=size).digest()
    return digest if any(digest) else b"\x01" + digest[1:]


def parse_time_ns(text: Any) -> int | None:
    """An ISO-8601 timestamp (``2025-07-10T10:00:00.123Z``) as Unix nanoseconds."""
    if not isinstance(text, str) or not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def _preview(value: Any) -> str:
    if isinstance(value, list):  # tool_result content: a list of {"type": "text", "text": ...}
        value = "\n".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in value)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def tool_kind(name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The span kind of a tool call and the typed attributes readers list (files, commands)."""
    if name in _FILE_TOOLS and isinstance(args.get("file_path") or args.get("notebook_path"), str):
        return "file", {
            "file.path": args.get("file_path") or args.get("notebook_path"),
            "file.operation": _FILE_TOOLS[name],
        }
    if name in _SHELL_TOOLS:
        command = args.get("command") or args.get("cmd")
        if isinstance(command, list):
            command = " ".join(str(c) for c in command)
        if isinstance(command, str):
            return "terminal", {"terminal.command": command}
    return "tool", {}


class SeenResponses:
    """The Claude Code API responses an import has counted, as short hashes.

    A response is a duplicate when its message id and request id were counted before, or
    when its message id was counted and either copy is a sidechain's (a sidechain file
    replays its parent's messages under new request ids: ccusage's rule, issue #913).
    """

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        state = state or {}
        self.keys: set[str] = set(state.get("keys", ()))
        self.messages: set[str] = set(state.get("messages", ()))
        self.sidechain_messages: set[str] = set(state.get("sidechain_messages", ()))

    @staticmethod
    def _h(text: str) -> str:
        return derived_id(text, 8).hex()

    def check(self, key: str, message_id: str, sidechain: bool) -> bool:
        """Whether this response was counted already; records it either way."""
        k, m = self._h(key), self._h(message_id) if message_id else ""
        duplicate = k in self.keys or (bool(m) and m in self.messages and (sidechain or m in self.sidechain_messages))
        self.keys.add(k)
        if m:
            self.messages.add(m)
            if sidechain:
                self.sidechain_messages.add(m)
        return duplicate

    def state(self) -> dict[str, Any]:
        return {
            "keys": sorted(self.keys),
            "messages": sorted(self.messages),
            "sidechain_messages": sorted(self.sidechain_messages),
        }


class ClaudeCodeParser:
    """Claude Code transcript records → llm spans (one per API response, counted once)
    and tool spans (one per ``tool_use``, ended by its ``tool_result``)."""

    service = "claude-code"

    def __init__(self, state: dict[str, Any] | None = None, seen: SeenResponses | None = None) -> None:
        state = state or {}
        # Shared by every file of an import: a resumed session replays earlier responses
        # into a new file, and a sidechain file replays its parent's.
        self.seen = seen if seen is not None else SeenResponses()
        self.pending_tools: dict[str, dict[str, Any]] = dict(state.get("pending_tools", {}))
        self.last_ns: int | None = state.get("last_ns")
        self._buffer: dict[str, Any] | None = None  # the assistant response being read

    def state(self) -> dict[str, Any]:
        """What a later import needs to continue after the last line fed (call after
        :meth:`flush`)."""
        return {
            "pending_tools": self.pending_tools,
            "last_ns": self.last_ns,
        }

    def feed(self, record: dict[str, Any], offset: int = 0) -> list[Span]:
        """The spans this record completes (``offset``, the line's byte offset, is unused:
        Claude Code's records carry their own ids)."""
        out: list[Span] = []
        ts = parse_time_ns(record.get("timestamp"))
        message = record.get("message") if isinstance(record.get("message"), dict) else None
        kind = record.get("type")
        if kind == "assistant" and message is not None and isinstance(message.get("usage"), dict):
            key = f"{message.get('id', '')}:{record.get('requestId', '')}"
            buf = self._buffer
            if buf is not None and buf["key"] != key:
                out.extend(self.flush())
                buf = None
            if buf is None:
                buf = self._buffer = {"key": key, "record": record, "start": self.last_ns, "end": ts, "tools": []}
            elif _usage_total(message["usage"]) > _usage_total(buf["record"]["message"]["usage"]):
                buf["record"] = record  # ccusage keeps the copy with the larger token total
            if ts is not None:
                buf["end"] = max(buf["end"] or ts, ts)
            for block in message.get("content") or ():
                if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("id"):
                    buf["tools"].append(block)
            return out
        out.extend(self.flush())
        if ts is not None:
            self.last_ns = ts
        if kind == "user" and message is not None and isinstance(message.get("content"), list):
            for block in message["content"]:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    span = self._tool_span(record, block, ts)
                    if span is not None:
                        out.append(span)
        return out

    def flush(self) -> list[Span]:
        """Emit the assistant response being read (call at the end of a file)."""
        buf, self._buffer = self._buffer, None
        if buf is None:
            return []
        record = buf["record"]
        message = record["message"]
        session = str(record.get("sessionId") or "")
        llm_id = derived_id(f"claude-code:llm:{session}:{buf['key']}", 8)
        message_id = str(message.get("id") or "")
        duplicate = self.seen.check(buf["key"], message_id, bool(record.get("isSidechain")))
        if buf["end"] is not None:
            self.last_ns = buf["end"]
        if duplicate:
            return []  # a replay: its tool calls were counted with the original too
        for block in buf["tools"]:
            self.pending_tools.setdefault(
                str(block["id"]),
                {
                    "name": str(block.get("name") or "tool"),
                    "input": block.get("input") if isinstance(block.get("input"), dict) else {},
                    "start": buf["end"],
                    "parent": llm_id.hex(),
                    "session": session,
                },
            )
        model = str(message.get("model") or "")
        if model == "<synthetic>":
            return []
        end = buf["end"] or 0
        start = buf["start"] if buf["start"] is not None and buf["start"] <= end else end
        attrs: dict[str, Any] = {
            "claude_code.session_id": session,
            "claude_code.message_id": message_id,
            "claude_code.request_id": str(record.get("requestId") or ""),
        }
        for src, dst in (("cwd", "claude_code.cwd"), ("gitBranch", "git.branch"), ("version", "claude_code.version")):
            if record.get(src):
                attrs[dst] = str(record[src])
        if record.get("isSidechain"):
            attrs["claude_code.sidechain"] = True
        usage = message["usage"]
        cost = record.get("costUSD")
        return [
            Span(
                trace_id=derived_id(f"claude-code:trace:{session}", 16),
                span_id=llm_id,
                name=model or "assistant",
                start_ns=start,
                end_ns=end,
                kind="llm",
                status=Status.ERROR if record.get("isApiErrorMessage") else Status.UNSET,
                session_id=session,
                service=self.service,
                model=model,
                provider="anthropic",
                usage=usage_from_anthropic(usage),
                cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
                service_tier=str(usage.get("service_tier") or "") if usage.get("service_tier") != "standard" else "",
                attributes=attrs,
            )
        ]

    def _tool_span(self, record: dict[str, Any], block: dict[str, Any], ts: int | None) -> Span | None:
        use_id = str(block.get("tool_use_id") or "")
        call = self.pending_tools.pop(use_id, None)
        if call is None:
            return None
        end = ts or call["start"] or 0
        start = call["start"] if call["start"] is not None and call["start"] <= end else end
        kind, typed = tool_kind(call["name"], call["input"])
        is_error = bool(block.get("is_error"))
        return Span(
            trace_id=derived_id(f"claude-code:trace:{call['session']}", 16),
            span_id=derived_id(f"claude-code:tool:{use_id}", 8),
            parent_id=bytes.fromhex(call["parent"]),
            name=call["name"],
            start_ns=start,
            end_ns=end,
            kind=kind,
            status=Status.ERROR if is_error else Status.UNSET,
            status_message="tool error" if is_error else "",
            session_id=call["session"],
            service=self.service,
            input_preview=_preview(call["input"]),
            output_preview=_preview(block.get("content", "")),
            attributes={"tool.name": call["name"], "tool.use_id": use_id, **typed},
        )


def _usage_total(usage: dict[str, Any]) -> int:
    u = usage_from_anthropic(usage)
    return u.input_tokens + u.output_tokens


class CodexParser:
    """Codex rollout records → llm spans (one per ``token_count`` with new usage) and
    tool spans (``function_call`` ended by its ``function_call_output``)."""

    service = "codex"
    FALLBACK_MODEL = "gpt-5"  # what ccusage assumes for early sessions with no turn_context

    def __init__(self, state: dict[str, Any] | None = None, *, file_key: str = "") -> None:
        state = state or {}
        self.file_key = file_key
        self.session: str = state.get("session", "")
        self.model: str = state.get("model", "")
        self.cwd: str = state.get("cwd", "")
        self.totals: dict[str, int] | None = state.get("totals")
        self.pending_calls: dict[str, dict[str, Any]] = dict(state.get("pending_calls", {}))
        self.last_ns: int | None = state.get("last_ns")

    def state(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "model": self.model,
            "cwd": self.cwd,
            "totals": self.totals,
            "pending_calls": self.pending_calls,
            "last_ns": self.last_ns,
        }

    def flush(self) -> list[Span]:
        return []

    def _trace(self) -> bytes:
        return derived_id(f"codex:trace:{self.session or self.file_key}", 16)

    def feed(self, record: dict[str, Any], offset: int = 0) -> list[Span]:
        """The spans this record completes; ``offset`` (the line's byte offset in its file)
        names a ``token_count``, which has no id of its own."""
        ts = parse_time_ns(record.get("timestamp"))
        payload = record.get("payload") if isinstance(record.get("payload"), dict) else {}
        kind = record.get("type")
        out: list[Span] = []
        if kind == "session_meta":
            self.session = str(payload.get("id") or self.session)
            self.cwd = str(payload.get("cwd") or self.cwd)
        elif kind == "turn_context":
            self.model = str(payload.get("model") or self.model)
            self.cwd = str(payload.get("cwd") or self.cwd)
        elif kind == "response_item":
            item = payload.get("type")
            if item in ("function_call", "custom_tool_call", "local_shell_call") and payload.get("call_id"):
                self.pending_calls[str(payload["call_id"])] = {
                    "name": str(payload.get("name") or item),
                    "arguments": payload.get("arguments", payload.get("input", payload.get("action", ""))),
                    "start": ts,
                }
            elif item in ("function_call_output", "custom_tool_call_output") and payload.get("call_id"):
                span = self._tool_span(str(payload["call_id"]), payload.get("output", ""), ts)
                if span is not None:
                    out.append(span)
        elif kind == "event_msg" and payload.get("type") == "token_count":
            span = self._llm_span(payload.get("info") or {}, ts, offset)
            if span is not None:
                out.append(span)
        if ts is not None:
            self.last_ns = ts
        return out

    def _llm_span(self, info: dict[str, Any], ts: int | None, offset: int) -> Span | None:
        total = info.get("total_token_usage") if isinstance(info.get("total_token_usage"), dict) else None
        last = info.get("last_token_usage") if isinstance(info.get("last_token_usage"), dict) else None
        if last is None and total is not None:
            prev = self.totals or {}
            last = {k: max(0, int(total.get(k) or 0) - int(prev.get(k) or 0)) for k in _CODEX_KEYS}
        if total is not None:
            self.totals = {k: int(total.get(k) or 0) for k in _CODEX_KEYS}
        if last is None or not any(int(last.get(k) or 0) for k in _CODEX_KEYS[:4]):
            return None
        inp = int(last.get("input_tokens") or 0)
        usage = Usage(
            input_tokens=inp,  # OpenAI's input count already includes the cached part, as ours does
            output_tokens=int(last.get("output_tokens") or 0),
            cache_read_tokens=min(int(last.get("cached_input_tokens") or 0), inp),
            reasoning_tokens=int(last.get("reasoning_output_tokens") or 0),
        )
        model = self.model or self.FALLBACK_MODEL
        end = ts or self.last_ns or 0
        start = self.last_ns if self.last_ns is not None and self.last_ns <= end else end
        attrs: dict[str, Any] = {"codex.session_id": self.session}
        if not self.model:
            attrs["codex.model_fallback"] = True
        if self.cwd:
            attrs["codex.cwd"] = self.cwd
        return Span(
            trace_id=self._trace(),
            span_id=derived_id(f"codex:llm:{self.session or self.file_key}:{offset}", 8),
            name=model,
            start_ns=start,
            end_ns=end,
            kind="llm",
            session_id=self.session,
            service=self.service,
            model=model,
            provider="openai",
            usage=usage,
            attributes=attrs,
        )

    def _tool_span(self, call_id: str, output: Any, ts: int | None) -> Span | None:
        call = self.pending_calls.pop(call_id, None)
        if call is None:
            return None
        raw = call["arguments"]
        try:
            args = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            args = {"input": raw}
        args = args if isinstance(args, dict) else {"input": args}
        end = ts or call["start"] or 0
        start = call["start"] if call["start"] is not None and call["start"] <= end else end
        kind, typed = tool_kind(call["name"], args)
        failed = False
        if isinstance(output, str):
            try:
                meta = json.loads(output).get("metadata", {})
                failed = isinstance(meta, dict) and int(meta.get("exit_code", 0) or 0) != 0
            except (ValueError, AttributeError, TypeError):
                pass
        return Span(
            trace_id=self._trace(),
            span_id=derived_id(f"codex:tool:{self.session or self.file_key}:{call_id}", 8),
            name=call["name"],
            start_ns=start,
            end_ns=end,
            kind=kind,
            status=Status.ERROR if failed else Status.UNSET,
            session_id=self.session,
            service=self.service,
            input_preview=_preview(args),
            output_preview=_preview(output),
            attributes={"tool.name": call["name"], "tool.call_id": call_id, **typed},
        )


_CODEX_KEYS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")
