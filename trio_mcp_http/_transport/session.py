"""One MCP session: a task whose idle deadline is a trio cancel scope.

Theory of operation
-------------------
A session runs as a task in the manager's nursery. Its body is a cancel scope (the *idle
scope*); the session's handlers run as tasks of their own, each in a cancel scope that the
session cancels when it ends (a session costs one parked task and no nursery while idle).
Every HTTP request or stream of the session that is in flight holds the session
(:meth:`Session.acquire` / :meth:`Session.release`):

* while anything holds it, the idle scope's deadline is infinite, so a tool call or a GET
  stream longer than the idle timeout is never cut;
* when the last hold is released, the deadline becomes ``now + idle_timeout``.

When the deadline passes, trio cancels the scope: the session task runs its cleanup, which
cancels every handler of the session, and deregisters. DELETE, eviction and shutdown cancel the
same scope. From the moment the scope is cancelled, :meth:`Session.acquire` refuses, so a
request can never land in a dying session: it gets 404 like any unknown id. A request that
arrives exactly at the deadline instant is refused too, whichever task trio runs first.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from .._application import BackChannelUnavailable, SessionHandler
from .._core.events import ReplayStatus
from .._core.jsonrpc import (
    INTERNAL_ERROR,
    REQUEST_CANCELLED,
    REQUEST_TIMEOUT,
    ErrorObject,
    ErrorResponse,
    JsonRpcError,
    Message,
    Notification,
    NotJson,
    Request,
    RequestId,
    Response,
    as_request_id,
    dump_message,
)
from .._core.sse import encode_message
from .sinks import Output, SseStream

if TYPE_CHECKING:
    from .._application import Application
    from .._core.events import EventStore
    from .._core.versions import Revision
    from .connection import Connection

__all__ = ["CloseReason", "Session"]

log = logging.getLogger("trio_mcp_http.session")


class CloseReason(enum.Enum):
    """Why a session ended."""

    DELETED = "deleted"
    IDLE = "idle"
    EVICTED = "evicted"
    SHUTDOWN = "shutdown"
    ERROR = "error"
    COMPLETED = "completed"  # a stateless exchange whose response was sent


def _error(request_id: RequestId | None, code: int, message: str) -> ErrorResponse:
    return ErrorResponse.model_construct(
        jsonrpc="2.0", id=request_id, error=ErrorObject.model_construct(code=code, message=message)
    )


def _notification(method: str, params: dict[str, Any] | None) -> bytes:
    """Serialise a notification (``NotJson`` reaches the caller that built the params)."""
    return dump_message(Notification.model_construct(jsonrpc="2.0", method=method, params=params))


def _encode_response(method: str, response: Message) -> bytes:
    """Serialise a handler's response; one that is not JSON becomes an internal error."""
    try:
        return dump_message(response)
    except NotJson as exc:
        log.error("the result of %r is not JSON: %s", method, exc)
        assert isinstance(response, Response | ErrorResponse)
        message = "Internal error: the result is not valid JSON"
        return dump_message(_error(response.id, INTERNAL_ERROR, message))


class _Pending:
    """A server-to-client request waiting for the client's response."""

    __slots__ = ("closed", "done", "error", "result")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: dict[str, Any] | None = None
        self.error: ErrorObject | None = None
        self.closed = False  # the session ended first


class InboundRequest:
    """A client request being handled; it is the handler's :class:`RequestContext`."""

    __slots__ = ("by_client", "output", "request", "scope", "session")

    def __init__(self, session: Session, request: Request, output: Output) -> None:
        self.session = session
        self.request = request
        self.output = output
        self.scope = trio.CancelScope()
        self.by_client = False  # cancelled by the client's notifications/cancelled

    @property
    def request_id(self) -> RequestId:
        """The id of the request, with its JSON type."""
        return self.request.id

    def close_sse_stream(self) -> None:
        """Close this request's SSE connection without ending its stream (SSE polling)."""
        if isinstance(self.output, SseStream):
            self.output.close_connection(self.session.retry_ms)

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification related to this request on its stream."""
        await trio.lowlevel.checkpoint()
        self.output.deliver(_notification(method, params))

    async def send_request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a related request on this request's stream and await the client's result."""
        return await self.session._request_client(self.output, method, params)


