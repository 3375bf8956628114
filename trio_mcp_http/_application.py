"""The narrow, typed contract between the transport and the application it serves.

The transport owns HTTP, sessions, streams and routing; the application owns MCP semantics.
For every session the transport asks the :class:`Application` for a :class:`SessionHandler`
and then hands it each request and notification the client sends. A handler answers a request
by returning its ``result`` object (or raising :class:`~trio_mcp_http.JsonRpcError`), and talks
back to the client through the contexts it is given:

* :class:`RequestContext` sends notifications and requests *related* to one client request;
  they travel on that request's own SSE stream (spec: "These messages SHOULD relate to the
  originating client request").
* :class:`SessionContext` sends *unrelated* notifications and requests; they travel on the
  session's standalone GET stream.

Nothing here depends on MCP's method names: the MCP server layer and the adapters for other
SDKs sit on top of this contract, and a tiny handler alone is enough to test the transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

from ._core.jsonrpc import REQUEST_TIMEOUT, JsonRpcError

if TYPE_CHECKING:
    from ._core.jsonrpc import Notification, Request, RequestId

__all__ = [
    "Application",
    "BackChannelUnavailable",
    "ClientRequestTimeout",
    "RequestContext",
    "SessionContext",
    "SessionHandler",
]


class BackChannelUnavailable(Exception):
    """A message for the client cannot be delivered on any stream.

    Raised by ``send_request`` in stateless mode, in JSON response mode for related requests,
    when no standalone stream is open for an unrelated request, and when the session closes
    while the request is pending.
    """


class ClientRequestTimeout(JsonRpcError):
    """The client did not answer a server-to-client request within ``client_request_timeout``.

    The transport has told the client (``notifications/cancelled``). As a JSON-RPC error
    (code -32001, the code the MCP SDKs use for a request timeout) it answers the handler's
    own request when the handler lets it propagate.

    Args:
        method: The request that got no answer.
        timeout: The seconds waited.
    """

    def __init__(self, method: str, timeout: float) -> None:
        super().__init__(
            REQUEST_TIMEOUT,
            f"The client did not answer {method} within {timeout:g} seconds",
            {"method": method, "timeout": timeout},
        )
        self.method = method
        self.timeout = timeout


class SessionContext(Protocol):
    """The session as the application sees it."""

    @property
    def session_id(self) -> str | None:
        """The ``Mcp-Session-Id``, or ``None`` in stateless mode."""

    @property
    def protocol_version(self) -> str:
        """The protocol version negotiated by ``initialize`` (or assumed from the header)."""

    @property
    def principal(self) -> str | None:
        """Who the bearer token of the session (or of the exchange's request) speaks for."""

    @property
    def initialized(self) -> bool:
        """Whether the client completed the handshake (sent ``notifications/initialized``).

        Always ``True`` where there is no handshake (stateless exchanges).
        """

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send an unrelated notification on the standalone stream.

        It is dropped (with a debug log) when no standalone stream is open and no event store
        keeps it for a later resume.
        """

    def close_standalone_stream(self) -> None:
        """Close the standalone stream's connection without ending the stream (SSE polling).

        The client reconnects after the ``retry`` interval; with an event store it resumes
        with ``Last-Event-ID`` and misses nothing. Without a store, messages sent meanwhile
        are lost.
        """

    async def send_request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send an unrelated request on the standalone stream and return the client's result.

        Raises:
            JsonRpcError: The client answered with an error.
            ClientRequestTimeout: No answer within ``client_request_timeout``.
            BackChannelUnavailable: No standalone stream is open, or the session closed.
        """


class RequestContext(Protocol):
    """One client request being handled."""

    @property
    def session(self) -> SessionContext:
        """The session the request belongs to."""

    @property
    def request_id(self) -> RequestId:
        """The id of the request, with its JSON type."""

    def header(self, name: str) -> str | None:
        """A header of the HTTP request that carried the request (``name`` in lowercase).

        The per-request era checks some against the body (``Mcp-Param-*``).
        """

    async def wait_draining(self) -> None:
        """Return once the server begins to shut down (a long stream then ends itself)."""

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification related to this request, on its stream, before the response."""

    def close_sse_stream(self) -> None:
        """Close this request's SSE connection without ending its stream (SSE polling).

        A ``retry`` field goes out first; the client resumes with GET and ``Last-Event-ID``
        and receives what it missed, then the rest of the stream. Only useful with an event
        store; a no-op in JSON response mode.
        """

    async def send_request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a related request on this request's stream and return the client's result.

        Call it inside a cancel scope to bound the wait; when cancelled, the transport sends
        ``notifications/cancelled`` for it to the client.

        Raises:
            JsonRpcError: The client answered with an error.
            ClientRequestTimeout: No answer within ``client_request_timeout``.
            BackChannelUnavailable: There is no stream to send it on (JSON response mode,
                stateless mode) or the session closed.
        """


class SessionHandler(Protocol):
    """Handles the messages of one session. Created by :meth:`Application.open_session`.

    Two methods are optional, for session restore (``ServerConfig.session_store``):
    ``snapshot() -> dict``, the handler's state as JSON-able data (what ``initialize``
    established, and whatever the session changed since), and ``restore(state)``, which
    brings a new handler of a session re-created in another process back to that state (the
    transport then marks the session initialized). A handler without them is not restored.
    """

    async def handle_request(self, request: Request, context: RequestContext) -> dict[str, Any]:
        """Handle a request and return the ``result`` object of its response.

        Raise :class:`~trio_mcp_http.JsonRpcError` to answer with an error instead. Any other
        exception is logged and answered with an internal error; it never ends the session.
        The handler runs in a task of its own in the session manager's nursery: it survives
        a client disconnect and is cancelled by ``notifications/cancelled``, DELETE, idle
        expiry, eviction and shutdown.
        """

    async def handle_notification(
        self, notification: Notification, session: SessionContext
    ) -> None:
        """Handle a notification from the client (after the transport has seen it)."""


class Application(Protocol):
    """What the transport serves: a factory of per-session handlers.

    Two methods are optional, looked up when present: ``serving()``, an async context manager
    that the session manager holds open while it runs (background services such as a bus
    shared by several processes live in it: entered before the first session, left after the
    last ended), and ``statistics()``, a mapping that :meth:`trio_mcp_http.McpApp.statistics`
    reports as ``application``.
    """

    def open_session(self, session: SessionContext) -> SessionHandler:
        """Return the handler for a new session (called once per session, without blocking)."""


def application_serving(application: object) -> AbstractAsyncContextManager[object]:
    """``application.serving()`` if the application has it, else a context that does nothing."""
    serving = getattr(application, "serving", None)
    return serving() if callable(serving) else nullcontext()


def handler_snapshot(handler: object) -> dict[str, Any]:
    """``handler.snapshot()`` if the handler has it, else an empty dict."""
    snapshot = getattr(handler, "snapshot", None)
    return dict(snapshot()) if callable(snapshot) else {}


def restore_handler(handler: object, state: Mapping[str, Any]) -> bool:
    """Call ``handler.restore(state)``; whether the handler can be restored at all."""
    restore = getattr(handler, "restore", None)
    if not callable(restore):
        return False
    restore(state)
    return True


def application_statistics(application: object) -> Mapping[str, object]:
    """``application.statistics()`` if the application has it, else an empty mapping."""
    statistics = getattr(application, "statistics", None)
    return dict(statistics()) if callable(statistics) else {}
