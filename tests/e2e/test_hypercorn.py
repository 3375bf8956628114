"""End to end over real hypercorn sockets on port 0 (real clock, bounded waits)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import trio

import trio_mcp_http
from tests.e2e.raw_http import request
from tests.helpers import TinyApp, init_body, rpc
from trio_mcp_http import RunningServer, ServerConfig
from trio_mcp_http._core.sse import ServerSentEvent, SSEDecoder

POST_HEADERS = [
    ("accept", "application/json, text/event-stream"),
    ("content-type", "application/json"),
    ("mcp-protocol-version", "2025-11-25"),
]


@pytest.fixture(params=[False, True], ids=["sse", "json"])
async def server(
    request: pytest.FixtureRequest, nursery: trio.Nursery
) -> AsyncIterator[RunningServer]:
    config = ServerConfig(json_response=request.param)
    running: RunningServer = await nursery.start(trio_mcp_http.serve, TinyApp(), config)
    yield running
    running.shutdown()


async def messages_of(body: bytes, content_type: str) -> list[dict[str, object]]:
    if content_type == "text/event-stream":
        return [json.loads(e.data) for e in SSEDecoder().feed(body) if e.data]
    return [json.loads(body)]


async def test_session_lifecycle_over_real_sockets(server: RunningServer) -> None:
    with trio.fail_after(10):
        assert server.port > 0 and server.url.endswith(f":{server.port}/mcp")
        async with request(server.url, "POST", POST_HEADERS, init_body()) as response:
            assert response.status == 200
            sid = response.headers["mcp-session-id"]
            body = await response.body()
            assert response.complete
            (init,) = await messages_of(body, response.headers["content-type"])
            assert init["result"]["protocolVersion"] == "2025-11-25"  # type: ignore[index]
        session = [*POST_HEADERS, ("mcp-session-id", sid)]
        async with request(
            server.url, "POST", session, rpc("notifications/initialized", id=None)
        ) as response:
            assert response.status == 202
        async with request(
            server.url, "POST", session, rpc("progress", {"count": 2}, id=2)
        ) as response:
            messages = await messages_of(await response.body(), response.headers["content-type"])
            assert messages[-1] == {"jsonrpc": "2.0", "id": 2, "result": {"done": True}}
        get_headers = [("accept", "text/event-stream"), ("mcp-session-id", sid)]
        async with request(server.url, "GET", get_headers) as stream:
            assert stream.status == 200
            async with request(
                server.url, "POST", session, rpc("broadcast", {"data": "hi"}, id=3)
            ) as response:
                await response.body()
            decoder = SSEDecoder()
            events: list[ServerSentEvent] = []
            while not events:
                chunk = await stream.next_chunk()
                assert chunk is not None
                events = [e for e in decoder.feed(chunk) if e.data]
            assert json.loads(events[0].data)["params"] == {"data": "hi"}
        async with request(server.url, "DELETE", [("mcp-session-id", sid)]) as response:
            assert response.status == 200
        async with request(server.url, "POST", session, rpc("echo", id=4)) as response:
            assert response.status == 404
            assert json.loads(await response.body())["error"]["message"] == "Session not found"
        assert server.statistics().sessions == 0


async def test_shutdown_ends_get_streams_cleanly() -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(trio_mcp_http.serve, TinyApp())
            async with request(running.url, "POST", POST_HEADERS, init_body()) as response:
                sid = response.headers["mcp-session-id"]
                await response.body()
            get_headers = [("accept", "text/event-stream"), ("mcp-session-id", sid)]
            async with request(running.url, "GET", get_headers) as stream:
                assert stream.status == 200
                running.shutdown()
                await stream.body()
                assert stream.complete  # the terminating chunk arrived: no truncated response
        # serve() has returned: every session ended with it.
        stats = running.statistics()
        assert (stats.sessions, stats.session_tasks, stats.sessions_closed) == (
            0,
            0,
            {"shutdown": 1},
        )


async def test_dns_rebinding_host_and_origin_rejected_on_loopback(server: RunningServer) -> None:
    with trio.fail_after(10):
        async with request(
            server.url, "POST", [*POST_HEADERS, ("origin", "http://evil.example")], init_body()
        ) as response:
            assert response.status == 403
        async with request(
            server.url,
            "POST",
            [*POST_HEADERS, ("origin", f"http://localhost:{server.port}")],
            init_body(),
        ) as response:
            assert response.status == 200
            await response.body()


async def test_oversized_header_block_is_refused(server: RunningServer) -> None:
    with trio.fail_after(10):
        huge = [*POST_HEADERS, ("x-padding", "p" * 64 * 1024)]  # over h11's 16 KiB bound
        async with request(server.url, "POST", huge, init_body()) as response:
            assert response.status == 431
        assert server.statistics().sessions_opened == 0
