"""Servers for the client tests, over in-memory streams (no sockets, MockClock-friendly).

* :class:`AsgiOverMemory` serves an ASGI app (our ``McpApp``) with a minimal h11 server, so the
  client talks to the real transport in-process.
* :class:`ScriptedServer` calls a test-written handler for each request, which writes exact
  bytes: SSE events with ids and ``retry``, dropped connections, odd statuses.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import h11
import trio
import trio.testing

from trio_mcp_http._core.sse import encode_event

_BROKEN = (trio.BrokenResourceError, trio.ClosedResourceError)


@dataclass
class SeenRequest:
    """One request as the server saw it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int
    time: float = field(default_factory=trio.current_time)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def rpc_method(self) -> str | None:
        body = self.json
        return body.get("method") if isinstance(body, dict) else None


async def _next_event(conn: h11.Connection, stream: trio.abc.Stream) -> Any:
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive_some(65536)
            except _BROKEN:
                data = b""
            conn.receive_data(bytes(data))
            continue
        return event


async def _read_request(
    conn: h11.Connection, stream: trio.abc.Stream, number: int
) -> SeenRequest | None:
    try:
        event = await _next_event(conn, stream)
    except h11.RemoteProtocolError:
        return None
    if not isinstance(event, h11.Request):
        return None
    headers = {k.decode(): v.decode() for k, v in event.headers}
    body = b""
    while True:
        part = await _next_event(conn, stream)
        if isinstance(part, h11.Data):
            body += part.data
        elif isinstance(part, h11.EndOfMessage):
            break
        else:
            return None
    return SeenRequest(event.method.decode(), event.target.decode(), headers, body, number)


class _Recording:
    requests: list[SeenRequest]

    def of(self, method: str) -> list[SeenRequest]:
        """The requests with this HTTP method, or JSON-RPC method (``rpc:name``)."""
        if method.startswith("rpc:"):
            return [r for r in self.requests if r.rpc_method == method[4:]]
        return [r for r in self.requests if r.method == method]


class AsgiOverMemory(_Recording):
    """Serve an ASGI app over memory streams; :meth:`connect` is the client's stream factory.

    Attributes:
        requests: Every request seen, in order.
        connections: How many connections were opened.
    """

    def __init__(self, app: Any, nursery: trio.Nursery) -> None:
        self._app = app
        self._nursery = nursery
        self.requests: list[SeenRequest] = []
        self.connections = 0

    async def connect(self) -> trio.abc.Stream:
        client, server = trio.testing.memory_stream_pair()
        self.connections += 1
        self._nursery.start_soon(self._serve, server, self.connections)
        return client

    async def _serve(self, stream: trio.abc.Stream, number: int) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await _read_request(conn, stream, number)
                if request is None:
                    return
                self.requests.append(request)
                if not await self._run_app(conn, stream, request):
                    return
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        finally:
            await trio.aclose_forcefully(stream)

    async def _run_app(
        self, conn: h11.Connection, stream: trio.abc.Stream, request: SeenRequest
    ) -> bool:
        disconnected = trio.Event()
        body_sent = False
        state = {"complete": False}

        async def receive() -> dict[str, Any]:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def write(event: Any) -> None:
            data = conn.send(event)
            if data and not disconnected.is_set():
                try:
                    await stream.send_all(data)
                except _BROKEN:
                    disconnected.set()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                await write(
                    h11.Response(
                        status_code=message["status"], headers=list(message.get("headers", []))
                    )
                )
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await write(h11.Data(data=message["body"]))
                if not message.get("more_body", False):
                    await write(h11.EndOfMessage())
                    state["complete"] = True

        async def watch() -> None:
            while True:
                try:
                    data = await stream.receive_some(65536)
                except _BROKEN:
                    data = b""
                conn.receive_data(bytes(data))
                if not data:
                    disconnected.set()
                    return

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": request.target.split("?")[0],
            "raw_path": request.target.encode(),
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in request.headers.items()],
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
        }
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await self._app(scope, receive, send)
            nursery.cancel_scope.cancel()
        return state["complete"] and not disconnected.is_set()


