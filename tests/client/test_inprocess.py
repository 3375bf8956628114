"""The client against our own transport (McpApp + TinyApp), in-process over memory streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing

from tests.client.servers import AsgiOverMemory
from tests.helpers import TinyApp, running_app
from trio_mcp_http import CloseReason, JsonRpcError, McpApp, Notification, Request, ServerConfig
from trio_mcp_http.client import McpClient, McpHttpError, open_client

#: These tests are about sessions (the handshake era): no era probe first.
open_legacy = partial(open_client, mode="legacy")

URL = "http://127.0.0.1:8000/mcp"


@asynccontextmanager
async def served(
    config: ServerConfig | None = None,
) -> AsyncIterator[tuple[AsgiOverMemory, McpApp, TinyApp]]:
    async with running_app(config) as (mcp, tiny), trio.open_nursery() as nursery:
        yield AsgiOverMemory(mcp, nursery), mcp, tiny
        nursery.cancel_scope.cancel()


async def settle() -> None:
    """Let every task (client, server, handlers) run until all are blocked."""
    await trio.testing.wait_all_tasks_blocked()


async def test_initialize_handshake_and_attributes(autojump_clock: trio.testing.MockClock) -> None:
    async with served() as (server, _mcp, tiny), open_legacy(URL, connect=server.connect) as client:
        info = client.server_info
        assert info is not None
        assert info.name == "tiny"
        assert client.protocol_version == "2025-11-25"
        assert client.server_capabilities == {}
        assert client.instructions is None
        assert client.session_id == tiny.sessions[0].session_id
        assert client.session_resets == 0
        await settle()
        assert tiny.notifications == ["notifications/initialized"]
    init = server.requests[0]
    assert init.rpc_method == "initialize"
    params = init.json["params"]
    assert params["protocolVersion"] == "2025-11-25"
    assert params["clientInfo"]["name"] == "trio-mcp-http"
    assert params["capabilities"] == {}


async def test_negotiated_version_and_headers_on_every_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served() as (server, _, _tiny):
        async with open_legacy(
            URL, connect=server.connect, protocol_version="2025-06-18"
        ) as client:
            assert client.protocol_version == "2025-06-18"
            await client.request("echo", {"text": "x"})
            session_id = client.session_id
        init, *rest = server.requests
        assert "mcp-session-id" not in init.headers
        assert "mcp-protocol-version" not in init.headers
        assert [r.method for r in rest] == ["POST", "POST", "DELETE"]
        for request in rest:
            assert request.headers["mcp-session-id"] == session_id
            assert request.headers["mcp-protocol-version"] == "2025-06-18"
        for request in (init, *rest[:2]):
            assert request.headers["accept"] == "application/json, text/event-stream"
            assert request.headers["content-type"] == "application/json"


async def test_unknown_requested_version_is_refused_before_connecting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with pytest.raises(ValueError, match="unsupported protocol version"):
        async with open_legacy(URL, protocol_version="2024-11-05"):
            pass  # pragma: no cover


@pytest.mark.parametrize("json_response", [False, True])
async def test_request_over_sse_and_json(
    json_response: bool, autojump_clock: trio.testing.MockClock
) -> None:
    config = ServerConfig(json_response=json_response)
    async with (
        served(config) as (server, _, _tiny),
        open_legacy(URL, connect=server.connect) as client,
    ):
        assert await client.request("echo", {"text": "hello"}) == {"echo": "hello"}


@pytest.mark.parametrize("json_response", [False, True])
async def test_sequential_requests_reuse_one_keepalive_connection(
    json_response: bool, autojump_clock: trio.testing.MockClock
) -> None:
    config = ServerConfig(json_response=json_response)
    async with served(config) as (server, _, _tiny):
        async with open_legacy(URL, connect=server.connect) as client:
            for i in range(5):
                assert await client.request("echo", {"text": i}) == {"echo": i}
            await client.notify("custom/hello")
            assert client.connections_opened == 1
        assert server.connections == 1
        assert {r.connection for r in server.requests} == {1}


async def test_concurrent_requests_use_extra_connections(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served() as (server, _, _tiny), open_legacy(URL, connect=server.connect) as client:
        results: list[dict[str, Any]] = []

        async def sleeper() -> None:
            results.append(await client.request("sleep", {"seconds": 1}))

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(sleeper)
        assert results == [{"slept": 1}] * 3
        opened = server.connections
        assert opened >= 3
        for _ in range(3):  # back to sequential: the idle connections are reused
            await client.request("echo", {"text": "again"})
        assert server.connections == opened


async def test_jsonrpc_errors_raise_jsonrpcerror(autojump_clock: trio.testing.MockClock) -> None:
    async with served() as (server, _, _tiny), open_legacy(URL, connect=server.connect) as client:
        with pytest.raises(JsonRpcError) as info:
            await client.request("no/such/method")
        assert info.value.code == -32601
        with pytest.raises(JsonRpcError) as info:
            await client.request("crash")
        assert info.value.code == -32603
        assert await client.request("echo", {"text": "still fine"}) == {"echo": "still fine"}


async def test_related_notifications_are_delivered_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[Notification] = []

    async def on_notification(notification: Notification) -> None:
        seen.append(notification)

    async with served() as (server, _, _tiny):
        async with open_legacy(
            URL, connect=server.connect, on_notification=on_notification
        ) as client:
            assert await client.request("progress", {"count": 4}) == {"done": True}
        assert [(n.method, (n.params or {})["progress"]) for n in seen] == [
            ("notifications/progress", i) for i in range(4)
        ]


async def test_sampling_request_is_answered_and_posted_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    asked: list[dict[str, Any]] = []

    async def sampling(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params)
        return {"role": "assistant", "content": {"type": "text", "text": f"re: {params['q']}"}}

    async with served() as (server, _, _tiny):
        async with open_legacy(URL, connect=server.connect, sampling_callback=sampling) as client:
            result = await client.request("ask", {"q": "why?"})
        assert result == {"role": "assistant", "content": {"type": "text", "text": "re: why?"}}
        assert asked == [{"q": "why?"}]
        assert server.requests[0].json["params"]["capabilities"] == {"sampling": {}}
        answers = [r for r in server.requests if r.json and "result" in r.json]
        assert len(answers) == 1


async def test_generic_request_callback_and_missing_handler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    methods: list[str] = []

    async def on_request(request: Request) -> dict[str, Any]:
        methods.append(request.method)
        if request.params and request.params.get("q") == "refuse":
            raise JsonRpcError(-32000, "refused", {"why": "test"})
        return {"generic": True}

    async with served() as (server, _, _tiny):
        async with open_legacy(URL, connect=server.connect, on_request=on_request) as client:
            assert await client.request("ask", {"q": "x"}) == {"generic": True}
            with pytest.raises(JsonRpcError) as info:
                await client.request("ask", {"q": "refuse"})
            assert (info.value.code, info.value.message, info.value.data) == (
                -32000,
                "refused",
                {"why": "test"},
            )
        assert methods == ["sampling/createMessage"] * 2
        async with open_legacy(URL, connect=server.connect) as client:
            with pytest.raises(JsonRpcError) as info:
                await client.request("ask", {"q": "nobody answers"})
            assert info.value.code == -32601


async def test_listen_delivers_unrelated_notifications(
    autojump_clock: trio.testing.MockClock,
) -> None:
    got = trio.Event()
    seen: list[Notification] = []

    async def on_notification(notification: Notification) -> None:
        seen.append(notification)
        got.set()

    async with served() as (server, _, _tiny):
        async with open_legacy(
            URL, connect=server.connect, on_notification=on_notification, listen=True
        ) as client:
            assert client.listening
            assert await client.listen() is True  # already running: nothing new
            assert await client.request("broadcast", {"data": "hi"}) == {}
            with trio.fail_after(5):
                await got.wait()
        assert [(n.method, n.params) for n in seen] == [("notifications/message", {"data": "hi"})]
        assert len(server.of("GET")) == 1
        assert server.of("GET")[0].headers["accept"] == "text/event-stream"


async def test_cancelled_request_sends_notifications_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served() as (server, _, tiny), open_legacy(URL, connect=server.connect) as client:
        with trio.move_on_after(5) as scope:
            await client.request("sleep", {"seconds": 3600})
        assert scope.cancelled_caught
        [sleep] = server.of("rpc:sleep")
        [cancel] = server.of("rpc:notifications/cancelled")
        assert cancel.json["params"]["requestId"] == sleep.json["id"]
        await settle()
        assert tiny.cancelled == [sleep.json["id"]]
        assert await client.request("echo", {"text": "after"}) == {"echo": "after"}


async def test_close_sends_delete(autojump_clock: trio.testing.MockClock) -> None:
    async with served() as (server, mcp, _tiny):
        async with open_legacy(URL, connect=server.connect) as client:
            session_id = client.session_id
        [delete] = server.of("DELETE")
        assert delete.headers["mcp-session-id"] == session_id
        await settle()
        assert mcp.statistics().sessions == 0
        assert mcp.statistics().sessions_closed == {"deleted": 1}


async def test_delete_on_close_false_keeps_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served() as (server, mcp, _tiny):
        async with open_legacy(URL, connect=server.connect, delete_on_close=False):
            pass
        assert server.of("DELETE") == []
        assert mcp.statistics().sessions == 1


async def test_body_exception_propagates_unwrapped_and_session_is_deleted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served() as (server, _, _tiny):
        with pytest.raises(KeyError, match="boom"):
            async with open_legacy(URL, connect=server.connect, listen=True):
                raise KeyError("boom")
        assert len(server.of("DELETE")) == 1


async def test_session_loss_starts_a_new_session_and_retries_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    resets: list[tuple[str | None, str | None]] = []

    async def on_reset(old: str | None, new: str | None) -> None:
        resets.append((old, new))

    async with served() as (server, mcp, tiny):
        async with open_legacy(URL, connect=server.connect, on_session_reset=on_reset) as client:
            old = client.session_id
            assert old is not None
            session = mcp.manager._find(old)
            assert session is not None
            mcp.manager._terminate(session, CloseReason.IDLE)
            await settle()
            assert mcp.manager._find(old) is None
            assert await client.request("echo", {"text": "again"}) == {"echo": "again"}
            assert client.session_resets == 1
            assert client.session_id not in (None, old)
            assert resets == [(old, client.session_id)]
            assert len(tiny.sessions) == 2
        inits = server.of("rpc:initialize")
        assert len(inits) == 2
        assert "mcp-session-id" not in inits[1].headers


async def test_concurrent_requests_hitting_404_share_one_new_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served() as (server, mcp, tiny), open_legacy(URL, connect=server.connect) as client:
        old = client.session_id
        assert old is not None
        session = mcp.manager._find(old)
        assert session is not None
        mcp.manager._terminate(session, CloseReason.IDLE)
        await settle()
        assert mcp.manager._find(old) is None
        results: list[dict[str, Any]] = []

        async def echo(i: int) -> None:
            results.append(await client.request("echo", {"text": i}))

        async with trio.open_nursery() as nursery:
            for i in range(4):
                nursery.start_soon(echo, i)
        assert sorted(r["echo"] for r in results) == [0, 1, 2, 3]
        assert client.session_resets == 1
        assert len(tiny.sessions) == 2


async def test_notification_is_accepted_and_reinitializes_on_404(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with served() as (server, mcp, tiny), open_legacy(URL, connect=server.connect) as client:
        await client.notify("custom/one", {"x": 1})
        old = client.session_id
        assert old is not None
        session = mcp.manager._find(old)
        assert session is not None
        mcp.manager._terminate(session, CloseReason.IDLE)
        await settle()
        assert mcp.manager._find(old) is None
        await client.notify("custom/two")
        assert client.session_resets == 1
        await settle()
        assert "custom/two" in tiny.notifications
        assert tiny.notifications.count("notifications/initialized") == 2


async def test_http_error_status_is_typed(autojump_clock: trio.testing.MockClock) -> None:
    config = ServerConfig(max_body_bytes=512)
    async with (
        served(config) as (server, _, _tiny),
        open_legacy(URL, connect=server.connect) as client,
    ):
        with pytest.raises(McpHttpError) as info:
            await client.request("echo", {"text": "x" * 1000})
        assert info.value.status == 413
        assert info.value.error is not None
        assert info.value.error.code == -32600
        assert await client.request("echo", {"text": "small"}) == {"echo": "small"}


async def test_stateless_server(autojump_clock: trio.testing.MockClock) -> None:
    async with served(ServerConfig(stateless=True)) as (server, _, _tiny):
        async with open_legacy(URL, connect=server.connect) as client:
            assert client.session_id is None
            assert await client.listen() is False  # GET answers 405
            assert not client.listening
            assert await client.request("echo", {"text": "s"}) == {"echo": "s"}
        assert server.of("DELETE") == []


async def test_typed_client_is_exported(autojump_clock: trio.testing.MockClock) -> None:
    assert McpClient.__name__ == "McpClient"
    with pytest.raises(ValueError, match="http or https"):
        async with open_legacy("ftp://example.com/mcp"):
            pass  # pragma: no cover
