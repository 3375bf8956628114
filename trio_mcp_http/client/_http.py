"""HTTP/1.1 over trio streams with h11: one connection per exchange, kept alive and reused.

Theory of operation
-------------------
:class:`HttpConnection` runs h11's client state machine over any :class:`trio.abc.Stream`
(a TCP socket, a :class:`trio.SSLStream` for ``https``, or an in-memory stream in tests). It
carries one request at a time; once both sides are done with a response the connection starts a
new cycle and may be reused (keep-alive).

:class:`ConnectionPool` hands out connections: an idle kept-alive one when there is one, else a
new one, so sequential requests share one connection and concurrent ones (a long SSE response
and the POSTs sent meanwhile) each get their own. Only *idle* connections are pooled, at most
``max_idle`` of them; the number of connections in use is not capped, because an open SSE
stream may be waiting for a POST that the client must still be able to send.

A response whose body was not read to its end cannot be reused: its connection is closed. A
kept-alive connection the server closed while it sat idle fails as soon as it is used; the
request is then sent again on a fresh connection, but only when no byte of a response came
back (the server never saw it).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import h11
import trio

from .._version import __version__
from ._errors import McpConnectionError, McpProtocolError

__all__ = [
    "ConnectionPool",
    "Endpoint",
    "HttpConnection",
    "HttpResponse",
    "StreamFactory",
    "parse_endpoint",
]

log = logging.getLogger("trio_mcp_http.client.http")

StreamFactory = Callable[[], Awaitable[trio.abc.Stream]]
"""Opens the byte stream of a new connection (instead of a TCP socket)."""

_RECEIVE_SIZE: Final = 64 * 1024
_USER_AGENT: Final = f"trio-mcp-http/{__version__}"
# Everything that means "this connection is unusable", as raised by trio and h11.
_BROKEN: Final = (
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    h11.RemoteProtocolError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go: the parts of an ``http``/``https`` URL.

    Attributes:
        scheme: ``"http"`` or ``"https"``.
        host: The host name or IP address (IPv6 without brackets).
        port: The TCP port (the scheme's default when the URL has none).
        target: The request target: path and query, at least ``/``.
    """

    scheme: str
    host: str
    port: int
    target: str

    @property
    def authority(self) -> str:
        """The ``Host`` header value: the host, and the port unless it is the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_endpoint(url: str) -> Endpoint:
    """Split an MCP endpoint URL into what a connection needs.

    Args:
        url: An absolute ``http://`` or ``https://`` URL.

    Returns:
        The endpoint.

    Raises:
        ValueError: If the URL is not an absolute http(s) URL with a host.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"the MCP endpoint must be an http or https URL: {url!r}")
    if not parts.hostname:
        raise ValueError(f"the MCP endpoint URL has no host: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in the URL are not supported; pass an Authorization header")
    port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Endpoint(scheme, parts.hostname, port, target)