class Session:
    """A live session. The manager creates it; the ASGI layer drives it.

    Attributes:
        session_id: The ``Mcp-Session-Id`` (``None`` for a stateless exchange).
        revision: The protocol revision: negotiated by ``initialize`` (the transport answers
            it; the handler's ``protocolVersion`` is overridden), or assumed from the header.
        close_reason: Why the session ended, once it has.
    """

    __slots__ = (
        "_holds",
        "_inbound",
        "_next_request_id",
        "_next_stream_id",
        "_notifying",
        "_nursery",
        "_on_closed",
        "_on_idle",
        "_on_initialized",
        "_pending",
        "_post_streams",
        "_session_idle_timeout",
        "client_request_timeout",
        "close_reason",
        "handler",
        "idle_timeout",
        "initialized",
        "principal",
        "retry_ms",
        "revision",
        "scope",
        "session_id",
        "standalone",
        "stateless",
        "store",
    )

    def __init__(
        self,
        application: Application,
        session_id: str | None,
        revision: Revision,
        *,
        idle_timeout: float | None,
        on_idle: Callable[[Session, bool], None],
        on_closed: Callable[[Session], None],
        work: trio.Nursery,
        store: EventStore | None = None,
        retry_ms: int | None = None,
        initialize_timeout: float | None = None,
        on_initialized: Callable[[Session], None] | None = None,
        client_request_timeout: float = math.inf,
    ) -> None:
        self.session_id = session_id
        self.revision = revision
        self.stateless = session_id is None
        # Until ``notifications/initialized`` arrives, the (shorter) initialize timeout rules.
        self._session_idle_timeout = idle_timeout
        self.initialized = initialize_timeout is None
        if not self.initialized:
            assert initialize_timeout is not None
            idle_timeout = (
                initialize_timeout
                if idle_timeout is None
                else min(idle_timeout, initialize_timeout)
            )
        self.idle_timeout = idle_timeout
        self._on_initialized = on_initialized
        self.principal: str | None = None
        self.close_reason: CloseReason | None = None
        self.standalone: SseStream | None = None
        self.scope = trio.CancelScope()
        self._holds = 0
        self._nursery = work  # where handler tasks run (the manager's)
        # Created on first use: an idle session carries no empty containers.
        self._notifying: dict[trio.CancelScope, None] | None = None
        self._inbound: dict[RequestId, InboundRequest] | None = None
        self._pending: dict[RequestId, _Pending] | None = None
        self._next_request_id = 1
        self._next_stream_id = 1
        self._post_streams: dict[str, SseStream] | None = None
        self.store = store if session_id is not None else None
        self.retry_ms = retry_ms
        self.client_request_timeout = client_request_timeout
        self._on_idle = on_idle
        self._on_closed = on_closed
        self.handler: SessionHandler | None = None
        self.handler = application.open_session(self)

    @property
    def protocol_version(self) -> str:
        """The version of the session's protocol revision."""
        return self.revision.version

    # -- lifetime -------------------------------------------------------------------------

    async def run(self) -> None:
        """The session task: park until the idle scope is cancelled, then clean up.

        The session accepts work as soon as it is created (handlers run in the manager's
        nursery), so this task is started without waiting for it; a session ended before its
        task first runs enters an already-cancelled scope and cleans up at once.
        """
        try:
            with self.scope:
                await trio.sleep_forever()
        finally:
            self._cleanup()

    @property
    def closing(self) -> bool:
        """Whether the session has begun to end (then it accepts no more requests)."""
        return self.scope.cancel_called

    @property
    def busy(self) -> bool:
        """Whether any request or stream of the session is in flight."""
        return self._holds > 0

    def acquire(self) -> bool:
        """Hold the session for one request or stream; ``False`` if it is ending."""
        if self.scope.cancel_called:
            return False
        if self._holds == 0:
            if trio.current_time() >= self.scope.deadline:
                # The deadline instant itself counts as expired, whichever task runs first.
                self.terminate(CloseReason.IDLE)
                return False
            self.scope.deadline = math.inf
            self._on_idle(self, False)
        self._holds += 1
        return True

    def release(self) -> None:
        """Drop one hold; the last one starts the idle deadline."""
        self._holds -= 1
        if self._holds == 0:
            if self.idle_timeout is not None and not self.scope.cancel_called:
                self.scope.deadline = trio.current_time() + self.idle_timeout
            self._on_idle(self, True)

    def terminate(self, reason: CloseReason) -> None:
        """Begin ending the session now: cancel its work; its task cleans up and deregisters."""
        if self.close_reason is None:
            self.close_reason = reason
        self.scope.cancel()

    def _cleanup(self) -> None:
        for inbound in (self._inbound or {}).values():
            inbound.scope.cancel()
        for scope in self._notifying or ():
            scope.cancel()
        if self.close_reason is None:
            expired = trio.current_time() >= self.scope.deadline
            self.close_reason = CloseReason.IDLE if expired else CloseReason.ERROR
        if self.standalone is not None:
            self.standalone.close()
            self.standalone = None
        if self.store is not None:
            assert self.session_id is not None
            try:
                self.store.close_session(self.session_id)
            except Exception:
                log.exception("event store failed to free session %s", self.session_id[:6])
        for pending in (self._pending or {}).values():
            pending.closed = True
            pending.done.set()
        self._pending = None
        self.handler = None
        self._on_closed(self)

    # -- inbound messages -----------------------------------------------------------------

    def has_inbound(self, request_id: RequestId) -> bool:
        """Whether a request with this exact id is in flight."""
        return self._inbound is not None and request_id in self._inbound

    def start_request(self, request: Request, output: Output) -> None:
        """Start handling a request in a task of its own; its answer goes to ``output``.

        The caller has checked :meth:`has_inbound` (duplicate ids are refused).
        """
        inbound = InboundRequest(self, request, output)
        if self.closing:
            inbound.scope.cancel()
        if self._inbound is None:
            self._inbound = {}
        self._inbound[request.id] = inbound
        self.acquire_unchecked()
        self._nursery.start_soon(self._run_request, inbound)

    def acquire_unchecked(self) -> None:
        """Add a hold to a session already held by the caller (so it cannot be ending)."""
        self._holds += 1

    async def _run_request(self, inbound: InboundRequest) -> None:
        request = inbound.request
        response: Message | None = None
        payload = b""
        try:
            with inbound.scope:
                response = await self._call_handler(inbound)
                payload = _encode_response(request.method, response)
        finally:
            assert self._inbound is not None
            del self._inbound[request.id]
            if not self._inbound:
                self._inbound = None  # an emptied dict keeps its table: drop it
            if response is None:
                why = "cancelled by the client" if inbound.by_client else "session closed"
                cancelled = _error(request.id, REQUEST_CANCELLED, f"Request cancelled: {why}")
                if inbound.by_client:  # spec: no response to a cancelled request
                    inbound.output.skip(dump_message(cancelled))
                else:
                    inbound.output.respond(dump_message(cancelled))
            else:
                inbound.output.respond(payload)
                if request.method == "initialize" and isinstance(response, ErrorResponse):
                    self.terminate(CloseReason.ERROR)  # a failed handshake leaves no session
            self.release()

    async def _call_handler(self, inbound: InboundRequest) -> Message:
        request = inbound.request
        assert self.handler is not None
        try:
            result: object = await self.handler.handle_request(request, inbound)
        except JsonRpcError as exc:
            return ErrorResponse.model_construct(jsonrpc="2.0", id=request.id, error=exc.to_error())
        except BackChannelUnavailable as exc:
            return _error(request.id, INTERNAL_ERROR, f"Internal error: {exc}")
        except Exception:
            log.exception("handler for %r raised", request.method)
            return _error(request.id, INTERNAL_ERROR, "Internal error")
        if not isinstance(result, dict):
            log.error("handler for %r returned %r, not a dict", request.method, type(result))
            return _error(request.id, INTERNAL_ERROR, "Internal error: handler returned no object")
        if request.method == "initialize":  # the version is the transport's to negotiate
            result = {**result, "protocolVersion": self.revision.version}
        return Response.model_construct(jsonrpc="2.0", id=request.id, result=result)

    def receive_notification(self, notification: Notification) -> None:
        """Take a client notification: cancellations act at once, the handler runs in a task."""
        if notification.method == "notifications/initialized" and not self.initialized:
            self.initialized = True
            self.idle_timeout = self._session_idle_timeout
            if self._on_initialized is not None:
                self._on_initialized(self)
        if notification.method == "notifications/cancelled":
            self._cancel_inbound((notification.params or {}).get("requestId"))
        self.acquire_unchecked()
        self._nursery.start_soon(self._run_notification, notification)

    def _cancel_inbound(self, raw_id: object) -> None:
        """Cancel the handler of the request a client's ``notifications/cancelled`` names.

        The id is compared with its JSON type (``true`` or ``1.0`` never names the request
        ``1``); an id that is not a valid request id is ignored, as the spec lets the receiver.
        """
        request_id = as_request_id(raw_id)
        if request_id is None:
            log.info("notifications/cancelled with an invalid requestId %.40r ignored", raw_id)
            return
        target = (self._inbound or {}).get(request_id)
        if target is not None and target.request.method != "initialize":
            target.by_client = True
            target.scope.cancel()

    async def _run_notification(self, notification: Notification) -> None:
        scope = trio.CancelScope()
        if self.closing:
            scope.cancel()
        if self._notifying is None:
            self._notifying = {}
        self._notifying[scope] = None
        try:
            with scope:
                if self.handler is not None:
                    await self.handler.handle_notification(notification, self)
        except Exception:
            log.exception("notification handler for %r raised", notification.method)
        finally:
            if self._notifying is not None:
                self._notifying.pop(scope, None)
                if not self._notifying:
                    self._notifying = None
            self.release()

    def receive_response(self, message: Response | ErrorResponse) -> None:
        """Deliver the client's answer to whoever awaits that server-to-client request."""
        pending = None
        if self._pending is not None and message.id is not None:
            pending = self._pending.get(message.id)
        if pending is None:
            log.debug("response for unknown server request id %r ignored", message.id)
            return
        if isinstance(message, Response):
            pending.result = message.result
        else:
            pending.error = message.error
        pending.done.set()

    # -- outbound messages (the SessionContext the handler sees) ----------------------------

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send an unrelated notification on the standalone stream (dropped if none is open)."""
        await trio.lowlevel.checkpoint()
        stream = self.standalone
        message = _notification(method, params)
        if stream is None or not stream.deliver(message):
            log.debug("no standalone stream: dropping %s", method)

    async def send_request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send an unrelated request on the standalone stream and await the client's result."""
        return await self._request_client(self.standalone, method, params)

    async def _request_client(
        self, output: Output | None, method: str, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        await trio.lowlevel.checkpoint()
        if self.stateless:
            raise BackChannelUnavailable("stateless mode: the client cannot answer requests")
        if output is not None and not output.streaming:
            raise BackChannelUnavailable(f"JSON response mode: no stream to send {method!r} on")
        if output is None or not output.open or self.closing:
            raise BackChannelUnavailable(f"no open stream to send {method!r} on")
        request_id = self._next_request_id
        request = dump_message(
            Request.model_construct(jsonrpc="2.0", id=request_id, method=method, params=params)
        )
        self._next_request_id += 1
        if self._pending is None:
            self._pending = {}
        pending = self._pending[request_id] = _Pending()
        try:
            if not output.deliver(request):
                raise BackChannelUnavailable(f"the stream closed before {method!r} was sent")
            with trio.move_on_after(self.client_request_timeout) as waiting:
                await pending.done.wait()
            if waiting.cancelled_caught:
                self._cancel_client_request(output, request_id, "timed out")
                raise JsonRpcError(
                    REQUEST_TIMEOUT,
                    f"no answer to {method!r} within {self.client_request_timeout:g} s",
                )
        except trio.Cancelled:
            self._cancel_client_request(output, request_id, "cancelled by the server")
            raise
        finally:
            if self._pending is not None:
                self._pending.pop(request_id, None)
                if not self._pending:
                    self._pending = None
        if pending.closed:
            raise BackChannelUnavailable(
                f"the session closed before the client answered {method!r}"
            )
        if pending.error is not None:
            raise JsonRpcError(pending.error.code, pending.error.message, pending.error.data)
        assert pending.result is not None
        return pending.result

    @staticmethod
    def _cancel_client_request(output: Output, request_id: int, reason: str) -> None:
        params = {"requestId": request_id, "reason": reason}
        output.deliver(_notification("notifications/cancelled", params))

    # -- SSE streams ----------------------------------------------------------------------

    @property
    def priming(self) -> bool:
        """Whether SSE connections start with a priming event (2025-11-25+, with a store)."""
        return self.store is not None and self.revision.priming

    def new_post_stream(self, expected: int) -> SseStream:
        """Create the logical stream of a POST that owes ``expected`` responses."""
        stream_id = f"p{self._next_stream_id}"
        self._next_stream_id += 1
        stream = SseStream(expected, stream_id, self.session_id, self.store, self._post_finished)
        if self.store is not None:
            if self._post_streams is None:
                self._post_streams = {}
            self._post_streams[stream_id] = stream
        return stream

    def _post_finished(self, stream: SseStream) -> None:
        if self._post_streams is not None:
            self._post_streams.pop(stream.stream_id, None)

    def connect(self, stream: SseStream, connection: Connection) -> None:
        """Attach a new connection to a stream, priming it when the revision asks for it."""
        stream.attach(connection, stream.prime(self.retry_ms) if self.priming else b"")

    def open_standalone(self, connection: Connection) -> bool:
        """Attach a fresh GET connection as the standalone stream; ``False`` if one is open."""
        stream = self.standalone
        if stream is not None and stream.connection is not None and stream.connection.open:
            return False
        if stream is None:
            stream = self.standalone = SseStream(0, "g", self.session_id, self.store)
        self.connect(stream, connection)
        return True

    def close_standalone_stream(self) -> None:
        """Close the standalone connection without ending the stream (SSE polling)."""
        if self.standalone is not None:
            self.standalone.close_connection(self.retry_ms)

    def resume(
        self, last_event_id: str, connection: Connection
    ) -> tuple[ReplayStatus, SseStream | None]:
        """Attach ``connection`` to the stream of ``last_event_id``, missed events first.

        Reading the replay and attaching the connection happen in one step (no checkpoint),
        so a message produced during the hand-off is neither lost nor sent twice.
        """
        assert self.store is not None
        assert self.session_id is not None
        replay = self.store.replay(self.session_id, last_event_id)
        if replay.status is not ReplayStatus.OK:
            return replay.status, None
        preamble = b"".join(
            encode_message(payload, event_id) for event_id, payload in replay.events
        )
        if replay.stream_id == "g":
            stream = self.standalone
            if stream is None:
                stream = self.standalone = SseStream(0, "g", self.session_id, self.store)
        else:
            stream = (self._post_streams or {}).get(replay.stream_id or "")
        if stream is None:  # the stream already ended: replay its tail, then end
            if preamble:
                connection.push(preamble)
            connection.close()
        else:
            stream.attach(connection, preamble)
        return ReplayStatus.OK, stream
