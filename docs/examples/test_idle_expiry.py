"""Testing an application in-process, on a virtual clock: the idle deadline at work.

``trio_mcp_http.testing.asgi_request`` drives the ASGI app with no sockets and hands over the
response as the app produces it, so SSE streams can be read event by event. Under trio's
``MockClock`` (pytest-trio's ``autojump_clock`` fixture) half an hour passes in no time.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing
from raw_application import application

from trio_mcp_http import McpApp, ServerConfig
from trio_mcp_http.testing import AsgiResponse, asgi_request

HEADERS = [
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
    ("mcp-protocol-version", "2025-11-25"),
]


def message(method: str, params: dict[str, Any] | None = None, id: int | None = 1) -> bytes:
    """A JSON-RPC request (or notification, with ``id=None``) as a POST body."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if id is not None:
        body["id"] = id
    return json.dumps(body).encode()


@asynccontextmanager
async def running_app(config: ServerConfig) -> AsyncIterator[McpApp]:
    """An app whose session manager runs in a nursery (what the ASGI lifespan would do)."""
    app = McpApp(application, config)
    async with trio.open_nursery() as nursery:
        await nursery.start(app.manager.run)
        yield app
        nursery.cancel_scope.cancel()


async def open_session(app: McpApp) -> str:
    """Initialize a session and return its id."""
    init = message("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}})
    async with asgi_request(app, "POST", headers=HEADERS, body=init) as response:
        assert response.status == 200
        await response.body()
        session_id = response.headers["mcp-session-id"]
    headers = [*HEADERS, ("mcp-session-id", session_id)]
    body = message("notifications/initialized", id=None)
    async with asgi_request(app, "POST", headers=headers, body=body) as response:
        assert response.status == 202
    return session_id


async def call(app: McpApp, session_id: str) -> AsgiResponse:
    """Call the ``count`` tool and return the finished response."""
    headers = [*HEADERS, ("mcp-session-id", session_id)]
    body = message("tools/call", {"name": "count"})
    async with asgi_request(app, "POST", headers=headers, body=body) as response:
        await response.body()
    return response


async def test_an_idle_session_expires_and_then_answers_404(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Idle for ``idle_timeout``: the session is gone, and its id gets 404."""
    async with running_app(ServerConfig(idle_timeout=1800)) as app:
        session_id = await open_session(app)
        await trio.sleep(1799)
        assert (await call(app, session_id)).status == 200  # activity: the clock restarts
        await trio.sleep(1799)
        assert (await call(app, session_id)).status == 200
        await trio.sleep(1800)  # nothing in flight for the whole idle timeout
        assert (await call(app, session_id)).status == 404
        assert app.statistics().sessions_closed == {"idle": 1}


async def test_an_open_get_stream_keeps_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A standalone GET stream is in flight for as long as it is open."""
    config = ServerConfig(idle_timeout=60, keepalive_interval=15)
    async with running_app(config) as app:
        session_id = await open_session(app)
        headers = [*HEADERS, ("mcp-session-id", session_id)]
        async with asgi_request(app, "GET", headers=headers) as stream:
            assert stream.status == 200
            await trio.sleep(3600)  # an hour with the stream open: keep-alive comments only
            assert (await call(app, session_id)).status == 200
            stream.disconnect()
        await trio.sleep(61)  # the stream ended: now the idle clock runs
        assert (await call(app, session_id)).status == 404
