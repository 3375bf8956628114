"""The one table that maps every rejection to its HTTP status and JSON-RPC error.

Theory of operation
-------------------
*Rule 1*: the I/O layer never invents a status code. When it refuses a request it names a
:class:`Rejection` and asks :func:`rejection_response` for the status, headers and body.

*Rule 2*: every refusal carries a JSON-RPC error response with ``id: null`` as its body, so a
client always gets a machine-readable reason (spec: "The HTTP response body MAY comprise a
JSON-RPC error response that has no id").

The statuses follow the spec where it names one (400 missing session id, 404 unknown session,
400 bad protocol version, 403 bad Origin, 405 for an unsupported method) and the common practice
of the official SDKs where it is silent (406, 409, 413, 415, 503). This module does no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final

from .jsonrpc import INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, error_body

__all__ = ["REJECTIONS", "Rejection", "RejectionResponse", "RejectionRule", "rejection_response"]


class Rejection(enum.Enum):
    """Every reason the transport refuses an HTTP request."""

    PARSE_ERROR = enum.auto()
    INVALID_MESSAGE = enum.auto()
    BATCH_NOT_ALLOWED = enum.auto()
    BATCH_TOO_LARGE = enum.auto()
    REPEATED_HEADER = enum.auto()
    MISSING_SESSION_ID = enum.auto()
    MALFORMED_SESSION_ID = enum.auto()
    UNSUPPORTED_PROTOCOL_VERSION = enum.auto()
    ALREADY_INITIALIZED = enum.auto()
    DUPLICATE_REQUEST_ID = enum.auto()
    SESSION_NOT_FOUND = enum.auto()
    METHOD_NOT_ALLOWED = enum.auto()
    NOT_ACCEPTABLE = enum.auto()
    STREAM_CONFLICT = enum.auto()
    UNKNOWN_EVENT_ID = enum.auto()
    EVENTS_EVICTED = enum.auto()
    BODY_TOO_LARGE = enum.auto()
    BODY_TIMEOUT = enum.auto()
    UNSUPPORTED_MEDIA_TYPE = enum.auto()
    UNAUTHORIZED = enum.auto()
    INSUFFICIENT_SCOPE = enum.auto()
    FORBIDDEN_ORIGIN = enum.auto()
    FORBIDDEN_HOST = enum.auto()
    NOT_FOUND_PATH = enum.auto()
    TOO_MANY_SESSIONS = enum.auto()
    TOO_MANY_CONNECTIONS = enum.auto()
    TOO_MANY_EXCHANGES = enum.auto()
    SHUTTING_DOWN = enum.auto()
    INTERNAL_ERROR = enum.auto()


@dataclass(frozen=True, slots=True)
class RejectionRule:
    """One row of the table.

    Attributes:
        status: The HTTP status code.
        code: The JSON-RPC error code of the body.
        message: The default JSON-RPC error message.
    """

    status: int
    code: int
    message: str


_R = RejectionRule
#: The table. Read it top to bottom as the answer to "what does the client see when ...".
REJECTIONS: Final[dict[Rejection, RejectionRule]] = {
    Rejection.PARSE_ERROR: _R(400, PARSE_ERROR, "Parse error: body is not JSON"),
    Rejection.INVALID_MESSAGE: _R(400, INVALID_REQUEST, "Invalid Request"),
    Rejection.BATCH_NOT_ALLOWED: _R(
        400, INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported after 2025-03-26"
    ),
    Rejection.BATCH_TOO_LARGE: _R(
        400, INVALID_REQUEST, "Invalid Request: the batch has more messages than allowed"
    ),
    Rejection.REPEATED_HEADER: _R(
        400, INVALID_REQUEST, "Bad Request: a header that must appear once is repeated"
    ),
    Rejection.MISSING_SESSION_ID: _R(
        400, INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required"
    ),
    Rejection.MALFORMED_SESSION_ID: _R(
        400, INVALID_REQUEST, "Bad Request: Mcp-Session-Id must be 1-256 visible ASCII characters"
    ),
    Rejection.UNSUPPORTED_PROTOCOL_VERSION: _R(
        400, INVALID_REQUEST, "Bad Request: unsupported MCP-Protocol-Version"
    ),
    Rejection.ALREADY_INITIALIZED: _R(
        400, INVALID_REQUEST, "Invalid Request: the session is already initialized"
    ),
    Rejection.DUPLICATE_REQUEST_ID: _R(
        400, INVALID_REQUEST, "Invalid Request: a request with this id is already in flight"
    ),
    Rejection.SESSION_NOT_FOUND: _R(404, INVALID_REQUEST, "Session not found"),
    Rejection.NOT_FOUND_PATH: _R(404, INVALID_REQUEST, "Not Found: no MCP endpoint at this path"),
    Rejection.METHOD_NOT_ALLOWED: _R(405, INVALID_REQUEST, "Method Not Allowed"),
    Rejection.NOT_ACCEPTABLE: _R(
        406, INVALID_REQUEST, "Not Acceptable: the Accept header rules out every response type"
    ),
    Rejection.STREAM_CONFLICT: _R(
        409, INVALID_REQUEST, "Conflict: only one standalone SSE stream is allowed per session"
    ),
    Rejection.UNKNOWN_EVENT_ID: _R(
        400, INVALID_REQUEST, "Bad Request: Last-Event-ID names no event of this session"
    ),
    Rejection.EVENTS_EVICTED: _R(
        410, INVALID_REQUEST, "Gone: events after this Last-Event-ID were evicted; cannot resume"
    ),
    Rejection.BODY_TOO_LARGE: _R(413, INVALID_REQUEST, "Payload Too Large"),
    Rejection.BODY_TIMEOUT: _R(
        408, INVALID_REQUEST, "Request Timeout: the request body took too long to arrive"
    ),
    Rejection.UNSUPPORTED_MEDIA_TYPE: _R(
        415, INVALID_REQUEST, "Unsupported Media Type: Content-Type must be application/json"
    ),
    Rejection.UNAUTHORIZED: _R(
        401, INVALID_REQUEST, "Unauthorized: a valid bearer token is required"
    ),
    Rejection.INSUFFICIENT_SCOPE: _R(
        403, INVALID_REQUEST, "Forbidden: the token lacks a required scope"
    ),
    Rejection.FORBIDDEN_ORIGIN: _R(403, INVALID_REQUEST, "Forbidden: Origin not allowed"),
    Rejection.FORBIDDEN_HOST: _R(403, INVALID_REQUEST, "Forbidden: Host not allowed"),
    Rejection.TOO_MANY_SESSIONS: _R(
        503, INVALID_REQUEST, "Service Unavailable: too many active sessions"
    ),
    Rejection.TOO_MANY_CONNECTIONS: _R(
        503, INVALID_REQUEST, "Service Unavailable: too many requests in progress"
    ),
    Rejection.TOO_MANY_EXCHANGES: _R(
        503, INVALID_REQUEST, "Service Unavailable: too many requests being handled"
    ),
    Rejection.SHUTTING_DOWN: _R(503, INVALID_REQUEST, "Service Unavailable: shutting down"),
    Rejection.INTERNAL_ERROR: _R(500, INTERNAL_ERROR, "Internal error"),
}


@dataclass(frozen=True, slots=True)
class RejectionResponse:
    """What to send for a rejection: status, headers (lowercase bytes) and body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