class Exchange:
    """The server end of one request in a :class:`ScriptedServer`."""

    def __init__(self, conn: h11.Connection, stream: trio.abc.Stream, request: SeenRequest) -> None:
        self._conn = conn
        self._stream = stream
        self.request = request
        self.complete = False
        self.dropped = False
        self.close_after = False
        """Close the connection once the response is complete (no keep-alive)."""

    async def _write(self, event: Any) -> None:
        data = self._conn.send(event)
        if data:
            await self._stream.send_all(data)

    async def start(self, status: int = 200, headers: list[tuple[str, str]] | None = None) -> None:
        await self._write(h11.Response(status_code=status, headers=headers or []))

    async def data(self, chunk: bytes) -> None:
        await self._write(h11.Data(data=chunk))

    async def end(self) -> None:
        await self._write(h11.EndOfMessage())
        self.complete = True

    async def respond(
        self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ) -> None:
        all_headers = list(headers or [])
        all_headers.append(("content-length", str(len(body))))
        await self.start(status, all_headers)
        if body:
            await self.data(body)
        await self.end()

    async def json(
        self, message: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> None:
        await self.respond(
            status,
            json.dumps(message).encode(),
            [("content-type", "application/json"), *(headers or [])],
        )

    async def accepted(self) -> None:
        await self.respond(202)

    async def start_sse(self, headers: list[tuple[str, str]] | None = None) -> None:
        await self.start(200, [("content-type", "text/event-stream"), *(headers or [])])

    async def event(
        self, message: Any = None, *, id: str | None = None, retry: int | None = None
    ) -> None:
        data = "" if message is None else json.dumps(message)
        await self.data(encode_event(data, id=id, retry=retry))

    async def drop(self) -> None:
        """Close the connection without ending the response."""
        self.dropped = True
        await trio.aclose_forcefully(self._stream)


Handler = Callable[[Exchange], Awaitable[None]]


class ScriptedServer(_Recording):
    """Calls ``handler(exchange)`` for each request, on whatever connection it arrives.

    A handler that leaves the response incomplete (or drops it) ends the connection.

    Attributes:
        requests: Every request seen, in order.
        connections: How many connections were opened.
        refuse: While true, new connections fail with ``OSError``.
    """

    def __init__(
        self,
        handler: Handler,
        nursery: trio.Nursery,
        wrap: Callable[[trio.abc.Stream], trio.abc.Stream] | None = None,
    ) -> None:
        self.handler = handler
        self._nursery = nursery
        self._wrap = wrap
        self.requests: list[SeenRequest] = []
        self.connections = 0
        self.refuse = False
        self.connect_attempts: list[float] = []

    async def connect(self) -> trio.abc.Stream:
        self.connect_attempts.append(trio.current_time())
        if self.refuse:
            raise OSError("connection refused (scripted)")
        client, server = trio.testing.memory_stream_pair()
        self.connections += 1
        stream = server if self._wrap is None else self._wrap(server)
        self._nursery.start_soon(self._serve, stream, self.connections)
        return client

    async def _serve(self, stream: trio.abc.Stream, number: int) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await _read_request(conn, stream, number)
                if request is None:
                    return
                self.requests.append(request)
                exchange = Exchange(conn, stream, request)
                try:
                    await self.handler(exchange)
                except _BROKEN:
                    return
                if not exchange.complete or exchange.dropped or exchange.close_after:
                    return
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        finally:
            await trio.aclose_forcefully(stream)


# -- standard answers for scripted handlers --------------------------------------------------


def init_result(version: str = "2025-11-25", **extra: Any) -> dict[str, Any]:
    return {
        "protocolVersion": version,
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "scripted", "version": "1"},
        **extra,
    }


async def answer_lifecycle(
    exchange: Exchange, session_id: str = "s1", version: str = "2025-11-25"
) -> bool:
    """Answer initialize, notifications, responses and DELETE; False for anything else."""
    request = exchange.request
    if request.method == "DELETE":
        await exchange.respond(200)
        return True
    body = request.json
    if request.method == "POST" and isinstance(body, dict):
        if body.get("method") == "initialize":
            await exchange.json(
                {"jsonrpc": "2.0", "id": body["id"], "result": init_result(version)},
                headers=[("mcp-session-id", session_id)],
            )
            return True
        if "id" not in body or "method" not in body:  # a notification or a response
            await exchange.accepted()
            return True
    return False
