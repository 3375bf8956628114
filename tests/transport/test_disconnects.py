"""A client that disconnects at any stage of a request leaves nothing behind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from tests.helpers import LATEST, initialize, rpc, running_app
from trio_mcp_http.testing import asgi_request

if TYPE_CHECKING:
    from trio_mcp_http import McpApp


def scope_for(sid: str | None) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"accept", b"application/json, text/event-stream"),
        (b"content-type", b"application/json"),
        (b"mcp-protocol-version", LATEST.encode()),
    ]
    if sid is not None:
        headers.append((b"mcp-session-id", sid.encode()))
    return {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5),
    }


async def assert_nothing_in_flight(mcp: McpApp) -> None:
    await trio.testing.wait_all_tasks_blocked()
    stats = mcp.statistics()
    assert (stats.streams, stats.requests_in_flight) == (0, 0)
    assert stats.sessions == stats.idle_sessions


@pytest.mark.parametrize("chunks_before_disconnect", [0, 1, 2])
async def test_disconnect_while_the_body_is_uploading(chunks_before_disconnect: int) -> None:
    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        body = rpc("echo", {"text": "x" * 300})
        parts = [body[:100], body[100:200]][:chunks_before_disconnect]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if parts:
                return {"type": "http.request", "body": parts.pop(0), "more_body": True}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await mcp(scope_for(sid), receive, send)
        assert sent == []  # nobody to answer
        await assert_nothing_in_flight(mcp)
        assert len(tiny.sessions) == 1


async def test_disconnect_before_a_json_answer_is_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from trio_mcp_http import ServerConfig  # noqa: PLC0415

    async with running_app(ServerConfig(json_response=True)) as (mcp, tiny):
        sid = await initialize(mcp)
        async with trio.open_nursery() as nursery:

            async def call_and_leave() -> None:
                headers = [
                    ("accept", "application/json"),
                    ("content-type", "application/json"),
                    ("mcp-session-id", sid),
                ]
                async with asgi_request(
                    mcp, "POST", headers=headers, body=rpc("sleep", {"seconds": 5})
                ) as response:
                    assert response.status == 200

            nursery.start_soon(call_and_leave)
            await tiny.started.wait()
            nursery.cancel_scope.cancel()  # the client goes away mid-request
        await trio.sleep(10)
        assert tiny.cancelled == []  # disconnect is not cancellation: the handler finished
        await assert_nothing_in_flight(mcp)


async def test_disconnect_on_a_notification_post() -> None:
    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        sent: list[dict[str, Any]] = []
        messages = [
            {"type": "http.request", "body": rpc("notifications/x", id=None), "more_body": False}
        ]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await mcp(scope_for(sid), receive, send)
        assert sent[0]["status"] == 202
        await assert_nothing_in_flight(mcp)
        assert "notifications/x" in tiny.notifications
