"""The handshake era from the client's side: one session, its requests, and its loss.

Theory of operation
-------------------
A request runs in the caller's task: it POSTs, reads the JSON body or the SSE stream until its
response has been dispatched (:mod:`._dispatch`), and returns. If the stream ends first and its
events had ids, the stream is resumed with GET and ``Last-Event-ID`` (2025-11-25 polling),
waiting the server's ``retry`` time between attempts. Cancelling the caller closes the
connection and sends ``notifications/cancelled`` (shielded, with a short bound).

HTTP 404 to a request that carried a session id means the server ended the session: the client
starts a new one (a new ``initialize`` without session id, as the spec requires), counts it in
:attr:`HandshakeSession.session_resets`, and sends the request again, once. Concurrent requests
that hit the same 404 share the one new session.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any, Final

import trio

from .._core.jsonrpc import Message, make_notification, make_request
from .._core.versions import HANDSHAKE_VERSIONS
from ._dispatch import Dispatcher, call_back
from ._errors import (
    McpClientError,
    McpConnectionError,
    McpHttpError,
    McpProtocolError,
    ResponseStreamLost,
    SessionNotFound,
    UnsupportedProtocolVersion,
)
from ._listener import StandaloneListener
from ._types import InitializeResult, validate

if TYPE_CHECKING:
    from .._core.jsonrpc import RequestId
    from ._callbacks import Callbacks
    from ._dispatch import Waiter
    from ._transport import EventStream, Transport
    from ._types import Implementation, ProgressCallback, ReconnectPolicy, SessionResetCallback

__all__ = ["HandshakeSession"]

log = logging.getLogger("trio_mcp_http.client")

#: Bound on sending ``notifications/cancelled`` after the caller was cancelled.
CANCEL_NOTIFY_TIMEOUT: Final = 2.0
#: Bound on the DELETE and the closing of connections when the client closes.
CLOSE_TIMEOUT: Final = 2.0
#: How long, after a request's response, the client waits for the server to end the stream
#: (so that its connection can be reused); a stream still open then is closed.
DRAIN_GRACE: Final = 0.5


class HandshakeSession:
    """A session with a handshake-era server: ``initialize``, then requests on the session.

    Args:
        transport: The HTTP exchanges with the endpoint.
        nursery: Where background work runs (answers to server requests, the GET stream).
        client_info: The ``clientInfo`` sent in ``initialize``.
        capabilities: The client capabilities sent in ``initialize``.
        protocol_version: The version asked for.
        callbacks: The application's callbacks.
        reconnect: How streams are reconnected and resumed.
        on_session_reset: Told ``(old_id, new_id)`` after a lost session was replaced.

    Attributes:
        session_resets: How many times the server lost the session and a new one was started.
        listener: The standalone GET stream.
    """

    def __init__(
        self,
        transport: Transport,
        nursery: trio.Nursery,
        *,
        client_info: Implementation,
        capabilities: dict[str, Any],
        protocol_version: str,
        callbacks: Callbacks,
        reconnect: ReconnectPolicy,
        on_session_reset: SessionResetCallback | None,
    ) -> None:
        self.transport = transport
        self.reconnect = reconnect
        self._client_info = client_info
        self._capabilities = capabilities
        self._requested_version = protocol_version
        self._on_session_reset = on_session_reset
        self.dispatcher = Dispatcher(nursery, callbacks, self.post_without_reply)
        self.listener = StandaloneListener(self, nursery)
        self._ids = itertools.count(1)
        self._restart_lock = trio.Lock()
        self.initialize_result: InitializeResult | None = None
        self.session_resets = 0

    # -- requests and notifications --------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None,
        progress_callback: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Send a request and return its result, starting a new session once on 404."""
        for attempt in range(2):
            try:
                return await self._request_once(method, params, progress_callback)
            except SessionNotFound as exc:
                if attempt:
                    raise
                await self.restart(exc.session_id)
        raise AssertionError("unreachable")

    async def notify(self, method: str, params: dict[str, Any] | None) -> None:
        """Send a notification, starting a new session once on 404."""
        for attempt in range(2):
            try:
                await self.post_without_reply(make_notification(method, params))
                return
            except SessionNotFound as exc:
                if attempt:
                    raise
                await self.restart(exc.session_id)

    async def _request_once(
        self,
        method: str,
        params: dict[str, Any] | None,
        progress_callback: ProgressCallback | None,
        *,
        initialize: bool = False,
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        if progress_callback is not None:
            params = dict(params or {})
            params["_meta"] = {**params.get("_meta", {}), "progressToken": request_id}
        waiter = self.dispatcher.expect(request_id, progress_callback)
        try:
            message = make_request(request_id, method, params)
            await self._exchange(message, request_id, waiter, initialize=initialize)
        except (trio.Cancelled, ResponseStreamLost):
            # The caller stops waiting: tell the server, which may still be working on it.
            if not initialize and not waiter.done:
                await self._send_cancelled(request_id)
            raise
        finally:
            self.dispatcher.forget(request_id)
        return waiter.outcome()

    async def _exchange(
        self, message: Message, request_id: RequestId, waiter: Waiter, *, initialize: bool
    ) -> None:
        stream: EventStream | None = None
        dropped: McpConnectionError | None = None
        async with self.transport.post(message, initialize=initialize) as reply:
            if not reply.is_sse:
                if reply.status == 202:
                    raise McpProtocolError("the server answered a request with 202 Accepted")
                for item in await reply.json_messages():
                    await self.dispatcher.dispatch(item)
                if not waiter.done:
                    raise McpProtocolError(
                        f"the JSON response does not answer request {request_id}"
                    )
                return
            stream = reply.events()
            try:
                await self.consume(stream, waiter)
            except McpConnectionError as exc:
                dropped = exc
        if waiter.done:
            return
        assert stream is not None
        if not stream.last_event_id:
            raise ResponseStreamLost(
                f"the response stream of request {request_id} ended before its response, "
                "and had no event ids to resume from",
                request_id,
            ) from dropped
        await self._resume(stream, request_id, waiter)

    async def _resume(self, stream: EventStream, request_id: RequestId, waiter: Waiter) -> None:
        """Poll a request's stream with GET + ``Last-Event-ID`` until its response arrives."""
        last_id, retry, failures = stream.last_event_id, stream.retry, 0
        cause: BaseException | None = None
        while failures < self.reconnect.max_attempts:
            await trio.sleep(self.reconnect.delay(failures, retry))
            progressed = False
            try:
                async with self.transport.get(last_id) as reply:
                    resumed = reply.events(last_id)
                    try:
                        await self.consume(resumed, waiter)
                    except McpConnectionError as exc:
                        cause = exc
                    last_id = resumed.last_event_id or last_id
                    retry = resumed.retry if resumed.retry is not None else retry
                    progressed = resumed.events > 0
            except SessionNotFound as exc:
                await self.restart(exc.session_id)
                raise ResponseStreamLost(
                    f"the session ended while the stream of request {request_id} was resumed",
                    request_id,
                ) from exc
            except McpHttpError as exc:
                if 400 <= exc.status < 500 and exc.status not in (408, 409, 429):
                    raise ResponseStreamLost(
                        f"the stream of request {request_id} cannot be resumed: {exc}", request_id
                    ) from exc
                cause = exc
            except McpConnectionError as exc:
                cause = exc
            if waiter.done:
                return
            failures = 0 if progressed else failures + 1
        raise ResponseStreamLost(
            f"gave up resuming the stream of request {request_id}", request_id
        ) from cause

    async def consume(self, stream: EventStream, waiter: Waiter | None) -> None:
        """Dispatch a stream's messages until it ends, or until ``waiter`` is resolved.

        Once the response has arrived, the rest of the stream is read for up to
        :data:`DRAIN_GRACE` seconds, so that a server that ends it promptly leaves the
        connection reusable.
        """
        while (message := await stream.next_message()) is not None:
            await self.dispatcher.dispatch(message)
            if waiter is not None and waiter.done:
                break
        else:
            return
        deadline = trio.current_time() + DRAIN_GRACE
        while True:
            following: Message | None = None
            with trio.move_on_at(deadline):
                try:
                    following = await stream.next_message()
                except McpClientError:
                    return
            if following is None:
                return
            await self.dispatcher.dispatch(following)

    async def _send_cancelled(self, request_id: RequestId) -> None:
        """Tell the server a request was cancelled: best effort, shielded, bounded."""
        message = make_notification(
            "notifications/cancelled",
            {"requestId": request_id, "reason": "cancelled by the client"},
        )
        with trio.CancelScope(shield=True, deadline=trio.current_time() + CANCEL_NOTIFY_TIMEOUT):
            try:
                await self.post_without_reply(message)
            except McpClientError as exc:
                log.debug("could not send notifications/cancelled for %r: %s", request_id, exc)

    async def post_without_reply(self, message: Message) -> None:
        """POST a notification or response; the server answers 202 with no body."""
        async with self.transport.post(message) as reply:
            if not reply.is_sse:
                await reply.discard()

    # -- the session -----------------------------------------------------------------------

    async def initialize(self) -> None:
        """Run the handshake: ``initialize``, version check, ``notifications/initialized``."""
        params = {
            "protocolVersion": self._requested_version,
            "capabilities": self._capabilities,
            "clientInfo": self._client_info.model_dump(by_alias=True, exclude_none=True),
        }
        result = await self._request_once("initialize", params, None, initialize=True)
        init = validate(InitializeResult, result)
        if init.protocol_version not in HANDSHAKE_VERSIONS:
            raise UnsupportedProtocolVersion(self._requested_version, init.protocol_version)
        self.transport.protocol_version = init.protocol_version
        self.initialize_result = init
        await self.post_without_reply(make_notification("notifications/initialized"))

    async def restart(self, lost_session_id: str) -> None:
        """Start a new session after the server answered 404 for ``lost_session_id``."""
        async with self._restart_lock:
            if self.transport.session_id != lost_session_id:
                return  # another task already replaced it
            log.info("session %s is gone (404): starting a new session", lost_session_id)
            await self.initialize()
            self.session_resets += 1
            self.listener.session_replaced()
            if self._on_session_reset is not None:
                await call_back(
                    self._on_session_reset(lost_session_id, self.transport.session_id),
                    "session reset callback",
                )

    async def shutdown(self, *, delete: bool) -> None:
        """DELETE the session (if asked and there is one) and close every connection."""
        with trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSE_TIMEOUT):
            try:
                if delete and self.transport.session_id is not None:
                    status = await self.transport.delete()
                    if not (200 <= status < 300 or status in (404, 405)):
                        log.info("DELETE of the session answered %d", status)
            except McpClientError as exc:
                log.debug("DELETE of the session failed: %s", exc)
            finally:
                await self.transport.pool.aclose()
