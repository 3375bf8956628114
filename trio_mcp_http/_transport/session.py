"""One MCP session: a task whose idle deadline is a trio cancel scope.

Theory of operation
-------------------
A session runs as a task in the manager's nursery. Its body is a cancel scope (the *idle
scope*). Every HTTP request or stream of the session that is in flight holds the session
(:meth:`Session.acquire` / :meth:`Session.release`):

* while anything holds it, the idle scope's deadline is infinite, so a tool call or a GET
  stream longer than the idle timeout is never cut;
* when the last hold is released, the deadline becomes ``now + idle_timeout``.

When the deadline passes, trio cancels the scope and the session task cleans up and
deregisters. DELETE, eviction and shutdown cancel the same scope. From the moment the scope is
cancelled, :meth:`Session.acquire` refuses, so a request can never land in a dying session: it
gets 404 like any unknown id. A request that arrives exactly at the deadline instant is refused
too, whichever task trio runs first.

The session's work (request handlers, notification handlers) runs in tasks of the manager's
nursery, not inside the idle scope, so an idle session costs one parked task and no nursery.
**Rule:** every task that works for a session is started with :meth:`Session.spawn`, which
registers its cancel scope with the session and holds the session while it runs; the cleanup
cancels every registered scope, so no task of a session outlives it
(``tests/transport/test_session_tasks.py`` checks both).

A session without an id is a stateless *exchange*: one POST served in isolation, which ends,
freeing everything, as soon as nothing of it is in flight. An exchange has no task of its own
(it never idles, so it needs no idle scope to wait in): ending it cancels its work at once,
and the release of its last hold cleans up.
"""

from __future__ import annotations

import enum
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import trio

from .._application import (
    BackChannelUnavailable,
    SessionHandler,
    handler_snapshot,
    restore_handler,
)
from .._core.events import ReplayStatus
from .._core.jsonrpc import as_request_id
from .._core.sse import encode_message
from .._pacing import paced_checkpoint
from .client_requests import ClientRequests, notification_bytes
from .inbound import InboundRequest, run_request
from .sinks import SseStream

if TYPE_CHECKING:
    from .._application import Application
    from .._core.jsonrpc import ErrorResponse, Notification, Request, RequestId, Response
    from .._core.versions import Revision
    from .config import ServerConfig
    from .connection import Connection
    from .sinks import Output

__all__ = ["CloseReason", "Session", "SessionOwner"]

log = logging.getLogger("trio_mcp_http.session")


class CloseReason(enum.Enum):
    """Why a session ended."""

    DELETED = "deleted"
    IDLE = "idle"
    EVICTED = "evicted"
    SHUTDOWN = "shutdown"
    ERROR = "error"
    COMPLETED = "completed"  # a stateless exchange whose response was sent
    CANCELLED = "cancelled"  # an exchange whose client closed the response (per-request era)


class SessionOwner(Protocol):
    """What a session reports to (the session manager)."""

    config: ServerConfig
    draining: trio.Event

    def note_idle(self, session: Session, idle: bool) -> None:
        """The session became idle (nothing in flight), or busy again."""

    def note_initialized(self, session: Session) -> None:
        """The client completed the handshake."""

    def note_requests(self, delta: int) -> None:
        """``delta`` more (or fewer) client requests are being handled."""

    def note_answered(self, session: Session) -> None:
        """A request of the session was handled (its handler's state may have changed)."""

    def note_closed(self, session: Session) -> None:
        """The session ended and cleaned up."""


