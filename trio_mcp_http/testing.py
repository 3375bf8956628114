"""Test helpers: drive the ASGI app in-process, with no sockets, deterministic under MockClock.

``httpx.ASGITransport`` buffers whole bodies and cannot test SSE; this driver hands the test each
response chunk as the app sends it, and delivers ``http.disconnect`` when the test says so.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio

from ._core.sse import ServerSentEvent, SSEDecoder

if TYPE_CHECKING:
    from ._transport.asgi_types import ASGISend

__all__ = ["AsgiResponse", "asgi_request"]

Headers = Sequence[tuple[str, str]]


class AsgiResponse:
    """The response of one in-process request, read as the app produces it.

    Attributes:
        status: The HTTP status.
        headers: Response headers, names lowercased (a repeated name keeps the last value).
    """

    def __init__(
        self,
        status: int,
        headers: dict[str, str],
        chunks: trio.MemoryReceiveChannel[dict[str, Any]],
        disconnect: trio.Event,
    ) -> None:
        self.status = status
        self.headers = headers
        self._chunks = chunks
        self._disconnect = disconnect
        self._done = False
        self._cut = False
        self._decoder = SSEDecoder()
        self._events: list[ServerSentEvent] = []

    async def next_chunk(self) -> bytes | None:
        """Return the next non-empty body chunk, or ``None`` once the response has ended."""
        while not self._done and not self._cut:
            try:
                message = await self._chunks.receive()
            except trio.EndOfChannel:  # the app returned without ending the body
                self._cut = True
                return None
            if not message.get("more_body", False):
                self._done = True
            if message.get("body"):
                return bytes(message["body"])
        return None

    async def body(self) -> bytes:
        """Read the rest of the body."""
        chunks = []
        while (chunk := await self.next_chunk()) is not None:
            chunks.append(chunk)
        return b"".join(chunks)

    @property
    def complete(self) -> bool:
        """Whether the app ended the body (terminating chunk) so far."""
        return self._done

    async def next_event(self) -> ServerSentEvent:
        """Return the next SSE event (``EOFError`` if the stream ends first)."""
        while not self._events:
            chunk = await self.next_chunk()
            if chunk is None:
                raise EOFError("the SSE stream ended")
            self._events.extend(self._decoder.feed(chunk))
        return self._events.pop(0)

    async def events(self) -> list[ServerSentEvent]:
        """Read the stream to its end and return the remaining SSE events."""
        events = []
        while True:
            try:
                events.append(await self.next_event())
            except EOFError:
                return events

    def disconnect(self) -> None:
        """Simulate the client closing the connection."""
        self._disconnect.set()


@asynccontextmanager
async def asgi_request(
    app: Any,
    method: str,
    path: str = "/mcp",
    *,
    headers: Headers = (),
    body: bytes = b"",
    server: tuple[str, int] = ("127.0.0.1", 8000),
    client: tuple[str, int] = ("127.0.0.1", 50000),
    chunk_size: int | None = None,
    send_buffer: float = math.inf,
) -> AsyncIterator[AsgiResponse]:
    """Run one request against an ASGI app in-process; yields once the response has started.

    On exit the client disconnects (if the response is still open) and the app call is awaited.

    Args:
        app: The ASGI application.
        method: The HTTP method.
        path: The request path, optionally with a ``?query``.
        headers: Request headers (``Host`` defaults to the server address).
        body: The request body.
        server: The ``(host, port)`` the app believes it is bound to.
        client: The ``(host, port)`` the request comes from.
        chunk_size: Deliver the body in chunks of this size (default: one chunk).
        send_buffer: How many ASGI messages the app may send ahead of the test reading them;
            0 makes every ``send()`` wait for the test, like a client that stops reading.
    """
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if not any(name == b"host" for name, _ in raw_headers):
        raw_headers.append((b"host", f"{server[0]}:{server[1]}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.partition("?")[0],
        "raw_path": path.partition("?")[0].encode(),
        "query_string": path.partition("?")[2].encode(),
        "headers": raw_headers,
        "server": server,
        "client": client,
    }
    size = chunk_size or max(len(body), 1)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    disconnect = trio.Event()
    sent_in, sent_out = trio.open_memory_channel[dict[str, Any]](send_buffer)

    async def receive() -> dict[str, Any]:
        if parts:
            part = parts.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(parts)}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    send: ASGISend = sent_in.send

    async with trio.open_nursery() as nursery:

        async def run_app() -> None:
            try:
                await app(scope, receive, send)
            finally:
                sent_in.close()

        nursery.start_soon(run_app)
        try:
            start = await sent_out.receive()
        except trio.EndOfChannel:
            raise AssertionError("the app returned without starting a response") from None
        assert start["type"] == "http.response.start", start
        response_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
        response = AsgiResponse(start["status"], response_headers, sent_out, disconnect)
        try:
            yield response
        finally:
            disconnect.set()
