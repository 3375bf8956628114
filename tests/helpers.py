"""Shared test fixtures: a tiny application and a small in-process client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from trio_mcp_http import (
    JsonRpcError,
    McpApp,
    Notification,
    Request,
    RequestContext,
    ServerConfig,
    SessionContext,
)
from trio_mcp_http.testing import AsgiResponse, asgi_request

LATEST = "2025-11-25"
ACCEPT_BOTH = ("accept", "application/json, text/event-stream")
JSON_CT = ("content-type", "application/json")


class TinyHandler:
    """Per-session handler: initialize, echo, sleep, ask the client, notify."""

    def __init__(self, app: TinyApp, session: SessionContext) -> None:
        self.app = app
        self.session = session

    async def handle_request(self, request: Request, context: RequestContext) -> dict[str, Any]:
        params = request.params or {}
        if request.method == "initialize":
            version = params.get("protocolVersion", LATEST)
            if version == "bad":
                raise JsonRpcError(-32602, "Unsupported protocol version")
            return {
                "protocolVersion": version,
                "capabilities": {},
                "serverInfo": {"name": "tiny", "version": "0"},
            }
        if request.method == "echo":
            return {"echo": params.get("text")}
        if request.method == "sleep":
            self.app.started.set()
            try:
                await trio.sleep(params["seconds"])
            except trio.Cancelled:
                self.app.cancelled.append(request.id)
                raise
            return {"slept": params["seconds"]}
        if request.method == "progress":
            for i in range(params.get("count", 3)):
                await context.send_notification("notifications/progress", {"progress": i})
            return {"done": True}
        if request.method == "stream":
            # One progress notification per `interval` seconds; optionally close the SSE
            # connection (polling) after notification `poll_at`.
            for i in range(params["count"]):
                await trio.sleep(params.get("interval", 1))
                await context.send_notification("notifications/progress", {"progress": i})
                if params.get("poll_at") == i:
                    context.close_sse_stream()
            return {"sent": params["count"]}
        if request.method == "ask":
            return await context.send_request("sampling/createMessage", {"q": params.get("q")})
        if request.method == "broadcast":
            await self.session.send_notification(
                "notifications/message", {"data": params.get("data")}
            )
            return {}
        if request.method == "crash":
            raise RuntimeError("boom")
        raise JsonRpcError(-32601, f"Method not found: {request.method}")

    async def handle_notification(
        self, notification: Notification, session: SessionContext
    ) -> None:
        self.app.notifications.append(notification.method)


class TinyApp:
    """An Application that records what it sees."""

    def __init__(self) -> None:
        self.sessions: list[SessionContext] = []
        self.notifications: list[str] = []
        self.cancelled: list[Any] = []
        self.started = trio.Event()

    def open_session(self, session: SessionContext) -> TinyHandler:
        self.sessions.append(session)
        return TinyHandler(self, session)


def rpc(method: str, params: dict[str, Any] | None = None, id: Any = 1) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if id is not None:
        message["id"] = id
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def init_body(version: str = LATEST, id: Any = 0) -> bytes:
    return rpc(
        "initialize",
        {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
        },
        id,
    )


@asynccontextmanager
async def post(
    app: McpApp,
    body: bytes,
    session_id: str | None = None,
    *,
    version: str | None = LATEST,
    headers: tuple[tuple[str, str], ...] = (ACCEPT_BOTH, JSON_CT),
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> AsyncIterator[AsgiResponse]:
    all_headers = list(headers)
    if session_id is not None:
        all_headers.append(("mcp-session-id", session_id))
    if version is not None:
        all_headers.append(("mcp-protocol-version", version))
    async with asgi_request(app, "POST", headers=all_headers, body=body, client=client) as response:
        yield response


async def read_messages(response: AsgiResponse) -> list[dict[str, Any]]:
    """All JSON-RPC messages of a response, SSE or JSON."""
    if response.headers.get("content-type") == "text/event-stream":
        return [json.loads(event.data) for event in await response.events() if event.data]
    body = await response.body()
    parsed = json.loads(body)
    return parsed if isinstance(parsed, list) else [parsed]


async def call(
    app: McpApp, body: bytes, session_id: str | None = None, **kw: Any
) -> tuple[int, list[dict[str, Any]]]:
    async with post(app, body, session_id, **kw) as response:
        return response.status, await read_messages(response) if response.status != 202 else []


async def start_session(
    app: McpApp, version: str = LATEST, client: tuple[str, int] = ("127.0.0.1", 50000)
) -> str:
    """Send initialize only (no notifications/initialized): a handshake left unfinished."""
    async with post(app, init_body(version), version=None, client=client) as response:
        assert response.status == 200, response.status
        session_id = response.headers["mcp-session-id"]
        await read_messages(response)
    return session_id


async def initialize(
    app: McpApp, version: str = LATEST, client: tuple[str, int] = ("127.0.0.1", 50000)
) -> str:
    session_id = await start_session(app, version, client)
    async with post(
        app, rpc("notifications/initialized", id=None), session_id, client=client
    ) as response:
        assert response.status == 202
    return session_id


@asynccontextmanager
async def running_app(
    config: ServerConfig | None = None, app: TinyApp | None = None
) -> AsyncIterator[tuple[McpApp, TinyApp]]:
    tiny = app or TinyApp()
    mcp = McpApp(tiny, config)
    async with trio.open_nursery() as nursery:
        await nursery.start(mcp.manager.run)
        yield mcp, tiny
        nursery.cancel_scope.cancel()
