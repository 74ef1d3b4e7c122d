"""MCP (the ``mcp`` Python SDK): the client's ``call_tool`` / ``read_resource`` and the
server side of a tool call.

- Client: ``ClientSession.call_tool`` → a ``tool`` span named after the tool
  (``mcp.method="tools/call"``, arguments as input, the result's text as output, an error
  when the server answers ``isError``); ``ClientSession.read_resource`` → a ``retrieval``
  span (``mcp.method="resources/read"``, ``mcp.resource.uri``).
- Server: the tool manager's ``call_tool`` (``MCPServer`` in mcp 2, ``FastMCP`` in mcp 1)
  → a ``tool`` span (``mcp.side="server"``). A server span that starts a trace takes the
  MCP session id (``Context.session_id``, on HTTP transports) as its session; it is also
  kept as ``mcp.session_id``.

The server modules are patched when the application imports them (their own import
hooks), so a client-only application never loads server code. The request is never
changed, so a client span and the server span it caused are separate traces.
"""

from __future__ import annotations

import contextlib
from typing import Any

from agenttrace.instrumentation._support import Patches, count_error, end_span, start_span
from agenttrace.sdk.context import current_span_var, session
from agenttrace.sdk.integrations._common import get

MODULE = "mcp"
DISTRIBUTION = "mcp"
SUPPORTED = ("1.0", "3")  # >=1.0,<3

# The server's tool manager, per major version.
_SERVER_MODULES = ("mcp.server.mcpserver.tools.tool_manager", "mcp.server.fastmcp.tools.tool_manager")
_patches = Patches()
_active = False
_hooked = False


def instrument(module: Any) -> None:
    global _active, _hooked
    from mcp.client.session import ClientSession

    _active = True
    _patches.wrap(ClientSession, "call_tool", _client_call_tool)
    _patches.wrap(ClientSession, "read_resource", _client_read_resource)
    if not _hooked:
        import wrapt

        for name in _SERVER_MODULES:
            wrapt.register_post_import_hook(_patch_server, name)
        _hooked = True


def uninstrument() -> None:
    global _active
    _active = False
    _patches.unwrap_all()


def _patch_server(module: Any) -> None:
    if not _active:
        return
    try:
        _patches.wrap(module.ToolManager, "call_tool", _server_call_tool)
    except Exception:
        count_error()


# --- client ------------------------------------------------------------------------------------


def _argument(args: Any, kwargs: Any, index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


async def _client_call_tool(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    tool = _argument(args, kwargs, 0, "name")
    s = start_span(str(tool or "call_tool"), "tool")
    if s is None:
        return await wrapped(*args, **kwargs)
    try:
        s.attributes["mcp.method"] = "tools/call"
        arguments = _argument(args, kwargs, 1, "arguments")
        if arguments is not None:
            s.set_input(arguments)
    except Exception:
        count_error()
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        end_span(s, exc)
        raise
    try:
        _record_tool_result(s, result)
    except Exception:
        count_error()
    end_span(s)
    return result


async def _client_read_resource(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    uri = _argument(args, kwargs, 0, "uri")
    s = start_span("mcp read_resource", "retrieval")
    if s is None:
        return await wrapped(*args, **kwargs)
    try:
        s.attributes["mcp.method"] = "resources/read"
        s.attributes["mcp.resource.uri"] = str(uri)
    except Exception:
        count_error()
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        end_span(s, exc)
        raise
    try:
        texts = [str(get(c, "text")) for c in (get(result, "contents") or ()) if get(c, "text") is not None]
        if texts:
            s.set_output("".join(texts))
    except Exception:
        count_error()
    end_span(s)
    return result


def _record_tool_result(s: Any, result: Any) -> None:
    texts = [str(get(c, "text")) for c in (get(result, "content") or ()) if get(c, "type") == "text"]
    if texts:
        s.set_output("".join(texts))
    if get(result, "is_error") or get(result, "isError"):
        s.set_status("error", texts[0] if texts else "the MCP tool reported an error")


# --- server ------------------------------------------------------------------------------------


async def _server_call_tool(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    name = _argument(args, kwargs, 0, "name")
    context = _argument(args, kwargs, 2, "context")
    session_id = None
    with contextlib.suppress(Exception):  # outside a request a Context may have no session
        session_id = getattr(context, "session_id", None)
    scope = session(str(session_id)) if session_id and current_span_var.get() is None else contextlib.nullcontext()
    with scope:
        s = start_span(str(name or "call_tool"), "tool")
    if s is None:
        return await wrapped(*args, **kwargs)
    try:
        s.attributes["mcp.side"] = "server"
        s.attributes["mcp.method"] = "tools/call"
        if session_id:
            s.attributes["mcp.session_id"] = str(session_id)
        arguments = _argument(args, kwargs, 1, "arguments")
        if arguments is not None:
            s.set_input(arguments)
    except Exception:
        count_error()
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        end_span(s, exc)
        raise
    try:
        if get(result, "content") is not None:
            _record_tool_result(s, result)
        else:
            s.set_output(result)
    except Exception:
        count_error()
    end_span(s)
    return result