class HttpResponse:
    """The head of a response, and its body read chunk by chunk.

    Attributes:
        status: The HTTP status code.
        headers: The headers, names lowercased; repeated headers joined with ``", "``.
    """

    def __init__(self, connection: HttpConnection, status: int, headers: Mapping[str, str]) -> None:
        self._connection = connection
        self.status = status
        self.headers = headers
        self._complete = False

    @property
    def complete(self) -> bool:
        """Whether the whole body has been read."""
        return self._complete

    async def receive_some(self) -> bytes:
        """Return the next chunk of the body; ``b""`` once it has ended.

        Raises:
            McpConnectionError: The connection broke before the end of the body.
        """
        if self._complete:
            return b""
        while True:
            event = await self._connection.next_event()
            if isinstance(event, h11.Data):
                if event.data:
                    return bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._complete = True
                self._connection.finish_cycle()
                return b""
            else:
                raise McpProtocolError(f"unexpected HTTP event in a body: {event!r}")

    async def read(self, limit: int) -> bytes:
        """Read the rest of the body.

        Args:
            limit: The largest body accepted.

        Returns:
            The body.

        Raises:
            McpProtocolError: The body is larger than ``limit``.
            McpConnectionError: The connection broke before the end of the body.
        """
        chunks: list[bytes] = []
        size = 0
        while chunk := await self.receive_some():
            size += len(chunk)
            if size > limit:
                raise McpProtocolError(f"response body larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


class HttpConnection:
    """One HTTP/1.1 client connection over a byte stream, driven by h11.

    Args:
        stream: The connected byte stream (plain or TLS).
        authority: The ``Host`` header value.
    """

    def __init__(self, stream: trio.abc.Stream, authority: str) -> None:
        self._stream = stream
        self._authority = authority
        self._h11 = h11.Connection(h11.CLIENT)
        self._closed = False
        self.cycles = 0
        """Requests completed on this connection so far."""

    @property
    def reusable(self) -> bool:
        """Whether the connection is ready for another request (keep-alive)."""
        return (
            not self._closed
            and self._h11.our_state is h11.IDLE
            and self._h11.their_state is h11.IDLE
        )

    async def send_request(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> HttpResponse:
        """Send one request and wait for the head of its response.

        Args:
            method: The HTTP method.
            target: The request target (path and query).
            headers: Headers besides ``Host``, ``User-Agent`` and ``Content-Length``.
            body: The request body, or ``None`` for none.

        Returns:
            The response, whose body is still to be read.

        Raises:
            McpConnectionError: The connection broke (details in ``__cause__``).
            McpProtocolError: The server sent something that is not an HTTP response.
        """
        all_headers = [("Host", self._authority), ("User-Agent", _USER_AGENT), *headers]
        if body is not None:
            all_headers.append(("Content-Length", str(len(body))))
        try:
            data = self._h11.send(h11.Request(method=method, target=target, headers=all_headers))
            if body:
                data = (data or b"") + (self._h11.send(h11.Data(data=body)) or b"")
            data = (data or b"") + (self._h11.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError as exc:
            raise ValueError(f"cannot send this request: {exc}") from exc
        await self._send_all(data)
        while True:
            event = await self.next_event()
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                headers_out: dict[str, str] = {}
                for raw_name, raw_value in event.headers:
                    name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
                    headers_out[name] = (
                        f"{headers_out[name]}, {value}" if name in headers_out else value
                    )
                return HttpResponse(self, event.status_code, headers_out)
            raise McpProtocolError(f"unexpected HTTP event instead of a response: {event!r}")

    async def next_event(self) -> h11.Event:
        """Return the next h11 event of the response, reading from the stream as needed.

        Raises:
            McpConnectionError: The connection broke or was closed by the server.
        """
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                self._closed = True
                raise McpConnectionError(f"the server broke the connection: {exc}") from exc
            if event is h11.NEED_DATA:
                try:
                    data = await self._stream.receive_some(_RECEIVE_SIZE)
                except _BROKEN as exc:
                    self._closed = True
                    raise McpConnectionError(f"connection lost: {exc!r}") from exc
                self._h11.receive_data(data if isinstance(data, bytes) else bytes(data))
                continue
            if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                self._closed = True
                raise McpConnectionError("the server closed the connection")
            assert isinstance(event, h11.Event)
            return event

    def finish_cycle(self) -> None:
        """Called at the end of a response: make the connection ready for reuse if it can be."""
        self.cycles += 1
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()

    async def _send_all(self, data: bytes) -> None:
        try:
            await self._stream.send_all(data)
        except _BROKEN as exc:
            self._closed = True
            raise McpConnectionError(f"connection lost while sending: {exc!r}") from exc

    async def aclose(self) -> None:
        """Close the connection at once (without a graceful TLS shutdown)."""
        self._closed = True
        await trio.aclose_forcefully(self._stream)


class ConnectionPool:
    """Connections to one endpoint: kept-alive idle ones are reused, new ones opened on demand.

    Args:
        endpoint: Where to connect.
        ssl_context: The TLS context for ``https`` (default: ``ssl.create_default_context()``).
        connect: Opens the byte stream of a new connection instead of a TCP connection to the
            endpoint; TLS is still layered on top for ``https``.
        max_idle: How many idle connections to keep for reuse.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connect: StreamFactory | None = None,
        max_idle: int = 4,
    ) -> None:
        self.endpoint = endpoint
        self._ssl_context = ssl_context
        self._connect = connect
        self._max_idle = max_idle
        self._idle: list[HttpConnection] = []
        self._closed = False
        self.connections_opened = 0
        """How many connections were opened so far (for statistics and tests)."""

    async def _open(self) -> HttpConnection:
        endpoint = self.endpoint
        try:
            if self._connect is not None:
                stream: trio.abc.Stream = await self._connect()
            else:
                stream = await trio.open_tcp_stream(endpoint.host, endpoint.port)
        except OSError as exc:
            raise McpConnectionError(
                f"cannot connect to {endpoint.host}:{endpoint.port}: {exc}"
            ) from exc
        if endpoint.scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            tls = trio.SSLStream(
                stream, context, server_hostname=endpoint.host, https_compatible=True
            )
            try:
                await tls.do_handshake()
            except _BROKEN as exc:
                await trio.aclose_forcefully(tls)
                raise McpConnectionError(f"TLS handshake failed: {exc!r}") from exc
            except BaseException:  # cancelled mid-handshake: do not leak the socket
                await trio.aclose_forcefully(tls)
                raise
            stream = tls
        self.connections_opened += 1
        return HttpConnection(stream, endpoint.authority)

    @asynccontextmanager
    async def request(
        self, method: str, headers: list[tuple[str, str]], body: bytes | None = None
    ) -> AsyncIterator[HttpResponse]:
        """Send a request to the endpoint; yield the response once its head has arrived.

        On exit the connection goes back to the pool if the body was read to its end, and is
        closed otherwise (also when the block raises or is cancelled).

        Args:
            method: The HTTP method.
            headers: Request headers besides ``Host``, ``User-Agent`` and ``Content-Length``.
            body: The request body.

        Yields:
            The response.

        Raises:
            McpConnectionError: The server could not be reached or the connection broke.
        """
        if self._closed:
            raise McpConnectionError("the client is closed")
        connection, response = await self._send(method, headers, body)
        try:
            yield response
        finally:
            if not self._keep(connection):
                await connection.aclose()

    def _keep(self, connection: HttpConnection) -> bool:
        """Put a connection back in the pool if it can be reused; ``False`` if not."""
        if connection.reusable and not self._closed and len(self._idle) < self._max_idle:
            self._idle.append(connection)
            return True
        return False

    async def _send(
        self, method: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> tuple[HttpConnection, HttpResponse]:
        while True:
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else await self._open()
            try:
                return connection, await connection.send_request(
                    method, self.endpoint.target, headers, body
                )
            except McpConnectionError:
                await connection.aclose()
                if not reused:
                    raise
                log.debug("kept-alive connection was closed by the server; reconnecting")
            except BaseException:
                await connection.aclose()
                raise

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when their exchange ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.aclose()
