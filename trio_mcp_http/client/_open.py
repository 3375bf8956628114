"""Opening a client: connect, handshake, run the background work, and close cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import trio

from .._core.versions import HANDSHAKE_VERSIONS, LATEST_HANDSHAKE
from .._version import __version__
from ._callbacks import Callbacks
from ._client import McpClient
from ._handshake import HandshakeSession
from ._http import ConnectionPool, parse_endpoint
from ._transport import Transport
from ._types import Implementation, ReconnectPolicy

if TYPE_CHECKING:
    import ssl

    from ._http import StreamFactory
    from ._types import (
        ElicitationCallback,
        ListRootsCallback,
        NotificationCallback,
        RequestCallback,
        SamplingCallback,
        SessionResetCallback,
    )

__all__ = ["SUPPORTED_PROTOCOL_VERSIONS", "open_client"]

SUPPORTED_PROTOCOL_VERSIONS: Final[tuple[str, ...]] = HANDSHAKE_VERSIONS
"""The protocol revisions this client speaks, oldest first."""


@asynccontextmanager
async def open_client(
    url: str,
    *,
    client_info: Implementation | Mapping[str, Any] | None = None,
    capabilities: Mapping[str, Any] | None = None,
    protocol_version: str = LATEST_HANDSHAKE,
    headers: Mapping[str, str] | None = None,
    on_notification: NotificationCallback | None = None,
    on_request: RequestCallback | None = None,
    sampling_callback: SamplingCallback | None = None,
    elicitation_callback: ElicitationCallback | None = None,
    list_roots_callback: ListRootsCallback | None = None,
    on_session_reset: SessionResetCallback | None = None,
    listen: bool = False,
    delete_on_close: bool = True,
    ssl_context: ssl.SSLContext | None = None,
    reconnect: ReconnectPolicy | None = None,
    connect: StreamFactory | None = None,
    max_idle_connections: int = 4,
) -> AsyncIterator[McpClient]:
    """Connect to an MCP server over Streamable HTTP and run the session.

    Runs ``initialize`` (accepting the server's protocol version if this client speaks it),
    sends ``notifications/initialized``, optionally opens the standalone GET stream, and yields
    the client. On exit it stops the background tasks, sends DELETE to end the session
    (unless ``delete_on_close`` is false) and closes every connection, within a short bound
    and shielded from cancellation.

    Example::

        async with open_client("http://127.0.0.1:8000/mcp") as client:
            tools = await client.list_tools()

    Args:
        url: The MCP endpoint, ``http://`` or ``https://``.
        client_info: The client's ``clientInfo`` (default: this package's name and version).
        capabilities: The client capabilities; by default derived from the typed callbacks
            given (``sampling``, ``elicitation``, ``roots``).
        protocol_version: The protocol version to ask for.
        headers: Extra headers for every request (e.g. ``Authorization``).
        on_notification: Receives the server's notifications, in order, from the task reading
            the stream (keep it short: it holds up that stream).
        on_request: Answers the server's requests that no typed callback takes.
        sampling_callback: Answers ``sampling/createMessage``.
        elicitation_callback: Answers ``elicitation/create``.
        list_roots_callback: Answers ``roots/list``.
        on_session_reset: Told ``(old_id, new_id)`` after the client replaced a lost session.
        listen: Open the standalone GET stream at once (see :meth:`McpClient.listen`).
        delete_on_close: Send DELETE for the session on exit.
        ssl_context: The TLS context for ``https`` (default: the system's trust store).
        reconnect: How streams are reconnected and resumed.
        connect: Opens the byte stream of each new connection instead of a TCP connection
            (for tests, proxies or Unix sockets); TLS is layered on top for ``https``.
        max_idle_connections: Kept-alive connections kept for reuse.

    Yields:
        The initialized client.

    Raises:
        ValueError: ``url`` or ``protocol_version`` is not usable.
        UnsupportedProtocolVersion: The server answered with a version this client lacks.
        JsonRpcError: The server refused ``initialize``.
        McpHttpError: The server answered with an HTTP error status.
        McpConnectionError: The server could not be reached.
    """
    if protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
        raise ValueError(
            f"unsupported protocol version {protocol_version!r}; "
            f"supported: {', '.join(SUPPORTED_PROTOCOL_VERSIONS)}"
        )
    if client_info is None:
        info = Implementation(name="trio-mcp-http", version=__version__)
    elif isinstance(client_info, Implementation):
        info = client_info
    else:
        info = Implementation.model_validate(client_info)
    callbacks = Callbacks(
        on_notification=on_notification,
        on_request=on_request,
        sampling=sampling_callback,
        elicitation=elicitation_callback,
        list_roots=list_roots_callback,
    )
    pool = ConnectionPool(
        parse_endpoint(url), ssl_context=ssl_context, connect=connect, max_idle=max_idle_connections
    )
    transport = Transport(pool, headers)
    failure: BaseException | None = None
    # Exceptions of the body are caught inside the nursery and re-raised after it, so the
    # caller sees them as they are rather than wrapped in an ExceptionGroup.
    async with trio.open_nursery() as nursery:
        session = HandshakeSession(
            transport,
            nursery,
            client_info=info,
            capabilities=dict(capabilities)
            if capabilities is not None
            else callbacks.capabilities(),
            protocol_version=protocol_version,
            callbacks=callbacks,
            reconnect=reconnect or ReconnectPolicy(),
            on_session_reset=on_session_reset,
        )
        client = McpClient(session)
        try:
            await session.initialize()
            if listen:
                await client.listen()
            yield client
        except BaseException as exc:
            failure = exc
        finally:
            nursery.cancel_scope.cancel()
            await session.shutdown(delete=delete_on_close)
    if failure is not None:
        raise failure
