"""The 2026-07-28 wire over real hypercorn sockets: closing the response cancels the request."""

from __future__ import annotations

import json

import trio
import trio.testing

import trio_mcp_http
from tests.e2e.raw_http import request
from tests.server.modern import modern_request
from trio_mcp_http import RunningServer, ServerConfig
from trio_mcp_http._core.sse import ServerSentEvent, SSEDecoder
from trio_mcp_http.server import Context, McpServer


async def test_closing_the_connection_cancels_the_tool(nursery: trio.Nursery) -> None:
    started, cancelled = trio.Event(), trio.Event()
    server = McpServer("e2e")

    @server.tool()
    async def forever(ctx: Context) -> None:
        """Reports progress, then runs until cancelled."""
        await ctx.report_progress(1, None, "started")
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    running: RunningServer = await nursery.start(trio_mcp_http.serve, server, ServerConfig())
    body, headers = modern_request(
        "tools/call", {"name": "forever", "arguments": {}}, meta={"progressToken": "p"}
    )
    with trio.fail_after(10):
        async with request(running.url, "POST", headers, body) as response:
            # The progress notification turned the answer into a stream: read it, then hang up.
            assert response.headers["content-type"] == "text/event-stream"
            decoder = SSEDecoder()
            events: list[ServerSentEvent] = []
            while not events:
                chunk = await response.next_chunk()
                assert chunk is not None
                events = [e for e in decoder.feed(chunk) if e.data]
            progress = json.loads(events[0].data)
            assert progress["method"] == "notifications/progress"
            await started.wait()
        await cancelled.wait()  # the handler saw trio.Cancelled
        await trio.testing.wait_all_tasks_blocked()  # the exchange ends with its handler
        stats = running.statistics()
        assert (stats.exchanges, stats.requests_in_flight, stats.sessions_opened) == (0, 0, 0)
    running.shutdown()
