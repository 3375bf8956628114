"""The ASGI application: every HTTP request's first steps, then its era's handler.

Theory of operation
-------------------
A request is counted against ``max_connections`` (beyond it: 503 at once), its headers are
collected (a repeated singleton header is refused), then it passes the guards (path, Host and
Origin, bearer token) and goes to the handler of its protocol era. Every refusal goes through
the table in :mod:`trio_mcp_http._core.rejections`; every SSE response is written by
:func:`~trio_mcp_http._transport.writer.write_sse` alone. The ASGI ``lifespan`` scope runs the
session manager when the app is served by ``hypercorn -k trio module:app``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from .._core.jsonrpc import PARSE_ERROR, Invalid, Request, classify
from .._core.per_request import PROTOCOL_VERSION, names_per_request
from .._core.rejections import Rejection
from .config import ServerConfig
from .guards import Guards
from .handshake_era import HandshakeEra
from .http_request import (
    SESSION_HEADER,
    Disconnected,
    HttpRequest,
    Refused,
    collect_headers,
    read_body,
    send_json,
    send_rejection,
)
from .manager import SessionManager, Statistics
from .per_request_era import PerRequestEra, modern_only_initialize
from .traffic import Traffic

if TYPE_CHECKING:
    from .._application import Application
    from .asgi_types import ASGIReceive, ASGISend, Scope
    from .session import CloseReason

__all__ = ["McpApp"]

log = logging.getLogger("trio_mcp_http.asgi")


class McpApp:
    """The ASGI 3 application serving one MCP endpoint.

    Use it directly with ``hypercorn -k trio module:app`` (the ``lifespan`` scope runs the
    session manager), or through :func:`trio_mcp_http.serve` to embed it in a trio program. A
    program that serves it with its own hypercorn call runs :attr:`manager` itself
    (``nursery.start(app.manager.run)``, then ``app.manager.drain(...)``).

    Args:
        application: The MCP application (a factory of per-session handlers).
        config: Server options; the defaults serve ``/mcp`` with 30-minute idle sessions.
        on_session_closed: Called with the session id and the reason (deleted, idle,
            evicted, shutdown, error) whenever a session ends.

    Attributes:
        config: The server options.
        manager: The session manager: hosts every session task (see :meth:`SessionManager.run`).
    """

    def __init__(
        self,
        application: Application,
        config: ServerConfig | None = None,
        *,
        on_session_closed: Callable[[str | None, CloseReason], None] | None = None,
    ) -> None:
        self.config = config if config is not None else ServerConfig()
        self.manager = SessionManager(application, self.config, on_session_closed=on_session_closed)
        self._traffic = Traffic()
        self._guards = Guards(self.config)
        self._handshake = HandshakeEra(self.config, self.manager, self._guards, self._traffic)
        self._per_request = PerRequestEra(self.config, self.manager, self._traffic)
        # GET and DELETE are handshake-era methods with sessions.
        self._sessions = bool(self.config.handshake_versions) and not self.config.stateless
        self._allow = "GET, POST, DELETE" if self._sessions else "POST"
        self._connection_limit = self.config.connection_limit

    def statistics(self) -> Statistics:
        """Return a cheap snapshot of sessions, requests and streams."""
        return self.manager._statistics(self._traffic)

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        """Serve one ASGI connection scope (``http`` or ``lifespan``)."""
        kind = scope["type"]
        if kind == "http":
            if self._traffic.http_requests >= self._connection_limit:
                refused = Refused(
                    Rejection.TOO_MANY_CONNECTIONS, retry_after=self.config.retry_after, close=True
                )
                await send_rejection(send, refused)
                return
            with self._traffic.http_request():
                await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise RuntimeError(f"trio_mcp_http serves HTTP only, not {kind!r}")

    async def _lifespan(self, receive: ASGIReceive, send: ASGISend) -> None:
        await receive()  # lifespan.startup
        if self.manager.running:  # embedded: the embedder runs the manager
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        async with trio.open_nursery() as nursery:
            await nursery.start(self.manager.run)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            await self.manager.drain(grace=1.0)
            nursery.cancel_scope.cancel()
        await send({"type": "lifespan.shutdown.complete"})

    async def _http(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        method = scope["method"]
        try:
            headers = collect_headers(scope["headers"])
            path = scope["path"]
            auth = self.config.auth
            if auth is not None and method == "GET" and path in auth.metadata_paths():
                await send_json(send, 200, auth.metadata_document)
                return
            if path != self.config.path:
                raise Refused(Rejection.NOT_FOUND_PATH)
            self._guards.check_host_and_origin(scope.get("server"), headers)
            raw_id = headers.get(SESSION_HEADER)
            client = scope.get("client")
            request = HttpRequest(
                headers,
                None if raw_id is None else raw_id.decode("latin-1"),
                (scope.get("server"), client),
                self._guards.client_address(client, headers),
            )
            await self._guards.authenticate(request)
            if method == "POST":
                await self._post(request, receive, send)
            elif method == "GET" and self._sessions:
                await self._handshake.get(request, receive, send)
            elif method == "DELETE" and self._sessions:
                await self._handshake.delete(request, send)
            else:
                raise Refused(Rejection.METHOD_NOT_ALLOWED, allow=self._allow)
        except Refused as refused:
            await send_rejection(send, refused)
        except Disconnected:
            log.debug("client disconnected before its request was read")

    async def _post(self, request: HttpRequest, receive: ASGIReceive, send: ASGISend) -> None:
        """Checks every POST passes, then the handler of its era."""
        accept = self._guards.accept(request.headers.get(b"accept"))
        if not (accept.json or accept.sse):
            raise Refused(Rejection.NOT_ACCEPTABLE)
        if not self._guards.json_body(request.headers.get(b"content-type")):
            raise Refused(Rejection.UNSUPPORTED_MEDIA_TYPE)
        config = self.config
        body = await read_body(
            request, receive, limit=config.max_body_bytes, seconds=config.body_timeout
        )
        parsed = classify(body)
        if isinstance(parsed, Invalid):
            code = parsed.error.code
            rejection = Rejection.PARSE_ERROR if code == PARSE_ERROR else Rejection.INVALID_MESSAGE
            raise Refused(rejection, message=parsed.error.message)
        version = self._guards.version(request.headers.get(b"mcp-protocol-version")).requested
        per_request = config.per_request_versions
        if per_request and (
            not config.handshake_versions or names_per_request(version, parsed, per_request)
        ):
            if isinstance(parsed, Request) and _is_initialize(parsed, config.handshake_versions):
                body = modern_only_initialize(config.served_versions, parsed)
                await send_json(send, 400, body)
                return
            await self._per_request.post(request, parsed, accept, receive, send)
        else:
            await self._handshake.post(request, parsed, accept, receive, send)


def _is_initialize(parsed: Request, handshake_versions: tuple[str, ...]) -> bool:
    """An ``initialize`` sent to a server without the handshake era (no per-request ``_meta``)."""
    if handshake_versions or parsed.method != "initialize":
        return False
    meta = (parsed.params or {}).get("_meta")
    return not (isinstance(meta, dict) and PROTOCOL_VERSION in meta)
