"""Lifecycle: initialize and version negotiation, capabilities, ping, gating, unknown methods."""

from __future__ import annotations

import gc
from typing import Any

import pytest
import trio
import trio.testing

from tests.helpers import LATEST, call, rpc
from tests.server.client import Client, connected, serving
from tests.server.fakes import FakeRequest, FakeSession, notification, request
from trio_mcp_http import JsonRpcError, ServerConfig
from trio_mcp_http.server import McpServer, McpSessionHandler
from trio_mcp_http.testing import asgi_request


def full_server() -> McpServer:
    server = McpServer("full", "2.0", instructions="Use the tools.")

    @server.tool()
    def echo(text: str) -> str:
        """Echo."""
        return text

    @server.resource("test://r")
    def r() -> str:
        return "r"

    @server.prompt()
    def p() -> str:
        return "p"

    @server.completion("ref/prompt", "p")
    def complete_p(argument: str, value: str, resolved: Any) -> list[str]:
        return []

    return server


@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
async def test_initialize_answers_a_supported_version(version: str) -> None:
    async with serving(McpServer("s", "1.2.3")) as app:
        result = await Client(app).initialize(version)
    assert result["protocolVersion"] == version
    assert result["serverInfo"] == {"name": "s", "version": "1.2.3"}
    assert "instructions" not in result


@pytest.mark.parametrize("version", ["2024-11-05", "1999-01-01", "2099-12-31"])
async def test_initialize_answers_latest_for_an_unsupported_version(version: str) -> None:
    async with serving(McpServer("s")) as app:
        result = await Client(app).initialize(version)
    assert result["protocolVersion"] == LATEST


async def test_initialize_includes_instructions_and_full_capabilities() -> None:
    async with serving(full_server()) as app:
        result = await Client(app).initialize()
    assert result["instructions"] == "Use the tools."
    assert result["serverInfo"] == {"name": "full", "version": "2.0"}
    assert result["capabilities"] == {
        "tools": {"listChanged": True},
        "resources": {"subscribe": True, "listChanged": True},
        "prompts": {"listChanged": True},
        "logging": {},
        "completions": {},
    }


async def test_capabilities_advertise_only_what_is_registered() -> None:
    server = McpServer("bare")
    async with serving(server) as app:
        assert (await Client(app).initialize())["capabilities"] == {"logging": {}}

    @server.resource("test://{id}")
    def by_id(id: str) -> str:
        return id

    async with serving(server) as app:
        caps = (await Client(app).initialize())["capabilities"]
    assert caps == {"resources": {"subscribe": True, "listChanged": True}, "logging": {}}


async def test_ping_answers_empty_result() -> None:
    async with connected(McpServer("s")) as client:
        assert await client.result("ping") == {}


async def test_requests_work_between_initialize_and_initialized() -> None:
    async with serving(full_server()) as app:
        client = Client(app)
        await client.initialize(send_initialized=False)
        assert await client.result("ping") == {}
        tools = await client.result("tools/list")
    assert [t["name"] for t in tools["tools"]] == ["echo"]


async def test_unknown_method_is_method_not_found() -> None:
    async with connected(McpServer("s")) as client:
        error = await client.error("tools/frobnicate")
    assert error["code"] == -32601
    assert "tools/frobnicate" in error["message"]


async def test_stateless_mode_serves_without_initialize() -> None:
    config = ServerConfig(stateless=True)
    async with serving(full_server(), config) as app:
        body = rpc("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
        status, messages = await call(app, body)
    assert status == 200
    assert messages[-1]["result"] == {"content": [{"type": "text", "text": "hi"}]}


async def test_ended_sessions_are_not_kept_by_the_server() -> None:
    server = full_server()
    async with serving(server) as app:
        first, second = Client(app), Client(app)
        await first.initialize()
        await second.initialize()
        assert len(server.sessions) == 2
        assert first.session_id is not None
        headers = [("mcp-session-id", first.session_id), ("mcp-protocol-version", LATEST)]
        async with asgi_request(app, "DELETE", headers=headers) as response:
            assert response.status == 200
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        assert [handler.session.session_id for handler in server.sessions] == [second.session_id]
        await server.notify_tools_changed()  # only the live session is addressed


# -- the handler alone: states HTTP cannot reach (no session before initialize) ------------


def handler_for(server: McpServer, session: FakeSession | None = None) -> McpSessionHandler:
    return server.open_session(session or FakeSession())


async def test_ping_is_allowed_before_initialize() -> None:
    handler = handler_for(full_server())
    assert await handler.handle_request(request("ping"), FakeRequest(FakeSession())) == {}


@pytest.mark.parametrize("method", ["tools/list", "tools/call", "resources/read", "nope/nope"])
async def test_requests_before_initialize_are_invalid_requests(method: str) -> None:
    handler = handler_for(full_server())
    with pytest.raises(JsonRpcError) as caught:
        await handler.handle_request(request(method, {}), FakeRequest(FakeSession()))
    assert caught.value.code == -32600
    assert "not initialized" in caught.value.message


async def test_handler_keeps_per_session_state() -> None:
    server = full_server()
    session = FakeSession(protocol_version="2025-06-18")  # negotiated by the transport
    handler = handler_for(server, session)
    params = {
        "protocolVersion": "2025-11-25",
        "capabilities": {"sampling": {}, "roots": {"listChanged": True}},
        "clientInfo": {"name": "c", "version": "9"},
    }
    context = FakeRequest(session)
    result = await handler.handle_request(request("initialize", params), context)
    assert result["protocolVersion"] == handler.protocol_version == "2025-06-18"
    assert handler.client_capabilities == {"sampling": {}, "roots": {"listChanged": True}}
    assert handler.client_info == {"name": "c", "version": "9"}
    assert handler.handshake_done
    assert not session.handshake_complete
    session.handshake_complete = True  # the transport saw notifications/initialized
    await handler.handle_notification(notification("notifications/initialized"), session)
    assert handler.initialized is True
    level_before = handler.log_level
    await handler.handle_request(request("logging/setLevel", {"level": "error"}), context)
    assert (level_before, handler.log_level) == ("info", "error")
    # another session of the same server is untouched
    other = handler_for(server)
    assert other.log_level == "info"
    assert not other.handshake_done


async def test_initialize_answers_the_transports_version() -> None:
    session = FakeSession(protocol_version=LATEST)
    handler = handler_for(McpServer("s"), session)
    result = await handler.handle_request(request("initialize", {}), FakeRequest(session))
    assert result["protocolVersion"] == LATEST
    assert handler.client_capabilities == {}


async def test_initialize_with_malformed_capabilities_is_invalid_params() -> None:
    handler = handler_for(McpServer("s"))
    params = {"protocolVersion": LATEST, "capabilities": "all of them"}
    with pytest.raises(JsonRpcError) as caught:
        await handler.handle_request(request("initialize", params), FakeRequest(FakeSession()))
    assert caught.value.code == -32602


async def test_stateless_handler_counts_as_initialized() -> None:
    handler = handler_for(full_server(), FakeSession(session_id=None))
    assert handler.handshake_done
    assert handler.initialized
    result = await handler.handle_request(request("tools/list"), FakeRequest(FakeSession(None)))
    assert [t["name"] for t in result["tools"]] == ["echo"]


def test_server_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="page_size"):
        McpServer("s", page_size=0)
