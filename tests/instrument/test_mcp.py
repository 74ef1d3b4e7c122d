"""``at.instrument("mcp")``: a real MCP client talking to a real MCP server in-process;
client spans for call_tool / read_resource, server spans for the tool call."""

from __future__ import annotations

import asyncio

import pytest

import agenttrace as at
from agenttrace.model import Status

mcp = pytest.importorskip("mcp")
mcpserver = pytest.importorskip("mcp.server.mcpserver")


def _server():
    server = mcpserver.MCPServer("weather")

    @server.tool()
    def forecast(city: str) -> str:
        """The forecast for a city."""
        if city == "Atlantis":
            raise ValueError("no such city")
        return f"sunny in {city}"

    @server.resource("kb://cities")
    def cities() -> str:
        return "Paris, Oslo"

    return server


def test_client_and_server_spans_of_a_tool_call(rec) -> None:
    at.instrument("mcp")

    async def run() -> tuple[str, str]:
        async with mcp.Client(_server()) as client:
            with at.span("agent-step"):
                result = await client.call_tool("forecast", {"city": "Paris"})
                resource = await client.read_resource("kb://cities")
                failed = await client.call_tool("forecast", {"city": "Atlantis"})
        assert failed.is_error  # the library's answer is unchanged
        return result.content[0].text, resource.contents[0].text

    assert asyncio.run(run()) == ("sunny in Paris", "Paris, Oslo")
    spans = rec.spans()
    step = next(s for s in spans if s.name == "agent-step")
    client_calls = [s for s in spans if s.name == "forecast" and "mcp.side" not in s.attributes]
    server_calls = [s for s in spans if s.name == "forecast" and s.attributes.get("mcp.side") == "server"]
    assert len(client_calls) == 2 and len(server_calls) == 2
    ok, bad = client_calls
    assert (ok.kind, ok.parent_id, ok.attributes["mcp.method"]) == ("tool", step.span_id, "tools/call")
    assert (ok.input_preview, ok.output_preview, ok.status) == ('{"city":"Paris"}', "sunny in Paris", Status.UNSET)
    assert bad.status == Status.ERROR and "forecast" in bad.status_message  # the text the server sent
    read = next(s for s in spans if s.name == "mcp read_resource")
    assert (read.kind, read.attributes["mcp.resource.uri"], read.output_preview) == (
        "retrieval",
        "kb://cities",
        "Paris, Oslo",
    )
    assert read.parent_id == step.span_id
    server_ok = next(s for s in server_calls if s.input_preview == '{"city":"Paris"}')
    assert server_ok.output_preview == "sunny in Paris"
    assert any(s.status == Status.ERROR for s in server_calls)


def test_uninstrument_removes_the_client_spans(rec) -> None:
    at.instrument("mcp")
    at.uninstrument("mcp")

    async def run() -> None:
        async with mcp.Client(_server()) as client:
            await client.call_tool("forecast", {"city": "Paris"})

    asyncio.run(run())
    assert [s.name for s in rec.spans()] == []
