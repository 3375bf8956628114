"""An in-process MCP test client over the ASGI app (no sockets), for the server-layer tests."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio

from tests.helpers import ACCEPT_BOTH, LATEST, post, read_messages, rpc
from trio_mcp_http import McpApp, ServerConfig
from trio_mcp_http.testing import AsgiResponse, asgi_request

if TYPE_CHECKING:
    from trio_mcp_http.server import McpServer

Message = dict[str, Any]


@asynccontextmanager
async def serving(server: McpServer, config: ServerConfig | None = None) -> AsyncIterator[McpApp]:
    """Run the transport's session manager around ``server``; yield the ASGI app."""
    app = McpApp(server, config)
    async with trio.open_nursery() as nursery:
        await nursery.start(app.manager.run)
        yield app
        nursery.cancel_scope.cancel()


def init_params(
    version: str = LATEST, capabilities: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "protocolVersion": version,
        "capabilities": capabilities or {},
        "clientInfo": {"name": "test-client", "version": "1.0"},
    }


class Client:
    """One MCP session driven in-process.

    Args:
        app: The ASGI app.
    """

    def __init__(self, app: McpApp) -> None:
        self.app = app
        self.session_id: str | None = None
        self.version: str = LATEST
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    async def initialize(
        self,
        version: str = LATEST,
        capabilities: dict[str, Any] | None = None,
        *,
        send_initialized: bool = True,
    ) -> Message:
        """Initialize the session; return the initialize result."""
        body = rpc("initialize", init_params(version, capabilities), id=0)
        async with post(self.app, body, version=None) as response:
            assert response.status == 200
            self.session_id = response.headers["mcp-session-id"]
            (message,) = await read_messages(response)
        result: Message = message["result"]
        self.version = result["protocolVersion"]
        if send_initialized:
            assert await self.notify("notifications/initialized") == 202
        return result

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Send a notification; return the HTTP status."""
        async with post(
            self.app, rpc(method, params, id=None), self.session_id, version=self.version
        ) as response:
            return response.status

    async def respond(self, request_id: Any, result: dict[str, Any]) -> int:
        """POST a JSON-RPC response to a server-to-client request; return the HTTP status."""
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode()
        async with post(self.app, body, self.session_id, version=self.version) as response:
            return response.status

    async def respond_error(self, request_id: Any, code: int, message: str) -> int:
        """POST a JSON-RPC error response; return the HTTP status."""
        error = {"code": code, "message": message}
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()
        async with post(self.app, body, self.session_id, version=self.version) as response:
            return response.status

    async def exchange(
        self, method: str, params: dict[str, Any] | None = None, *, request_id: Any = None
    ) -> list[Message]:
        """Send a request; return every message of its response stream, in order."""
        rid = self.next_id() if request_id is None else request_id
        async with post(
            self.app, rpc(method, params, id=rid), self.session_id, version=self.version
        ) as response:
            assert response.status == 200, response.status
            return await read_messages(response)

    async def request(self, method: str, params: dict[str, Any] | None = None) -> Message:
        """Send a request; return its response message (the last on the stream)."""
        messages = await self.exchange(method, params)
        assert "id" in messages[-1]
        return messages[-1]

    async def result(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send a request and return its ``result`` (failing on an error response)."""
        response = await self.request(method, params)
        assert "result" in response, response
        return response["result"]

    async def error(self, method: str, params: dict[str, Any] | None = None) -> Message:
        """Send a request and return its ``error`` (failing on a result)."""
        response = await self.request(method, params)
        assert "error" in response, response
        error: Message = response["error"]
        return error

    async def call_tool(
        self, name: str, arguments: dict[str, Any] | None = None, **extra: Any
    ) -> Message:
        """Call a tool; return the ``tools/call`` result."""
        params: dict[str, Any] = {"name": name, "arguments": arguments or {}, **extra}
        result: Message = await self.result("tools/call", params)
        return result

    @asynccontextmanager
    async def open_request(
        self, method: str, params: dict[str, Any] | None = None, *, request_id: Any = None
    ) -> AsyncIterator[AsgiResponse]:
        """POST a request and yield its response while its SSE stream is open."""
        rid = self.next_id() if request_id is None else request_id
        async with post(
            self.app, rpc(method, params, id=rid), self.session_id, version=self.version
        ) as response:
            assert response.status == 200
            assert response.headers["content-type"] == "text/event-stream"
            yield response

    @asynccontextmanager
    async def open_get_stream(self) -> AsyncIterator[AsgiResponse]:
        """Open the standalone GET stream."""
        assert self.session_id is not None
        headers = [
            ACCEPT_BOTH,
            ("mcp-session-id", self.session_id),
            ("mcp-protocol-version", self.version),
        ]
        async with asgi_request(self.app, "GET", headers=headers) as response:
            assert response.status == 200
            yield response


async def next_message(response: AsgiResponse) -> Message:
    """The next JSON-RPC message on an SSE response (skipping events without data)."""
    while True:
        event = await response.next_event()
        if event.data:
            message: Message = json.loads(event.data)
            return message


async def rest_of_stream(response: AsgiResponse) -> list[Message]:
    """Every remaining JSON-RPC message until the SSE response ends."""
    return [json.loads(event.data) for event in await response.events() if event.data]


@asynccontextmanager
async def connected(
    server: McpServer,
    *,
    capabilities: dict[str, Any] | None = None,
    version: str = LATEST,
    config: ServerConfig | None = None,
) -> AsyncIterator[Client]:
    """Serve ``server`` and yield a client whose session is initialized."""
    async with serving(server, config) as app:
        client = Client(app)
        await client.initialize(version, capabilities)
        yield client
