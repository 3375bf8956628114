"""The handshake era on the wire (2025 revisions): POST, GET and DELETE of sessions.

A POST carries one message or, on 2025-03-26, a batch. ``initialize`` without a session id
opens a session; every other POST names its session in ``Mcp-Session-Id`` and holds it while
in flight (so its idle deadline cannot pass meanwhile). Requests are answered on an SSE stream
(resumable with an event store) or, in JSON response mode, with one JSON body; notifications
and responses get 202. GET opens (or resumes) a stream; DELETE ends the session. In stateless
mode every POST is an exchange of its own and GET and DELETE are not allowed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .._core.events import ReplayStatus, parse_event_id
from .._core.headers import is_valid_session_id
from .._core.jsonrpc import (
    Batch,
    ErrorResponse,
    Invalid,
    Message,
    Notification,
    Request,
    Response,
    dump_message,
    make_error,
)
from .._core.rejections import Rejection
from .._core.versions import Revision, negotiate, revision
from .connection import Connection
from .http_request import (
    SESSION_HEADER,
    SSE_HEADERS,
    Refused,
    send_empty,
    send_json,
)
from .manager import SessionRefused
from .session import CloseReason, Session
from .sinks import JsonReply, Output, SseStream
from .writer import serve_stream

if TYPE_CHECKING:
    from .._core.headers import Acceptable
    from .asgi_types import ASGIReceive, ASGISend
    from .config import ServerConfig
    from .guards import Guards
    from .http_request import HttpRequest
    from .manager import SessionManager
    from .traffic import Traffic

__all__ = ["HandshakeEra"]

log = logging.getLogger("trio_mcp_http.asgi")


class HandshakeEra:
    """Serves the requests of the handshake-era revisions.

    Args:
        config: The server options.
        manager: Where sessions live.
        guards: The header checks (memoized parses).
        traffic: The counts of requests and streams in flight.
    """

    def __init__(
        self, config: ServerConfig, manager: SessionManager, guards: Guards, traffic: Traffic
    ) -> None:
        self.config = config
        self.manager = manager
        self.guards = guards
        self.traffic = traffic

    def revision_of(self, request: HttpRequest) -> Revision:
        """The revision ``MCP-Protocol-Version`` names (2025-03-26 if absent), if served.

        Raises:
            Refused: 400 for an unknown or unserved version, with the supported ones.
        """
        check = self.guards.version(request.headers.get(b"mcp-protocol-version"))
        found = check.revision
        if found is None or found.version not in self.config.handshake_versions:
            served = self.config.served_versions
            supported = {"supported": list(served), "requested": check.requested}
            raise Refused(Rejection.UNSUPPORTED_PROTOCOL_VERSION, data=supported)
        return found

    async def _find_session(self, request: HttpRequest) -> Session:
        """Look up (or restore from the session store) and hold a session, or refuse: 400/404.

        A session presented by another principal than its creator's is "not found".
        """
        session_id = request.session_id
        if session_id is None:
            raise Refused(Rejection.MISSING_SESSION_ID)
        if not is_valid_session_id(session_id):
            raise Refused(Rejection.MALFORMED_SESSION_ID)
        session = self.manager._find(session_id)
        if session is None:
            restored = await self.manager._restore(session_id, request.principal)
            if restored is None:
                raise Refused(Rejection.SESSION_NOT_FOUND)
            return restored
        if session.principal != request.principal or not session.acquire():
            raise Refused(Rejection.SESSION_NOT_FOUND)
        return session

    # -- POST ---------------------------------------------------------------------------------

    async def post(
        self,
        request: HttpRequest,
        parsed: Message | Batch,
        accept: Acceptable,
        receive: ASGIReceive,
        send: ASGISend,
    ) -> None:
        """Serve one POST: a message or a batch, answered with 202, JSON or SSE."""
        is_initialize = isinstance(parsed, Request) and parsed.method == "initialize"
        if is_initialize and b"mcp-protocol-version" not in request.headers:
            header_revision = None  # clients send no version header with initialize
        else:
            header_revision = self.revision_of(request)
        session = await self._session_for_post(parsed, request, header_revision)
        try:
            use_sse = accept.sse and (not self.config.json_response or not accept.json)
            await self._dispatch(session, parsed, request, receive, send, use_sse=use_sse)
        finally:
            session.release()

    async def _session_for_post(
        self, parsed: Message | Batch, request: HttpRequest, header_revision: Revision | None
    ) -> Session:
        is_initialize = isinstance(parsed, Request) and parsed.method == "initialize"
        if is_initialize:  # the transport negotiates; the handler's answer carries it
            assert isinstance(parsed, Request)
            requested = (parsed.params or {}).get("protocolVersion")
            agreed = revision(negotiate(requested, self.config.handshake_versions))
        else:
            agreed = header_revision
        assert agreed is not None
        try:
            if self.config.stateless:
                return self.manager._start_exchange(agreed)
            if request.session_id is None and is_initialize:
                return self.manager._start_session(
                    agreed, request.principal, request.client_address
                )
        except SessionRefused as refused:
            raise Refused(
                Rejection.SHUTTING_DOWN if refused.shutting_down else Rejection.TOO_MANY_SESSIONS,
                retry_after=self.config.retry_after,
            ) from None
        session = await self._find_session(request)
        if is_initialize:
            session.release()
            raise Refused(Rejection.ALREADY_INITIALIZED)
        return session

    async def _dispatch(
        self,
        session: Session,
        parsed: Message | Batch,
        request: HttpRequest,
        receive: ASGIReceive,
        send: ASGISend,
        *,
        use_sse: bool,
    ) -> None:
        requests: list[Request]
        invalid: list[Invalid] = []
        if isinstance(parsed, Request):  # the common case, kept short
            if session.has_inbound(parsed.id):
                raise Refused(Rejection.DUPLICATE_REQUEST_ID)
            requests = [parsed]
        elif isinstance(parsed, Batch):
            requests, invalid = self._take_batch(session, parsed)
        else:
            requests = []
            _deliver(session, parsed)
        extra = (
            () if session.session_id is None else ((SESSION_HEADER, session.session_id.encode()),)
        )
        if not requests and not invalid:
            await send_empty(send, 202, extra)
            return
        expected = len(requests) + len(invalid)
        output: Output
        connection = None
        if use_sse:
            output = session.new_post_stream(expected)
            # Room for every owed response besides the usual queue: a batch's answers may all
            # be queued before the writer runs, and must not look like a client not reading.
            capacity = self.config.stream_queue_size + expected
            connection = Connection(capacity, request.peer, self.manager._reaper)
            session.connect(output, connection)
        else:
            output = JsonReply(expected, batch=isinstance(parsed, Batch))
        for bad in invalid:
            output.respond(dump_message(make_error(bad.id, bad.error.code, bad.error.message)))
        for each in requests:
            session.start_request(each, output)
        if isinstance(output, SseStream):
            assert connection is not None
            await self.write_stream(output, connection, (*SSE_HEADERS, *extra), receive, send)
        else:
            assert isinstance(output, JsonReply)
            await send_json(send, 200, await output.wait_body(), extra)

    def _take_batch(self, session: Session, batch: Batch) -> tuple[list[Request], list[Invalid]]:
        """Check a 2025-03-26 batch, deliver its notifications and responses, return the rest."""
        if not session.revision.batches:
            raise Refused(Rejection.BATCH_NOT_ALLOWED)
        if len(batch.items) > self.config.max_batch_size:
            raise Refused(
                Rejection.BATCH_TOO_LARGE,
                message=f"Invalid Request: a batch of {len(batch.items)} messages exceeds the "
                f"limit of {self.config.max_batch_size}",
            )
        requests = [item for item in batch.items if isinstance(item, Request)]
        if any(each.method == "initialize" for each in requests):
            raise Refused(Rejection.INVALID_MESSAGE, message="initialize must not be batched")
        seen: set[tuple[type, int | str]] = set()
        for each in requests:
            key = (type(each.id), each.id)
            if key in seen or session.has_inbound(each.id):
                raise Refused(Rejection.DUPLICATE_REQUEST_ID)
            seen.add(key)
        for item in batch.items:
            if not isinstance(item, Request | Invalid):
                _deliver(session, item)
        return requests, [item for item in batch.items if isinstance(item, Invalid)]

    async def write_stream(
        self,
        stream: SseStream | None,
        connection: Connection,
        headers: tuple[tuple[bytes, bytes], ...],
        receive: ASGIReceive,
        send: ASGISend,
        *,
        quick_answer: bool = True,
    ) -> None:
        """Write one SSE response of a session's stream."""
        await serve_stream(
            self.traffic,
            connection,
            headers,
            receive,
            send,
            keepalives=self.manager.keepalives,
            stream=stream,
            quick_answer=quick_answer,
        )

    # -- GET and DELETE -----------------------------------------------------------------------

    async def get(self, request: HttpRequest, receive: ASGIReceive, send: ASGISend) -> None:
        """Open the standalone stream, or resume a stream after ``Last-Event-ID``."""
        if not self.guards.accept(request.headers.get(b"accept")).sse:
            raise Refused(Rejection.NOT_ACCEPTABLE)
        self.revision_of(request)
        session = await self._find_session(request)
        try:
            assert session.session_id is not None
            headers = (*SSE_HEADERS, (SESSION_HEADER, session.session_id.encode()))
            connection = Connection(
                self.config.stream_queue_size, request.peer, self.manager._reaper
            )
            last_event_id = request.header(b"last-event-id")
            if last_event_id is not None and session.store is not None:
                if parse_event_id(last_event_id) is None:
                    raise Refused(Rejection.UNKNOWN_EVENT_ID)
                status, stream = session.resume(last_event_id, connection)
                if status is ReplayStatus.UNKNOWN:
                    raise Refused(Rejection.UNKNOWN_EVENT_ID)
                if status is ReplayStatus.EVICTED:
                    raise Refused(Rejection.EVENTS_EVICTED)
            elif session.open_standalone(connection):
                stream = session.standalone
            else:
                raise Refused(Rejection.STREAM_CONFLICT)
            await self.write_stream(stream, connection, headers, receive, send, quick_answer=False)
        finally:
            session.release()

    async def delete(self, request: HttpRequest, send: ASGISend) -> None:
        """End the session now; later requests for it get 404."""
        self.revision_of(request)
        session = await self._find_session(request)
        session.release()
        self.manager._terminate(session, CloseReason.DELETED)
        await send_empty(send, 200)


def _deliver(session: Session, message: Notification | Response | ErrorResponse) -> None:
    if isinstance(message, Notification):
        session.receive_notification(message)
    else:
        session.receive_response(message)
