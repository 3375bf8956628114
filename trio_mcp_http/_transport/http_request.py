"""One HTTP request as the transport sees it, and the short answers it sends itself.

Everything here is per request and holds no state beyond it: the headers (a repeated singleton
header is refused), the request body (bounded in size and in time), and the answers that are
not streams: a rejection from the table, a small JSON body, an empty status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import trio

from .._core.rejections import Rejection, rejection_response

if TYPE_CHECKING:
    from .asgi_types import ASGIReceive, ASGISend

__all__ = [
    "JSON_HEADERS",
    "SESSION_HEADER",
    "SSE_HEADERS",
    "Disconnected",
    "HeaderMemo",
    "HttpRequest",
    "Refused",
    "collect_headers",
    "read_body",
    "send_empty",
    "send_json",
    "send_rejection",
    "text",
]

log = logging.getLogger("trio_mcp_http.asgi")

SESSION_HEADER: Final = b"mcp-session-id"
SSE_HEADERS: Final = (
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)
JSON_HEADERS: Final = ((b"content-type", b"application/json"),)
_CACHE_SIZE: Final = 256
_MAX_LENGTH_DIGITS: Final = 18
#: Headers that must appear at most once: a second line is refused, never silently used.
_SINGLE_HEADERS: Final = frozenset(
    {
        b"authorization",
        b"content-length",
        b"content-type",
        b"host",
        b"last-event-id",
        b"mcp-method",
        b"mcp-name",
        b"mcp-protocol-version",
        b"mcp-session-id",
        b"origin",
    }
)
#: List-valued headers whose repeated lines are joined (RFC 9110 section 5.3).
_LIST_HEADERS: Final = frozenset({b"accept"})
_K = TypeVar("_K")
_V = TypeVar("_V")


def text(value: bytes | None) -> str | None:
    """A header value as text (latin-1, as HTTP/1.1 bytes map one to one)."""
    return None if value is None else value.decode("latin-1")


@dataclass(slots=True)
class HttpRequest:
    """What one HTTP request brings: headers, session id, addresses, authenticated principal.

    Attributes:
        headers: Lowercase names to values (see :func:`collect_headers`).
        session_id: The ``Mcp-Session-Id`` as sent, or ``None``.
        peer: The ASGI ``(server, client)`` addresses (to find the socket if it must be cut).
        client_address: Who sent it, for the per-client quotas (``None`` when unknown).
        principal: Who the bearer token speaks for, when authorization is configured.
    """

    headers: dict[bytes, bytes]
    session_id: str | None
    peer: tuple[Any, Any]
    client_address: str | None
    principal: str | None = None

    def header(self, name: bytes) -> str | None:
        """A header's value as text, or ``None`` when absent."""
        return text(self.headers.get(name))

    def text_header(self, name: str) -> str | None:
        """A header's value by a text (lowercase) name, or ``None`` when absent."""
        return text(self.headers.get(name.encode("latin-1")))


class HeaderMemo(Generic[_K, _V]):
    """A bounded memo of a pure function of header values (they repeat between requests)."""

    __slots__ = ("_compute", "_values")

    def __init__(self, compute: Callable[[_K], _V]) -> None:
        self._compute = compute
        self._values: dict[_K, _V] = {}

    def __call__(self, key: _K) -> _V:
        try:
            return self._values[key]
        except KeyError:
            if len(self._values) >= _CACHE_SIZE:  # hostile variety: start over
                self._values.clear()
            value = self._values[key] = self._compute(key)
            return value


class Refused(Exception):
    """Abort handling a request with a rejection from the table.

    Args:
        rejection: The row of the table.
        details: Keyword arguments of :func:`~trio_mcp_http._core.rejections.rejection_response`
            (message, data, retry_after, ...).
    """

    def __init__(self, rejection: Rejection, **details: Any) -> None:
        super().__init__(rejection.name)
        self.rejection = rejection
        self.details = details


class Disconnected(Exception):
    """The client went away while its body was being read."""


def collect_headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The headers of a request by name: list headers joined, singletons refused when repeated.

    Raises:
        Refused: A header that must appear once appears twice (400).
    """
    merged = dict(raw)
    if len(merged) == len(raw):  # the common case: no name repeats
        return merged
    merged = {}
    for name, value in raw:
        earlier = merged.get(name)
        if earlier is None:
            merged[name] = value
        elif name in _SINGLE_HEADERS:
            raise Refused(
                Rejection.REPEATED_HEADER,
                message=f"Bad Request: the {name.decode('latin-1')} header is repeated",
            )
        else:  # a list header is joined; for any other, the last line wins
            merged[name] = earlier + b", " + value if name in _LIST_HEADERS else value
    return merged


async def read_body(
    request: HttpRequest, receive: ASGIReceive, *, limit: int, seconds: float
) -> bytes:
    """Read the whole body, within ``limit`` bytes and ``seconds``.

    Raises:
        Refused: The body is larger than ``limit`` (413), or took longer than ``seconds`` to
            arrive (408); both close the connection.
        Disconnected: The client went away first.
    """
    declared = request.headers.get(b"content-length")
    if (
        declared is not None
        and declared.isdigit()
        and (len(declared) > _MAX_LENGTH_DIGITS or int(declared) > limit)
    ):
        raise Refused(Rejection.BODY_TOO_LARGE, close=True)
    with trio.move_on_after(seconds):
        return await _receive_body(receive, limit)
    log.info("request body not received within %g s: closing", seconds)
    raise Refused(Rejection.BODY_TIMEOUT, close=True)


async def _receive_body(receive: ASGIReceive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise Disconnected
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused(Rejection.BODY_TOO_LARGE, close=True)
        chunks.append(chunk)
        if not event.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _length(body: bytes) -> tuple[bytes, bytes]:
    """A ``content-length`` header: a known body is sent as is, never chunked."""
    return (b"content-length", str(len(body)).encode())


async def send_rejection(send: ASGISend, refused: Refused) -> None:
    """Answer with the status, headers and JSON-RPC error body the table gives."""
    response = rejection_response(refused.rejection, **refused.details)
    headers = [*response.headers, _length(response.body)]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def send_json(
    send: ASGISend, status: int, body: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """Answer with one JSON body of known length."""
    headers = [*JSON_HEADERS, *extra, _length(body)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_empty(
    send: ASGISend, status: int, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """Answer with a status and no body (202 to a notification, 200 to a DELETE)."""
    headers = [*extra, (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
