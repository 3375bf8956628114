"""The ASGI application: HTTP in, sessions and streams out.

Every refusal goes through the status table in :mod:`trio_mcp_http._core.rejections`; every SSE
response is written by :func:`~trio_mcp_http._transport.writer.write_sse` alone. The ASGI
``lifespan`` scope opens the session manager's nursery when the app runs under
``hypercorn -k trio module:app``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import trio

from .._core.events import ReplayStatus, parse_event_id
from .._core.headers import (
    Acceptable,
    ProtocolVersionCheck,
    check_protocol_version,
    host_allowed,
    is_json_content_type,
    is_loopback_host,
    is_valid_session_id,
    loopback_allow_lists,
    origin_allowed,
    parse_accept,
)
from .._core.jsonrpc import (
    Batch,
    ErrorResponse,
    Invalid,
    Message,
    Notification,
    Request,
    Response,
    classify,
    dump_message,
)
from .._core.rejections import Rejection, rejection_response
from .._core.versions import HANDSHAKE_VERSIONS, Era, Revision, negotiate, revision
from .config import ServerConfig
from .connection import Connection
from .manager import SessionManager, SessionRefused
from .session import CloseReason, Session
from .sinks import JsonReply, Output, SseStream
from .writer import write_sse

if TYPE_CHECKING:
    from .._application import Application
    from .asgi_types import ASGIReceive, ASGISend, Scope
from .._core.auth import AuthConfig, bearer_token

__all__ = ["McpApp"]

log = logging.getLogger("trio_mcp_http.asgi")

_Peer = tuple[Any, Any]

_SESSION_HEADER: Final = b"mcp-session-id"
_SSE_HEADERS: Final = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_JSON_HEADERS: Final = [(b"content-type", b"application/json")]
_NO_BODY: Final = (b"content-length", b"0")
_CACHE_SIZE: Final = 256
#: Headers that must appear at most once: a second line is refused, never silently used.
_SINGLE_HEADERS: Final = frozenset(
    {
        b"authorization",
        b"content-length",
        b"content-type",
        b"host",
        b"last-event-id",
        b"mcp-protocol-version",
        b"mcp-session-id",
        b"origin",
    }
)
#: List-valued headers whose repeated lines are joined (RFC 9110 section 5.3).
_LIST_HEADERS: Final = frozenset({b"accept"})
_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(slots=True)
class _Call:
    """What one HTTP request brings: headers, session id, addresses, authenticated principal."""

    headers: dict[bytes, bytes]
    session_id: str | None
    peer: tuple[Any, Any]
    client_address: str | None
    principal: str | None = None

    def header(self, name: bytes) -> str | None:
        return _text(self.headers.get(name))


class _Memo(Generic[_K, _V]):
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


class _Refused(Exception):
    """Internal: abort handling with a rejection from the table."""

    def __init__(self, rejection: Rejection, **details: Any) -> None:
        super().__init__(rejection.name)
        self.rejection = rejection
        self.details = details


class _Disconnected(Exception):
    """Internal: the client went away while its body was being read."""


class McpApp:
    """The ASGI 3 application serving one MCP endpoint.

    Use it directly with ``hypercorn -k trio module:app`` (the ``lifespan`` scope starts the
    session manager), or through :func:`trio_mcp_http.serve` to embed it in a trio program.

    Args:
        application: The MCP application (a factory of per-session handlers).
        config: Server options; the defaults serve ``/mcp`` with 30-minute idle sessions.
        manager: A session manager to use instead of a new one.
        on_session_closed: Called with the session id and the reason (deleted, idle,
            evicted, shutdown, error) whenever a session ends.
    """

    def __init__(
        self,
        application: Application,
        config: ServerConfig | None = None,
        *,
        manager: SessionManager | None = None,
        on_session_closed: Callable[[str | None, CloseReason], None] | None = None,
    ) -> None:
        self.config = config if config is not None else ServerConfig()
        if manager is None:
            manager = SessionManager(application, self.config, on_session_closed=on_session_closed)
        self.manager = manager
        self._loopback_hosts, self._loopback_origins = loopback_allow_lists()
        self._guard = _Memo(self._host_and_origin_verdict)
        self._acceptable: _Memo[bytes | None, Acceptable] = _Memo(
            lambda accept: parse_accept(_text(accept))
        )
        self._json_body: _Memo[bytes | None, bool] = _Memo(
            lambda content_type: is_json_content_type(_text(content_type))
        )
        self._version: _Memo[bytes | None, ProtocolVersionCheck] = _Memo(
            lambda version: check_protocol_version(_text(version))
        )
        self._allow = "POST" if self.config.stateless else "GET, POST, DELETE"
        self._connection_limit = self.config.connection_limit
        self._address_header = (
            None
            if self.config.client_address_header is None
            else self.config.client_address_header.lower().encode("latin-1")
        )
        #: HTTP requests being served now (each holds one connection).
        self.open_requests = 0

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        """Serve one ASGI connection scope (``http`` or ``lifespan``)."""
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise RuntimeError(f"trio_mcp_http serves HTTP only, not {kind!r}")

    # -- lifespan ---------------------------------------------------------------------------

    async def _lifespan(self, receive: ASGIReceive, send: ASGISend) -> None:
        await receive()  # lifespan.startup
        if self.manager.running:  # embedded: the embedder owns the manager's nursery
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

    # -- http -------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if self.open_requests >= self._connection_limit:
            refused = _Refused(
                Rejection.TOO_MANY_CONNECTIONS, retry_after=self.config.retry_after, close=True
            )
            await self._send_rejection(send, refused)
            return
        self.open_requests += 1
        try:
            await self._serve_http(scope, receive, send)
        finally:
            self.open_requests -= 1

    async def _serve_http(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers: dict[bytes, bytes] = dict(raw_headers)
        method = scope["method"]
        try:
            if len(headers) != len(raw_headers):
                headers = _merge_repeated(raw_headers)
            path = scope["path"]
            auth = self.config.auth
            if auth is not None and method == "GET" and path in auth.metadata_paths():
                await _send_json(send, 200, auth.metadata_document)
                return
            if path != self.config.path:
                raise _Refused(Rejection.NOT_FOUND_PATH)
            self._check_host_and_origin(scope, headers)
            raw_id = headers.get(_SESSION_HEADER)
            client = scope.get("client")
            call = _Call(
                headers,
                None if raw_id is None else raw_id.decode("latin-1"),
                (scope.get("server"), client),
                self._client_address(client, headers),
            )
            if auth is not None:
                call.principal = await self._authenticate(auth, headers)
            if method == "POST":
                await self._post(call, receive, send)
            elif method == "GET" and not self.config.stateless:
                await self._get(call, receive, send)
            elif method == "DELETE" and not self.config.stateless:
                await self._delete(call, send)
            else:
                raise _Refused(Rejection.METHOD_NOT_ALLOWED, allow=self._allow)
        except _Refused as refused:
            await self._send_rejection(send, refused)
        except _Disconnected:
            log.debug("client disconnected before its request was read")

    def _client_address(self, client: Any, headers: dict[bytes, bytes]) -> str | None:
        """Who sent the request, for the per-client quotas (see ``client_address_header``)."""
        if self._address_header is not None:
            forwarded = headers.get(self._address_header)
            if forwarded is None:
                return None
            return forwarded.rpartition(b",")[2].strip().decode("latin-1") or None
        return None if not client else str(client[0])

    async def _authenticate(self, auth: AuthConfig, headers: dict[bytes, bytes]) -> str:
        """Verify the bearer token (from the header only); return its principal."""
        token = bearer_token(headers.get(b"authorization"))
        if token is None:
            raise _Refused(Rejection.UNAUTHORIZED, www_authenticate=auth.challenge())
        try:
            grant = await auth.verifier.verify(token)
        except Exception:
            log.exception("token verifier raised")
            raise _Refused(Rejection.INTERNAL_ERROR) from None
        if grant is None:
            raise _Refused(
                Rejection.UNAUTHORIZED,
                message="Unauthorized: invalid or expired token",
                www_authenticate=auth.challenge(error="invalid_token"),
            )
        missing = [scope for scope in auth.required_scopes if scope not in grant.scopes]
        if missing:
            raise _Refused(
                Rejection.INSUFFICIENT_SCOPE,
                www_authenticate=auth.challenge(
                    error="insufficient_scope", scope=auth.required_scopes
                ),
            )
        return grant.principal

    @staticmethod
    async def _send_rejection(send: ASGISend, refused: _Refused) -> None:
        response = rejection_response(refused.rejection, **refused.details)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [*response.headers, _length(response.body)],
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    def _check_host_and_origin(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        server = scope.get("server")
        server_host = None if server is None else server[0]
        verdict = self._guard((server_host, headers.get(b"host"), headers.get(b"origin")))
        if verdict is not None:
            raise _Refused(verdict)

    def _host_and_origin_verdict(
        self, key: tuple[object, bytes | None, bytes | None]
    ) -> Rejection | None:
        """DNS-rebinding protection: which rejection (if any) a Host/Origin pair earns."""
        server_host, host, origin = key
        hosts, origins = self.config.allowed_hosts, self.config.allowed_origins
        loopback = server_host is not None and is_loopback_host(str(server_host))
        if hosts is None and loopback:
            hosts = self._loopback_hosts
        if origins is None and loopback:
            origins = self._loopback_origins
        if origins is not None and not origin_allowed(_text(origin), origins):
            return Rejection.FORBIDDEN_ORIGIN
        if hosts is not None and not host_allowed(_text(host), hosts):
            return Rejection.FORBIDDEN_HOST
        return None

    def _check_version(self, call: _Call) -> Revision:
        """The revision the request's ``MCP-Protocol-Version`` names, if served; else 400."""
        check = self._version(call.headers.get(b"mcp-protocol-version"))
        if check.revision is None or check.revision.era is not Era.HANDSHAKE:
            supported = {"supported": list(HANDSHAKE_VERSIONS), "requested": check.requested}
            raise _Refused(Rejection.UNSUPPORTED_PROTOCOL_VERSION, data=supported)
        return check.revision

    def _find_session(self, call: _Call) -> Session:
        """Look up and hold a session, or refuse with 400/404.

        A session presented by another principal than its creator's is "not found".
        """
        session_id = call.session_id
        if session_id is None:
            raise _Refused(Rejection.MISSING_SESSION_ID)
        if not is_valid_session_id(session_id):
            raise _Refused(Rejection.MALFORMED_SESSION_ID)
        session = self.manager.get(session_id)
        if session is None or session.principal != call.principal or not session.acquire():
            raise _Refused(Rejection.SESSION_NOT_FOUND)
        return session

    async def _read_body(self, call: _Call, receive: ASGIReceive) -> bytes:
        """Read the whole body, within ``max_body_bytes`` and ``body_timeout`` (then 413/408)."""
        limit = self.config.max_body_bytes
        declared = call.headers.get(b"content-length")
        if (
            declared is not None
            and declared.isdigit()
            and (len(declared) > 18 or int(declared) > limit)
        ):
            raise _Refused(Rejection.BODY_TOO_LARGE, close=True)
        with trio.move_on_after(self.config.body_timeout):
            return await self._receive_body(receive, limit)
        log.info("request body not received within %g s: closing", self.config.body_timeout)
        raise _Refused(Rejection.BODY_TIMEOUT, close=True)

    @staticmethod
    async def _receive_body(receive: ASGIReceive, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                raise _Disconnected
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refused(Rejection.BODY_TOO_LARGE, close=True)
            chunks.append(chunk)
            if not event.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- POST ---------------------------------------------------------------------------------

    async def _post(self, call: _Call, receive: ASGIReceive, send: ASGISend) -> None:
        accept = self._acceptable(call.headers.get(b"accept"))
        if not (accept.json or accept.sse):
            raise _Refused(Rejection.NOT_ACCEPTABLE)
        if not self._json_body(call.headers.get(b"content-type")):
            raise _Refused(Rejection.UNSUPPORTED_MEDIA_TYPE)
        header_revision = self._check_version(call)
        parsed = classify(await self._read_body(call, receive))
        if isinstance(parsed, Invalid):
            raise _Refused(
                Rejection.PARSE_ERROR if parsed.error.code == -32700 else Rejection.INVALID_MESSAGE,
                message=parsed.error.message,
            )
        session = await self._session_for_post(parsed, call, header_revision)
        try:
            use_sse = accept.sse and (not self.config.json_response or not accept.json)
            await self._dispatch(
                session, parsed, use_sse=use_sse, peer=call.peer, receive=receive, send=send
            )
        finally:
            session.release()

    async def _session_for_post(
        self, parsed: Message | Batch, call: _Call, header_revision: Revision
    ) -> Session:
        is_initialize = isinstance(parsed, Request) and parsed.method == "initialize"
        agreed = header_revision
        if is_initialize:  # the transport negotiates; the handler's answer carries it
            assert isinstance(parsed, Request)
            negotiated = revision(negotiate((parsed.params or {}).get("protocolVersion")))
            assert negotiated is not None
            agreed = negotiated
        try:
            if self.config.stateless:
                return self.manager.open_exchange(agreed)
            if call.session_id is None and is_initialize:
                return self.manager.open_session(agreed, call.principal, call.client_address)
        except SessionRefused as refused:
            raise _Refused(
                Rejection.SHUTTING_DOWN if refused.shutting_down else Rejection.TOO_MANY_SESSIONS,
                retry_after=self.config.retry_after,
            ) from None
        session = self._find_session(call)
        if is_initialize:
            session.release()
            raise _Refused(Rejection.ALREADY_INITIALIZED)
        return session

    async def _dispatch(
        self,
        session: Session,
        parsed: Message | Batch,
        *,
        use_sse: bool,
        peer: _Peer,
        receive: ASGIReceive,
        send: ASGISend,
    ) -> None:
        requests: list[Request]
        invalid: list[Invalid] = []
        if isinstance(parsed, Request):  # the common case, kept short
            if session.has_inbound(parsed.id):
                raise _Refused(Rejection.DUPLICATE_REQUEST_ID)
            requests = [parsed]
        elif isinstance(parsed, Batch):
            requests, invalid = self._take_batch(session, parsed)
        else:
            requests = []
            _deliver(session, parsed)
        extra = (
            [] if session.session_id is None else [(_SESSION_HEADER, session.session_id.encode())]
        )
        if not requests and not invalid:
            await send(
                {"type": "http.response.start", "status": 202, "headers": [*extra, _NO_BODY]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        expected = len(requests) + len(invalid)
        output: Output
        connection = None
        if use_sse:
            output = session.new_post_stream(expected)
            # Room for every owed response besides the usual queue: a batch's answers may all
            # be queued before the writer runs, and must not look like a client not reading.
            capacity = self.config.stream_queue_size + expected
            connection = Connection(capacity, peer, self.manager.reaper)
            session.connect(output, connection)
        else:
            output = JsonReply(expected, batch=isinstance(parsed, Batch))
        for bad in invalid:
            output.respond(
                dump_message(
                    ErrorResponse.model_construct(jsonrpc="2.0", id=bad.id, error=bad.error)
                )
            )
        for request in requests:
            session.start_request(request, output)
        self.manager.requests_in_flight += len(requests)
        try:
            if isinstance(output, SseStream):
                assert connection is not None
                await self._write_stream(
                    output, connection, _SSE_HEADERS + extra, receive, send, quick_answer=True
                )
            else:
                assert isinstance(output, JsonReply)
                body = await output.wait_body()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [*_JSON_HEADERS, *extra, _length(body)],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            self.manager.requests_in_flight -= len(requests)

    def _take_batch(self, session: Session, batch: Batch) -> tuple[list[Request], list[Invalid]]:
        """Check a 2025-03-26 batch, deliver its notifications and responses, return the rest."""
        if not session.revision.batches:
            raise _Refused(Rejection.BATCH_NOT_ALLOWED)
        if len(batch.items) > self.config.max_batch_size:
            raise _Refused(
                Rejection.BATCH_TOO_LARGE,
                message=f"Invalid Request: a batch of {len(batch.items)} messages exceeds the "
                f"limit of {self.config.max_batch_size}",
            )
        requests = [item for item in batch.items if isinstance(item, Request)]
        if any(request.method == "initialize" for request in requests):
            raise _Refused(Rejection.INVALID_MESSAGE, message="initialize must not be batched")
        seen: set[tuple[type, int | str]] = set()
        for request in requests:
            key = (type(request.id), request.id)
            if key in seen or session.has_inbound(request.id):
                raise _Refused(Rejection.DUPLICATE_REQUEST_ID)
            seen.add(key)
        for item in batch.items:
            if not isinstance(item, Request | Invalid):
                _deliver(session, item)
        return requests, [item for item in batch.items if isinstance(item, Invalid)]

    async def _write_stream(
        self,
        stream: SseStream | None,
        connection: Connection,
        headers: list[tuple[bytes, bytes]],
        receive: ASGIReceive,
        send: ASGISend,
        *,
        quick_answer: bool = False,
    ) -> None:
        self.manager.streams += 1
        try:
            await write_sse(
                send,
                receive,
                connection,
                headers,
                self.config.keepalive_interval,
                quick_answer=quick_answer,
            )
        finally:
            self.manager.streams -= 1
            if stream is not None and stream.connection is connection:
                stream.connection = None

    # -- GET and DELETE -----------------------------------------------------------------------

    async def _get(self, call: _Call, receive: ASGIReceive, send: ASGISend) -> None:
        if not self._acceptable(call.headers.get(b"accept")).sse:
            raise _Refused(Rejection.NOT_ACCEPTABLE)
        self._check_version(call)
        session = self._find_session(call)
        try:
            assert session.session_id is not None
            headers_out = [*_SSE_HEADERS, (_SESSION_HEADER, session.session_id.encode())]
            connection = Connection(self.config.stream_queue_size, call.peer, self.manager.reaper)
            last_event_id = call.header(b"last-event-id")
            if last_event_id is not None and session.store is not None:
                if parse_event_id(last_event_id) is None:
                    raise _Refused(Rejection.UNKNOWN_EVENT_ID)
                status, stream = session.resume(last_event_id, connection)
                if status is ReplayStatus.UNKNOWN:
                    raise _Refused(Rejection.UNKNOWN_EVENT_ID)
                if status is ReplayStatus.EVICTED:
                    raise _Refused(Rejection.EVENTS_EVICTED)
            elif session.open_standalone(connection):
                stream = session.standalone
            else:
                raise _Refused(Rejection.STREAM_CONFLICT)
            await self._write_stream(stream, connection, headers_out, receive, send)
        finally:
            session.release()

    async def _delete(self, call: _Call, send: ASGISend) -> None:
        self._check_version(call)
        session = self._find_session(call)
        session.release()
        self.manager.terminate(session, CloseReason.DELETED)
        await send({"type": "http.response.start", "status": 200, "headers": [_NO_BODY]})
        await send({"type": "http.response.body", "body": b""})


def _merge_repeated(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The headers of a request that repeats a name: list headers joined, singletons refused."""
    merged: dict[bytes, bytes] = {}
    for name, value in raw:
        earlier = merged.get(name)
        if earlier is None:
            merged[name] = value
        elif name in _SINGLE_HEADERS:
            raise _Refused(
                Rejection.REPEATED_HEADER,
                message=f"Bad Request: the {name.decode('latin-1')} header is repeated",
            )
        else:  # a list header is joined; for any other, the last line wins
            merged[name] = earlier + b", " + value if name in _LIST_HEADERS else value
    return merged


def _deliver(session: Session, message: Notification | Response | ErrorResponse) -> None:
    if isinstance(message, Notification):
        session.receive_notification(message)
    else:
        session.receive_response(message)


def _length(body: bytes) -> tuple[bytes, bytes]:
    """A ``content-length`` header: a known body is sent as is, never chunked."""
    return (b"content-length", str(len(body)).encode())


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def _send_json(send: ASGISend, status: int, body: bytes) -> None:
    headers = [*_JSON_HEADERS, _length(body)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
