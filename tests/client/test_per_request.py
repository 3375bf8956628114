"""Our client on the per-request wire, against our server over real sockets (both eras)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

import trio_mcp_http
from trio_mcp_http import RunningServer, ServerConfig
from trio_mcp_http.client import McpHttpError, forget_eras, open_client
from trio_mcp_http.server import Context, McpServer


def build() -> McpServer:
    server = McpServer("modern-test", "3.1", instructions="hi")

    @server.tool()
    async def greet(ctx: Context) -> str:
        """Asks a name, then a colour."""
        name = await ctx.elicit("Name?", {"type": "object", "properties": {}})
        colour = await ctx.elicit("Colour?", {"type": "object", "properties": {}})
        return f"{(name.content or {}).get('v')} likes {(colour.content or {}).get('v')}"

    @server.tool()
    async def count(n: int, ctx: Context) -> int:
        """Counts with progress."""
        for i in range(n):
            await ctx.report_progress(i + 1, n)
            await ctx.info(f"step {i}")
        return n

    @server.tool(
        input_schema={
            "type": "object",
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
            "required": ["region"],
        }
    )
    def where(region: str) -> str:
        """Mirrors its region into a header."""
        return f"region={region}"

    @server.tool()
    async def nap(seconds: float) -> str:
        """Sleeps."""
        await trio.sleep(seconds)
        return "rested"

    @server.tool()
    async def touch() -> str:
        """Says the tools changed."""
        await server.notify_tools_changed()
        return "touched"

    return server


@pytest.fixture
async def running(nursery: trio.Nursery) -> AsyncIterator[RunningServer]:
    forget_eras()
    server: RunningServer = await nursery.start(trio_mcp_http.serve, build())
    yield server
    server.shutdown()


async def elicit(params: dict[str, Any]) -> dict[str, Any]:
    answer = "Ada" if params["message"] == "Name?" else "red"
    return {"action": "accept", "content": {"v": answer}}


async def test_auto_mode_finds_the_per_request_era(running: RunningServer) -> None:
    async with open_client(running.url, elicitation_callback=elicit) as client:
        assert (client.era, client.protocol_version) == ("per-request", "2026-07-28")
        assert client.session_id is None
        info = client.server_info
        assert info is not None
        assert (info.name, client.instructions) == ("modern-test", "hi")
        assert "tools" in client.server_capabilities
        result = await client.call_tool("greet")
        assert result.content[0]["text"] == "Ada likes red"  # two input-required rounds
        updates: list[float] = []

        async def progress(value: float, total: float | None, message: str | None) -> None:
            updates.append(value)

        await client.set_logging_level("info")
        result = await client.call_tool("count", {"n": 3}, progress_callback=progress)
        assert result.structured_content is None
        assert updates == [1, 2, 3]
    with trio.fail_after(5):
        while running.statistics().exchanges:  # noqa: ASYNC110 (real sockets)
            await trio.sleep(0.01)
    assert running.statistics().sessions_opened == 0


async def test_mirrored_headers_are_sent_from_the_listed_schema(running: RunningServer) -> None:
    async with open_client(running.url, mode="2026-07-28") as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert "where" in tools
        for region in ("eu-west", "Hello, 世界", " padded "):
            result = await client.call_tool("where", {"region": region})
            assert result.content[0]["text"] == f"region={region}"


async def test_legacy_mode_opens_a_session_on_the_same_server(running: RunningServer) -> None:
    async with open_client(running.url, mode="legacy") as client:
        assert client.era == "handshake"
        assert client.session_id is not None
        assert client.protocol_version == "2025-11-25"
    assert running.statistics().sessions_opened == 1


async def test_auto_mode_falls_back_to_a_session_on_a_legacy_only_server(
    nursery: trio.Nursery,
) -> None:
    forget_eras()
    config = ServerConfig(versions=["2025-06-18", "2025-11-25"])
    server: RunningServer = await nursery.start(trio_mcp_http.serve, build(), config)
    async with open_client(server.url) as client:
        assert (client.era, client.protocol_version) == ("handshake", "2025-11-25")
    async with open_client(server.url) as client:  # remembered: no probe this time
        assert client.era == "handshake"
    server.shutdown()


async def test_a_server_that_refuses_the_probe_for_auth_is_not_taken_as_legacy(
    nursery: trio.Nursery,
) -> None:
    forget_eras()
    config = ServerConfig(allowed_origins=["http://nowhere:*"])
    server: RunningServer = await nursery.start(trio_mcp_http.serve, build(), config)
    with pytest.raises(McpHttpError) as caught:
        async with open_client(server.url, headers={"Origin": "http://evil:1"}):
            pass
    assert caught.value.status == 403
    server.shutdown()


async def test_subscribe_streams_the_changes_asked_for(running: RunningServer) -> None:
    async with (
        open_client(running.url) as client,
        client.subscribe(tools=True, prompts=True) as changes,
    ):
        assert changes.honoured == {"toolsListChanged": True}  # no prompts registered
        await client.call_tool("touch")
        async for notification in changes:
            assert notification.method == "notifications/tools/list_changed"
            break


async def test_cancelling_a_call_closes_its_stream_and_cancels_it(running: RunningServer) -> None:
    async with open_client(running.url, elicitation_callback=elicit) as client:
        with trio.move_on_after(0.5):
            await client.call_tool("nap", {"seconds": 60})
        result = await client.call_tool("count", {"n": 1})
        assert result.content[0]["text"] == "1"
    with trio.fail_after(5):
        while running.statistics().exchanges:  # noqa: ASYNC110 (real sockets)
            await trio.sleep(0.01)
