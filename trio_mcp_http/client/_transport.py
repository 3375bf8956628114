"""The Streamable HTTP exchanges of a client: POST, GET and DELETE on the MCP endpoint.

This layer knows the transport's headers and media types and nothing of MCP's methods: it sends
one JSON-RPC message per POST with the ``Accept``, ``Content-Type``, ``Mcp-Session-Id`` and
``MCP-Protocol-Version`` headers, opens GET streams (with ``Last-Event-ID`` to resume), sends
DELETE, turns HTTP error statuses into typed exceptions, and reads a response as JSON-RPC
messages whether it is one ``application/json`` body or a ``text/event-stream``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

from .._core.headers import is_valid_session_id, parse_content_type
from .._core.jsonrpc import Batch, ErrorResponse, Invalid, Message, classify, dump_message
from .._core.sse import SSEDecoder
from ._errors import McpHttpError, McpProtocolError, SessionNotFound

if TYPE_CHECKING:
    from .._core.sse import ServerSentEvent
    from ._http import ConnectionPool, HttpResponse

__all__ = ["EventStream", "Reply", "Transport"]

log = logging.getLogger("trio_mcp_http.client.transport")

_ACCEPT_BOTH: Final = "application/json, text/event-stream"
_SSE: Final = "text/event-stream"
_JSON: Final = "application/json"
MAX_JSON_BODY: Final = 16 * 1024 * 1024
_MAX_ERROR_BODY: Final = 64 * 1024


def _messages(body: bytes, where: str) -> list[Message]:
    """Parse a body or event payload into JSON-RPC messages (invalid ones are logged)."""
    parsed = classify(body)
    items = parsed.items if isinstance(parsed, Batch) else (parsed,)
    out: list[Message] = []
    for item in items:
        if isinstance(item, Invalid):
            log.warning("ignoring an invalid JSON-RPC message in %s: %s", where, item.error.message)
        else:
            out.append(item)
    return out


class EventStream:
    """The JSON-RPC messages of one SSE response, decoded incrementally.

    ``last_event_id`` is the id of the last event *handed out* (or skipped as empty), so a
    stream that is abandoned between two events resumes exactly after the last one consumed.

    Args:
        response: The HTTP response whose body is the event stream.
        last_event_id: The id this stream resumes from (``""`` for a new stream).
    """

    def __init__(self, response: HttpResponse, last_event_id: str = "") -> None:
        self._response = response
        self._decoder = SSEDecoder(last_event_id)
        self._decoded: deque[ServerSentEvent] = deque()
        self._messages: deque[Message] = deque()
        self.last_event_id = last_event_id
        self.events = 0
        """How many events (including empty priming ones) were consumed."""

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds from the last ``retry:`` field, if any."""
        return self._decoder.retry

    @property
    def ended(self) -> bool:
        """Whether the response body ended cleanly (the server terminated the stream)."""
        return self._response.complete

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            message = await self.next_message()
            if message is None:
                return
            yield message

    async def next_message(self) -> Message | None:
        """Return the next JSON-RPC message; ``None`` when the stream ended cleanly.

        Raises:
            McpConnectionError: The connection broke before the stream ended.
            McpProtocolError: An event was larger than the decoder's limit.
        """
        while not self._messages:
            if self._decoded:
                event = self._decoded.popleft()
                self.events += 1
                self.last_event_id = event.id
                if event.event == "message" and event.data:
                    self._messages.extend(_messages(event.data.encode(), "an SSE event"))
                continue
            # Every queued event is consumed: an id-only block may have moved the cursor.
            self.last_event_id = self._decoder.last_event_id
            chunk = await self._response.receive_some()
            if not chunk:
                self._decoder.close()
                return None
            try:
                self._decoded.extend(self._decoder.feed(chunk))
            except ValueError as exc:
                raise McpProtocolError(str(exc)) from exc
        return self._messages.popleft()