_JSON_HEADERS: Final = ((b"content-type", b"application/json"),)


def rejection_response(
    rejection: Rejection,
    *,
    message: str | None = None,
    data: Any = None,
    allow: str | None = None,
    retry_after: int | None = None,
    www_authenticate: bytes | None = None,
    close: bool = False,
) -> RejectionResponse:
    """Build the response for a rejection from the table.

    Args:
        rejection: Why the request is refused.
        message: Replaces the table's default JSON-RPC error message.
        data: The JSON-RPC error's ``data`` member.
        allow: The ``Allow`` header value (only for 405).
        retry_after: Seconds for a ``Retry-After`` header (only for 503).
        www_authenticate: The ``WWW-Authenticate`` challenge (only for 401 and 403).
        close: Send ``Connection: close``: the server drops the connection after the answer
            (a body that was not read whole, or a connection it cannot afford to keep).

    Returns:
        The status, headers and JSON-RPC error body to send.
    """
    rule = REJECTIONS[rejection]
    headers = list(_JSON_HEADERS)
    if allow is not None:
        headers.append((b"allow", allow.encode("ascii")))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode("ascii")))
    if www_authenticate is not None:
        headers.append((b"www-authenticate", www_authenticate))
    if close:
        headers.append((b"connection", b"close"))
    body = error_body(rule.code, message if message is not None else rule.message, data)
    return RejectionResponse(rule.status, tuple(headers), body)
