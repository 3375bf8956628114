"""The exceptions of the client, one class per way a call can fail.

JSON-RPC error *responses* are not here: they raise :class:`trio_mcp_http.JsonRpcError`, the
same class a server handler raises, with the server's ``code``, ``message`` and ``data``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._core.jsonrpc import ErrorObject

__all__ = [
    "McpClientError",
    "McpConnectionError",
    "McpHttpError",
    "McpProtocolError",
    "ResponseStreamLost",
    "SessionNotFound",
    "UnsupportedProtocolVersion",
]


class McpClientError(Exception):
    """Base class of every error raised by the client (other than ``JsonRpcError``)."""


class McpConnectionError(McpClientError):
    """The server could not be reached, or the connection broke during an exchange."""


class ResponseStreamLost(McpConnectionError):
    """A request's SSE stream ended before its response, and it could not be resumed.

    A stream can be resumed only when the server gave its events ids (then the client polls it
    with GET and ``Last-Event-ID``); without ids, or once the reconnection attempts are used
    up, the response is lost. The server may still have processed the request.

    Attributes:
        request_id: The id of the request whose response was lost.
    """

    def __init__(self, message: str, request_id: int | str) -> None:
        super().__init__(message)
        self.request_id = request_id


class McpHttpError(McpClientError):
    """The server answered with an HTTP error status.

    Attributes:
        status: The HTTP status code.
        error: The JSON-RPC error object of the body, when the body held an error response.
        body: The start of the response body (at most 64 KiB).
    """

    def __init__(self, status: int, error: ErrorObject | None = None, body: bytes = b"") -> None:
        detail = f": {error.message}" if error is not None else ""
        super().__init__(f"HTTP {status}{detail}")
        self.status = status
        self.error = error
        self.body = body


class SessionNotFound(McpHttpError):
    """HTTP 404 to a request that carried a session id: the server ended the session.

    The client reacts by starting a new session (the spec's MUST) and retrying the request
    once, so this surfaces only when the new session fails the same way.

    Attributes:
        session_id: The session id the server no longer knows.
    """

    def __init__(
        self, session_id: str, error: ErrorObject | None = None, body: bytes = b""
    ) -> None:
        super().__init__(404, error, body)
        self.session_id = session_id


class McpProtocolError(McpClientError):
    """The server broke the Streamable HTTP protocol (wrong content type, bad JSON, ...)."""


class UnsupportedProtocolVersion(McpClientError):
    """The server answered ``initialize`` with a protocol version this client does not speak.

    Attributes:
        requested: The version the client asked for.
        offered: The version the server answered with.
    """

    def __init__(self, requested: str, offered: object) -> None:
        super().__init__(f"server offered protocol version {offered!r}; asked for {requested!r}")
        self.requested = requested
        self.offered = offered