class Reply:
    """A successful (2xx) response to a POST or GET.

    Attributes:
        status: The HTTP status.
        headers: The response headers, names lowercased.
        media_type: The ``Content-Type`` media type, lowercased, or ``None``.
    """

    def __init__(self, response: HttpResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers = response.headers
        content_type = response.headers.get("content-type")
        parsed = None if content_type is None else parse_content_type(content_type)
        self.media_type = None if parsed is None else parsed[0]

    @property
    def is_sse(self) -> bool:
        """Whether the body is an event stream."""
        return self.media_type == _SSE

    async def json_messages(self) -> list[Message]:
        """Read an ``application/json`` body as its JSON-RPC messages.

        Raises:
            McpProtocolError: The body is not JSON, too large, or holds no valid message.
        """
        if self.media_type != _JSON:
            raise McpProtocolError(f"unexpected response Content-Type {self.media_type!r}")
        body = await self._response.read(MAX_JSON_BODY)
        messages = _messages(body, "a JSON response")
        if not messages:
            raise McpProtocolError("the JSON response body holds no JSON-RPC message")
        return messages

    def events(self, last_event_id: str = "") -> EventStream:
        """Read the body as an event stream.

        Args:
            last_event_id: The id this stream resumes from.
        """
        return EventStream(self._response, last_event_id)

    async def discard(self) -> None:
        """Read and drop the rest of a (short) body, so the connection can be reused."""
        await self._response.read(_MAX_ERROR_BODY)


class Transport:
    """The client end of one MCP endpoint: headers, session id and protocol version.

    Args:
        pool: The connections to the endpoint.
        headers: Extra headers sent with every request (e.g. ``Authorization``).
    """

    def __init__(self, pool: ConnectionPool, headers: Mapping[str, str] | None = None) -> None:
        self.pool = pool
        self._extra = list((headers or {}).items())
        self.session_id: str | None = None
        """The ``Mcp-Session-Id`` the server assigned, sent with every later request."""
        self.protocol_version: str | None = None
        """The negotiated version, sent as ``MCP-Protocol-Version`` once known."""

    def _headers(self, accept: str, *, initialize: bool = False) -> list[tuple[str, str]]:
        headers = [("Accept", accept)]
        if not initialize:
            if self.session_id is not None:
                headers.append(("Mcp-Session-Id", self.session_id))
            if self.protocol_version is not None:
                headers.append(("MCP-Protocol-Version", self.protocol_version))
        headers.extend(self._extra)
        return headers

    async def _raise_for_status(self, response: HttpResponse, session_id: str | None) -> None:
        if 200 <= response.status < 300:
            return
        try:
            body = await response.read(_MAX_ERROR_BODY)
        except McpProtocolError:
            body = b""
        error = None
        if body:
            parsed = classify(body)
            if isinstance(parsed, ErrorResponse):
                error = parsed.error
        if response.status == 404 and session_id is not None:
            raise SessionNotFound(session_id, error, body)
        raise McpHttpError(response.status, error, body)

    @asynccontextmanager
    async def post(
        self,
        message: Message,
        *,
        initialize: bool = False,
        extra: Sequence[tuple[str, str]] = (),
    ) -> AsyncIterator[Reply]:
        """POST one JSON-RPC message; yield the (2xx) reply once its head has arrived.

        Args:
            message: The JSON-RPC message.
            initialize: This is the ``initialize`` request: send it without session id and
                protocol version, and take the session id from the response.
            extra: More headers for this request (the per-request era's ``Mcp-*``).

        Yields:
            The reply.

        Raises:
            SessionNotFound: HTTP 404 while a session id was sent.
            McpHttpError: Any other HTTP error status.
            McpConnectionError: The server could not be reached or the connection broke.
            McpProtocolError: The server sent an invalid session id.
        """
        headers = self._headers(_ACCEPT_BOTH, initialize=initialize)
        headers.append(("Content-Type", _JSON))
        headers.extend(extra)
        session_id = None if initialize else self.session_id
        async with self.pool.request("POST", headers, dump_message(message)) as response:
            await self._raise_for_status(response, session_id)
            if initialize:
                assigned = response.headers.get("mcp-session-id")
                if assigned is not None and not is_valid_session_id(assigned):
                    raise McpProtocolError(f"invalid Mcp-Session-Id from the server: {assigned!r}")
                self.session_id = assigned
            yield Reply(response)

    @asynccontextmanager
    async def get(self, last_event_id: str | None = None) -> AsyncIterator[Reply]:
        """Open a GET event stream (the standalone stream, or a resumption of any stream).

        Args:
            last_event_id: Resume after this event (``Last-Event-ID``).

        Yields:
            The reply; its body is an event stream.

        Raises:
            SessionNotFound: HTTP 404 while a session id was sent.
            McpHttpError: Any other HTTP error status (405: the server offers no stream).
            McpConnectionError: The server could not be reached or the connection broke.
            McpProtocolError: The reply is not an event stream.
        """
        headers = self._headers(_SSE)
        if last_event_id:
            headers.append(("Last-Event-ID", last_event_id))
        session_id = self.session_id
        async with self.pool.request("GET", headers) as response:
            await self._raise_for_status(response, session_id)
            reply = Reply(response)
            if not reply.is_sse:
                raise McpProtocolError(f"GET answered with Content-Type {reply.media_type!r}")
            yield reply

    async def delete(self) -> int:
        """Send DELETE to end the session; return the HTTP status (405: not allowed).

        Raises:
            McpConnectionError: The server could not be reached or the connection broke.
        """
        headers = self._headers(_JSON)
        async with self.pool.request("DELETE", headers) as response:
            await response.read(_MAX_ERROR_BODY)
            return response.status
