"""Opening a client: find the server's era, connect, run the background work, close cleanly.

In ``mode="auto"`` (the default) the client first asks ``server/discover`` at the newest
per-request version. A server that answers it speaks the per-request era, and the client uses
it; a server that answers with the signals versioning.mdx names for an older server (a
-32022 error listing only handshake versions, a 4xx whose body is no modern error, 404, 405)
gets ``initialize`` instead. Authorization failures (401, 403), server errors (5xx) and a
dropped connection are raised, never taken as an era. The era found is remembered per origin
for the life of the process, so later clients of that server do not probe again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

import trio

from .._core.versions import (
    HANDSHAKE_VERSIONS,
    LATEST,
    LATEST_HANDSHAKE,
    PER_REQUEST_VERSIONS,
    VERSIONS,
)
from .._version import __version__
from ._callbacks import Callbacks
from ._client import McpClient
from ._handshake import HandshakeSession
from ._http import ConnectionPool, parse_endpoint
from ._negotiate import probe
from ._per_request import PerRequestSession
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

log = logging.getLogger("trio_mcp_http.client")

SUPPORTED_PROTOCOL_VERSIONS: Final[tuple[str, ...]] = VERSIONS
"""The protocol revisions this client speaks, oldest first."""

Mode: TypeAlias = Literal["auto", "legacy", "2026-07-28"]
"""How the client picks the era: probe (``auto``), a session (``legacy``), or per-request."""

#: The era found for each origin (``scheme://host:port``) in ``auto`` mode.
_ERAS: dict[str, str] = {}


def forget_eras() -> None:
    """Forget the eras remembered per origin (the next ``auto`` client probes again)."""
    _ERAS.clear()


@asynccontextmanager
async def open_client(
    url: str,
    *,
    client_info: Implementation | Mapping[str, Any] | None = None,
    capabilities: Mapping[str, Any] | None = None,
    mode: Mode = "auto",
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
    """Connect to an MCP server over Streamable HTTP.

    Finds the server's era (``mode``). On the handshake era it runs ``initialize`` (accepting
    the server's protocol version if this client speaks it), sends
    ``notifications/initialized``, optionally opens the standalone GET stream, and yields the
    client; on exit it stops the background tasks, sends DELETE to end the session (unless
    ``delete_on_close`` is false) and closes every connection, within a short bound and
    shielded from cancellation. On the per-request era (2026-07-28) there is no session:
    every call is one request, input-required results are answered through the callbacks and
    the request retried.

    Example::

        async with open_client("http://127.0.0.1:8000/mcp") as client:
            tools = await client.list_tools()

    Args:
        url: The MCP endpoint, ``http://`` or ``https://``.
        client_info: The client's ``clientInfo`` (default: this package's name and version).
        capabilities: The client capabilities; by default derived from the typed callbacks
            given (``sampling``, ``elicitation``, ``roots``).
        mode: ``"auto"`` probes ``server/discover`` and falls back to ``initialize``;
            ``"legacy"`` always opens a session; ``"2026-07-28"`` always speaks the
            per-request wire, without probing.
        protocol_version: The handshake-era version ``initialize`` asks for.
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
    if protocol_version not in HANDSHAKE_VERSIONS:
        raise ValueError(
            f"unsupported protocol version {protocol_version!r}; "
            f"supported: {', '.join(HANDSHAKE_VERSIONS)}"
        )
    if mode not in ("auto", "legacy", *PER_REQUEST_VERSIONS):
        raise ValueError(f"unknown mode {mode!r}: auto, legacy or a per-request version")
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
    endpoint = parse_endpoint(url)
    pool = ConnectionPool(
        endpoint, ssl_context=ssl_context, connect=connect, max_idle=max_idle_connections
    )
    transport = Transport(pool, headers)
    declared = dict(capabilities) if capabilities is not None else callbacks.capabilities()
    origin = f"{endpoint.scheme}://{endpoint.authority}"
    failure: BaseException | None = None
    # Exceptions of the body are caught inside the nursery and re-raised after it, so the
    # caller sees them as they are rather than wrapped in an ExceptionGroup.
    async with trio.open_nursery() as nursery:
        session: HandshakeSession | PerRequestSession | None = None
        try:
            session = await _connect(
                transport,
                nursery,
                mode,
                origin,
                client_info=info,
                capabilities=declared,
                protocol_version=protocol_version,
                callbacks=callbacks,
                reconnect=reconnect or ReconnectPolicy(),
                on_session_reset=on_session_reset,
            )
            if isinstance(session, HandshakeSession):
                await session.initialize()
            client = McpClient(session)
            if listen:
                await client.listen()
            yield client
        except BaseException as exc:
            failure = exc
        finally:
            nursery.cancel_scope.cancel()
            if session is None:
                with trio.CancelScope(shield=True):
                    await transport.pool.aclose()
            else:
                await session.shutdown(delete=delete_on_close)
    if failure is not None:
        raise failure


async def _connect(
    transport: Transport,
    nursery: trio.Nursery,
    mode: str,
    origin: str,
    *,
    client_info: Implementation,
    capabilities: dict[str, Any],
    protocol_version: str,
    callbacks: Callbacks,
    reconnect: ReconnectPolicy,
    on_session_reset: SessionResetCallback | None,
) -> HandshakeSession | PerRequestSession:
    """The session of the server's era: probed (``auto``), or the one ``mode`` names.

    A handshake-era session is returned before ``initialize`` (the caller runs it, so that a
    failed handshake still ends with the session's DELETE).
    """
    discovered: dict[str, Any] | None = None
    if mode == "auto" and _ERAS.get(origin) != "handshake":
        discovered = await probe(transport, LATEST, client_info, capabilities)
        _ERAS[origin] = "handshake" if discovered is None else "per-request"
        log.debug("%s speaks the %s era", origin, _ERAS[origin])
    if mode in PER_REQUEST_VERSIONS or discovered is not None:
        return PerRequestSession(
            transport,
            nursery,
            version=LATEST if mode == "auto" else mode,
            client_info=client_info,
            capabilities=capabilities,
            callbacks=callbacks,
            discover_result=discovered,
        )
    transport.protocol_version = None
    return HandshakeSession(
        transport,
        nursery,
        client_info=client_info,
        capabilities=capabilities,
        protocol_version=protocol_version,
        callbacks=callbacks,
        reconnect=reconnect,
        on_session_reset=on_session_reset,
    )