class Session:
    """A live session (or stateless exchange). The manager creates it; the endpoint drives it.

    Attributes:
        session_id: The ``Mcp-Session-Id`` (``None`` for a stateless exchange).
        revision: The protocol revision: negotiated by ``initialize`` (the transport answers
            it; the handler's ``protocolVersion`` is overridden), or assumed from the header.
        initialized: The client completed the handshake (always true for an exchange).
        principal: Who opened it (authorization); it is "not found" for anyone else.
        store: The event store of its streams (``None``: not resumable).
        standalone: The standalone (GET) stream, once opened.
        close_reason: Why the session ended, once it has.
    """

    __slots__ = (
        "_client_requests",
        "_ended",
        "_epoch",
        "_holds",
        "_inbound",
        "_next_stream_id",
        "_nursery",
        "_owner",
        "_post_streams",
        "_sends",
        "_session_idle_timeout",
        "_tasks",
        "close_reason",
        "handler",
        "idle_timeout",
        "initialized",
        "principal",
        "revision",
        "scope",
        "session_id",
        "standalone",
        "store",
    )

    def __init__(
        self,
        application: Application,
        session_id: str | None,
        revision: Revision,
        *,
        owner: SessionOwner,
        work: trio.Nursery,
        handshake: bool = True,
    ) -> None:
        config = owner.config
        self.session_id = session_id
        self.revision = revision
        self._owner = owner
        self._nursery = work  # where the session's tasks run (the manager's)
        # Until ``notifications/initialized`` arrives, the (shorter) initialize timeout rules.
        idle_timeout = None if session_id is None else config.idle_timeout
        self._session_idle_timeout = idle_timeout
        self.initialized = session_id is None or not handshake
        if not self.initialized:
            limit = config.initialize_timeout
            idle_timeout = limit if idle_timeout is None else min(idle_timeout, limit)
        self.idle_timeout = idle_timeout
        self.principal: str | None = None
        self.close_reason: CloseReason | None = None
        self.standalone: SseStream | None = None
        self.scope = trio.CancelScope()
        self._holds = 0
        self._ended = False
        # Created on first use: an idle session carries no empty containers.
        self._tasks: dict[trio.CancelScope, None] | None = None
        self._inbound: dict[RequestId, InboundRequest] | None = None
        self._client_requests: ClientRequests | None = None
        self._post_streams: dict[str, SseStream] | None = None
        self._next_stream_id = 1
        self._sends = 0  # notifications since the last schedule point (see _pacing)
        # Appended to stream ids; a restored session gets its own, so that event ids issued
        # here never collide with the ids the previous process issued for this session.
        self._epoch = ""
        self.store = config.event_store if session_id is not None else None
        self.handler: SessionHandler | None = None
        self.handler = application.open_session(self)

    @property
    def protocol_version(self) -> str:
        """The version of the session's protocol revision."""
        return self.revision.version

    @property
    def served_versions(self) -> tuple[str, ...]:
        """Every protocol version the server serves, oldest first."""
        return self._owner.config.served_versions

    @property
    def draining(self) -> trio.Event:
        """Set when the server begins to shut down."""
        return self._owner.draining

    @property
    def retry_ms(self) -> int:
        """The ``retry`` hint of connections the server closes on purpose, in milliseconds."""
        return self._owner.config.retry_ms

    # -- lifetime -------------------------------------------------------------------------

    async def run(self) -> None:
        """The session task: park until the idle scope is cancelled, then clean up.

        The session accepts work as soon as it is created (its tasks run in the manager's
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
            if self.session_id is not None:
                self._owner.note_idle(self, False)
        self._holds += 1
        return True

    def release(self) -> None:
        """Drop one hold; the last one starts the idle deadline (or ends an exchange)."""
        self._holds -= 1
        if self._holds:
            return
        if self.session_id is None:
            self.terminate(CloseReason.COMPLETED)
            return
        if self.idle_timeout is not None and not self.scope.cancel_called:
            self.scope.deadline = trio.current_time() + self.idle_timeout
        self._owner.note_idle(self, True)

    def terminate(self, reason: CloseReason) -> None:
        """Begin ending the session now: cancel its work; its task cleans up and deregisters.

        An exchange, which has no task, is cleaned up here once nothing holds it (else by the
        release of its last hold).
        """
        if self.close_reason is None:
            self.close_reason = reason
        self.scope.cancel()
        if self.session_id is None and not self._ended:
            if self._holds:
                self._cancel_tasks()
            else:
                self._cleanup()

    def handshake_failed(self) -> None:
        """``initialize`` was answered with an error: no session is left behind."""
        self.terminate(CloseReason.ERROR)

    def spawn(
        self, scope: trio.CancelScope, work: Callable[..., Awaitable[None]], *args: Any
    ) -> None:
        """Run ``work(*args)`` in a task of the session (the only way to start one).

        ``work`` runs inside ``scope``, which is registered with the session: the session
        cancels it when it ends (at once if it is ending already). The task holds the session
        while it runs.
        """
        if self.closing:
            scope.cancel()
        if self._tasks is None:
            self._tasks = {}
        self._tasks[scope] = None
        self._holds += 1  # the caller holds the session, so it cannot be ending unnoticed
        self._nursery.start_soon(self._task, scope, work, args)

    async def _task(
        self, scope: trio.CancelScope, work: Callable[..., Awaitable[None]], args: tuple[Any, ...]
    ) -> None:
        try:
            with scope:
                await work(*args)
        except trio.Cancelled:
            # Not by its own scope nor by the session ending: the manager is being stopped.
            if not self.scope.cancel_called and self.close_reason is None:
                self.close_reason = CloseReason.SHUTDOWN
            raise
        except Exception:  # a bug in our own task code must not take the server down
            log.exception("a task of session %s failed", (self.session_id or "-")[:6])
        finally:
            if self._tasks is not None:
                self._tasks.pop(scope, None)
                if not self._tasks:
                    self._tasks = None  # an emptied dict keeps its table: drop it
                    if self._ended:
                        self._free_events()
            self.release()

    def _cancel_tasks(self) -> None:
        for scope in self._tasks or ():
            scope.cancel()

    def _cleanup(self) -> None:
        self._cancel_tasks()
        if self.close_reason is None:
            expired = trio.current_time() >= self.scope.deadline
            if expired:
                self.close_reason = CloseReason.IDLE
            elif not self.scope.cancel_called:  # cancelled from outside: the manager stops
                self.close_reason = CloseReason.SHUTDOWN
            else:
                self.close_reason = CloseReason.ERROR
        if self.standalone is not None:
            self.standalone.close()
            self.standalone = None
        self._ended = True
        if self._tasks is None:
            self._free_events()
        if self._client_requests is not None:
            self._client_requests.close()
            self._client_requests = None
        self._owner.note_closed(self)  # while the handler is there (its last snapshot)
        self.handler = None

    def _free_events(self) -> None:
        """Free the session's stored events, once its last task is over.

        Cancelled tasks still run their last steps (a handler's cancellation error, a
        ``notifications/cancelled`` for a request to the client), and their streams store
        what they send: freeing earlier would leave those events behind for good.
        """
        if self.store is not None:
            assert self.session_id is not None
            try:
                self.store.close_session(self.session_id)
            except Exception:
                log.exception("event store failed to free session %s", self.session_id[:6])

    # -- inbound messages -----------------------------------------------------------------

    def has_inbound(self, request_id: RequestId) -> bool:
        """Whether a request with this exact id is in flight."""
        return self._inbound is not None and request_id in self._inbound

    def start_request(
        self, request: Request, output: Output, headers: Mapping[bytes, bytes] | None = None
    ) -> None:
        """Start handling a request in a task of its own; its answer goes to ``output``.

        The caller holds the session and has checked :meth:`has_inbound` (duplicate ids are
        refused). ``headers`` are those of the HTTP request that carried it.
        """
        inbound = InboundRequest(self, request, output, headers)
        if self._inbound is None:
            self._inbound = {}
        self._inbound[request.id] = inbound
        self._owner.note_requests(1)
        self.spawn(inbound.scope, run_request, inbound)

    def forget_inbound(self, inbound: InboundRequest) -> None:
        """A request's handler is done (its outcome is about to reach its sink)."""
        assert self._inbound is not None
        del self._inbound[inbound.request.id]
        if not self._inbound:
            self._inbound = None
        self._owner.note_requests(-1)
        if self.session_id is not None:
            self._owner.note_answered(self)

    def snapshot(self) -> dict[str, Any]:
        """What the handler reports of its state (for session restore)."""
        return handler_snapshot(self.handler)

    def restore(self, state: Mapping[str, Any]) -> bool:
        """Bring a re-created session back: the handler's state, the handshake complete.

        Returns:
            Whether the handler could be restored.
        """
        if not restore_handler(self.handler, state):
            return False
        self._epoch = "." + secrets.token_hex(3)
        self.initialized = True
        self.idle_timeout = self._session_idle_timeout
        return True

    def receive_notification(self, notification: Notification) -> None:
        """Take a client notification: cancellations act at once, the handler runs in a task."""
        if notification.method == "notifications/initialized" and not self.initialized:
            self.initialized = True
            self.idle_timeout = self._session_idle_timeout
            self._owner.note_initialized(self)
        if notification.method == "notifications/cancelled":
            self._cancel_inbound((notification.params or {}).get("requestId"))
        self.spawn(trio.CancelScope(), self._run_notification, notification)

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
        try:
            if self.handler is not None:
                await self.handler.handle_notification(notification, self)
        except Exception:
            log.exception("notification handler for %r raised", notification.method)

    def receive_response(self, message: Response | ErrorResponse) -> None:
        """Deliver the client's answer to whoever awaits that server-to-client request."""
        if self._client_requests is None:
            log.debug("response for unknown server request id %r ignored", message.id)
            return
        self._client_requests.receive(message)

    # -- outbound messages (the SessionContext the handler sees) ----------------------------

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send an unrelated notification on the standalone stream (dropped if none is open)."""
        self._sends = await paced_checkpoint(self._sends)
        stream = self.standalone
        message = notification_bytes(method, params)
        if stream is None or not stream.deliver(message):
            log.debug("no standalone stream: dropping %s", method)

    async def send_request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send an unrelated request on the standalone stream and await the client's result."""
        return await self.request_client(self.standalone, method, params)

    async def request_client(
        self, output: Output | None, method: str, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Send a server-to-client request on ``output`` and await the client's result."""
        await trio.lowlevel.checkpoint()
        if self.session_id is None:
            raise BackChannelUnavailable("stateless mode: the client cannot answer requests")
        if output is not None and not output.streaming:
            raise BackChannelUnavailable(f"JSON response mode: no stream to send {method!r} on")
        if output is None or not output.open or self.closing:
            raise BackChannelUnavailable(f"no open stream to send {method!r} on")
        if self._client_requests is None:
            self._client_requests = ClientRequests(self._owner.config.client_request_timeout)
        requests = self._client_requests
        try:
            return await requests.send(output, method, params)
        finally:
            if requests.idle and self._client_requests is requests:
                self._client_requests = None  # an idle session carries no empty containers

    # -- SSE streams ----------------------------------------------------------------------

    @property
    def priming(self) -> bool:
        """Whether SSE connections start with a priming event (2025-11-25, with a store)."""
        return self.store is not None and self.revision.priming

    def new_post_stream(self, expected: int) -> SseStream:
        """Create the logical stream of a POST that owes ``expected`` responses."""
        stream_id = f"p{self._next_stream_id}{self._epoch}"
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
        if stream is not None and stream.connected:
            return False
        if stream is None:
            stream = self._new_standalone()
        self.connect(stream, connection)
        return True

    def _new_standalone(self) -> SseStream:
        self.standalone = SseStream(0, "g" + self._epoch, self.session_id, self.store)
        return self.standalone

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
        preamble = b"".join(encode_message(data, event_id) for event_id, data in replay.events)
        stream: SseStream | None
        if (replay.stream_id or "").partition(".")[0] == "g":  # the standalone, of any process
            stream = self.standalone if self.standalone is not None else self._new_standalone()
        else:
            stream = (self._post_streams or {}).get(replay.stream_id or "")
        if stream is None:  # the stream already ended: replay its tail, then end
            if preamble:
                connection.push(preamble)
            connection.close()
        else:
            stream.attach(connection, preamble)
        return ReplayStatus.OK, stream
