"""The MCP client session: handshake, requests, streams, callbacks, session loss, shutdown.

Theory of operation
-------------------
Every message the server sends, on whichever stream, goes through one dispatcher:

* a *response* resolves the waiter of the request with that id (so a response arriving on a
  resumed stream finds its caller just the same);
* a *notification* is handed to the progress callback of its request, or to the notification
  callback, in order, from the task that reads the stream;
* a *request* (sampling, elicitation, roots, ping) is answered in its own task in the client's
  nursery, which POSTs the response back, so a slow callback never stalls the stream.

A request runs in the caller's task: it POSTs, reads the JSON body or the SSE stream until its
response has been dispatched, and returns. If the stream ends first and its events had ids, the
stream is resumed with GET and ``Last-Event-ID`` (2025-11-25 polling), waiting the server's
``retry`` time between attempts. Cancelling the caller closes the connection and sends
``notifications/cancelled`` (shielded, with a short bound).

HTTP 404 to a request that carried a session id means the server ended the session: the client
starts a new one (a new ``initialize`` without session id, as the spec requires), counts it in
:attr:`McpClient.session_resets`, and sends the request again, once. Concurrent requests that
hit the same 404 share the one new session.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

import trio
from pydantic import BaseModel, ValidationError

from .._core.jsonrpc import (
    INTERNAL_ERROR,
    ErrorResponse,
    JsonRpcError,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    as_request_id,
)
from .._core.versions import HANDSHAKE_VERSIONS, LATEST_HANDSHAKE
from .._version import __version__
from ._callbacks import Callbacks
from ._errors import (
    McpClientError,
    McpConnectionError,
    McpHttpError,
    McpProtocolError,
    ResponseStreamLost,
    SessionNotFound,
    UnsupportedProtocolVersion,
)
from ._http import ConnectionPool, parse_endpoint
from ._transport import Transport
from ._types import (
    CallToolResult,
    CompleteResult,
    GetPromptResult,
    Implementation,
    InitializeResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    ReadResourceResult,
    ReconnectPolicy,
)

if TYPE_CHECKING:
    import ssl

    from ._http import StreamFactory
    from ._transport import EventStream
    from ._types import (
        ElicitationCallback,
        ListRootsCallback,
        LoggingLevel,
        NotificationCallback,
        ProgressCallback,
        RequestCallback,
        SamplingCallback,
        SessionResetCallback,
    )

__all__ = ["SUPPORTED_PROTOCOL_VERSIONS", "McpClient", "open_client"]

log = logging.getLogger("trio_mcp_http.client")

SUPPORTED_PROTOCOL_VERSIONS: Final[tuple[str, ...]] = HANDSHAKE_VERSIONS
"""The protocol revisions this client speaks, oldest first."""

#: Bound on sending ``notifications/cancelled`` after the caller was cancelled.
CANCEL_NOTIFY_TIMEOUT: Final = 2.0
#: Bound on the DELETE and the closing of connections when the client closes.
CLOSE_TIMEOUT: Final = 2.0
#: How long, after a request's response, the client waits for the server to end the stream
#: (so that its connection can be reused); a stream still open then is closed.
DRAIN_GRACE: Final = 0.5

_M = TypeVar("_M", bound=BaseModel)


def _validate(model: type[_M], result: dict[str, Any]) -> _M:
    try:
        return model.model_validate(result)
    except ValidationError as exc:
        raise McpProtocolError(f"invalid {model.__name__} from the server: {exc}") from exc


def _paged(cursor: str | None) -> dict[str, Any] | None:
    return None if cursor is None else {"cursor": cursor}


class _Waiter:
    """Where the response to one outgoing request lands."""

    __slots__ = ("message",)

    def __init__(self) -> None:
        self.message: Response | ErrorResponse | None = None

    @property
    def done(self) -> bool:
        return self.message is not None

    def outcome(self) -> dict[str, Any]:
        message = self.message
        if isinstance(message, ErrorResponse):
            error = message.error
            raise JsonRpcError(error.code, error.message, error.data)
        assert message is not None
        return message.result


class McpClient:
    """A connected MCP client session; get one from :func:`open_client`.

    Attributes:
        session_resets: How many times the server lost the session and the client started a new
            one (after HTTP 404 to a request carrying the session id).
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
        self._transport = transport
        self._nursery = nursery
        self._client_info = client_info
        self._capabilities = capabilities
        self._requested_version = protocol_version
        self._callbacks = callbacks
        self._reconnect = reconnect
        self._on_session_reset = on_session_reset
        self._ids = itertools.count(1)
        self._waiters: dict[RequestId, _Waiter] = {}
        self._progress: dict[RequestId, ProgressCallback] = {}
        self._inbound: dict[RequestId, trio.CancelScope] = {}
        self._restart_lock = trio.Lock()
        self._init: InitializeResult | None = None
        self._listener_running = False
        self._listening = False
        self._stream_scope: trio.CancelScope | None = None
        self.session_resets = 0

    # -- what the server told us ------------------------------------------------------------

    @property
    def initialize_result(self) -> InitializeResult:
        """The server's answer to ``initialize`` (of the current session)."""
        if self._init is None:
            raise RuntimeError("the client is not initialized")
        return self._init

    @property
    def server_info(self) -> Implementation:
        """The server's name and version."""
        return self.initialize_result.server_info

    @property
    def server_capabilities(self) -> dict[str, Any]:
        """The capabilities the server announced."""
        return self.initialize_result.capabilities

    @property
    def protocol_version(self) -> str:
        """The negotiated protocol version."""
        return self.initialize_result.protocol_version

    @property
    def instructions(self) -> str | None:
        """The server's usage instructions, if it gave any."""
        return self.initialize_result.instructions

    @property
    def session_id(self) -> str | None:
        """The current ``Mcp-Session-Id``; ``None`` when the server does not use sessions."""
        return self._transport.session_id

    @property
    def listening(self) -> bool:
        """Whether the standalone GET stream is connected right now."""
        return self._listening

    @property
    def connections_opened(self) -> int:
        """How many HTTP connections the client has opened (kept-alive ones are reused)."""
        return self._transport.pool.connections_opened

    # -- requests and notifications --------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        progress_callback: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Send a request and return the ``result`` of its response.

        Wrap the call in a cancel scope to bound it; a cancelled request (or one whose response
        stream was lost) is announced to the server with ``notifications/cancelled``.

        Args:
            method: The JSON-RPC method.
            params: The request's params.
            progress_callback: Receives the request's progress notifications (a
                ``progressToken`` is added to ``params._meta``).

        Returns:
            The result object.

        Raises:
            JsonRpcError: The server answered with a JSON-RPC error.
            McpHttpError: The server answered with an HTTP error status.
            ResponseStreamLost: The response stream broke and could not be resumed.
            McpConnectionError: The server could not be reached.
            McpProtocolError: The server's answer was not valid Streamable HTTP.
        """
        for attempt in range(2):
            try:
                return await self._request_once(method, params, progress_callback)
            except SessionNotFound as exc:
                if attempt:
                    raise
                await self._restart_session(exc.session_id)
        raise AssertionError("unreachable")

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (answered by the server with 202 Accepted).

        Args:
            method: The JSON-RPC method.
            params: The notification's params.

        Raises:
            McpHttpError: The server refused it.
            McpConnectionError: The server could not be reached.
        """
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        for attempt in range(2):
            try:
                await self._post_without_reply(message)
                return
            except SessionNotFound as exc:
                if attempt:
                    raise
                await self._restart_session(exc.session_id)

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
            self._progress[request_id] = progress_callback
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        waiter = self._waiters[request_id] = _Waiter()
        try:
            await self._exchange(message, request_id, waiter, initialize=initialize)
        except (trio.Cancelled, ResponseStreamLost):
            # The caller stops waiting: tell the server, which may still be working on it.
            if not initialize and not waiter.done:
                await self._send_cancelled(request_id)
            raise
        finally:
            del self._waiters[request_id]
            self._progress.pop(request_id, None)
        return waiter.outcome()

    async def _exchange(
        self, message: dict[str, Any], request_id: RequestId, waiter: _Waiter, *, initialize: bool
    ) -> None:
        stream: EventStream | None = None
        dropped: McpConnectionError | None = None
        async with self._transport.post(message, initialize=initialize) as reply:
            if not reply.is_sse:
                if reply.status == 202:
                    raise McpProtocolError("the server answered a request with 202 Accepted")
                for item in await reply.json_messages():
                    await self._dispatch(item)
                if not waiter.done:
                    raise McpProtocolError(
                        f"the JSON response does not answer request {request_id}"
                    )
                return
            stream = reply.events()
            try:
                await self._consume(stream, waiter)
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

    async def _resume(self, stream: EventStream, request_id: RequestId, waiter: _Waiter) -> None:
        """Poll a request's stream with GET + ``Last-Event-ID`` until its response arrives."""
        last_id, retry, failures = stream.last_event_id, stream.retry, 0
        cause: BaseException | None = None
        while failures < self._reconnect.max_attempts:
            await trio.sleep(self._reconnect.delay(failures, retry))
            progressed = False
            try:
                async with self._transport.get(last_id) as reply:
                    resumed = reply.events(last_id)
                    try:
                        await self._consume(resumed, waiter)
                    except McpConnectionError as exc:
                        cause = exc
                    last_id = resumed.last_event_id or last_id
                    retry = resumed.retry if resumed.retry is not None else retry
                    progressed = resumed.events > 0
            except SessionNotFound as exc:
                await self._restart_session(exc.session_id)
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

    async def _consume(self, stream: EventStream, waiter: _Waiter | None) -> None:
        """Dispatch a stream's messages until it ends, or until ``waiter`` is resolved.

        Once the response has arrived, the rest of the stream is read for up to
        :data:`DRAIN_GRACE` seconds, so that a server that ends it promptly leaves the
        connection reusable.
        """
        while (message := await stream.next_message()) is not None:
            await self._dispatch(message)
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
            await self._dispatch(following)

    async def _send_cancelled(self, request_id: RequestId) -> None:
        """Tell the server a request was cancelled: best effort, shielded, bounded."""
        message = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": "cancelled by the client"},
        }
        with trio.CancelScope(shield=True, deadline=trio.current_time() + CANCEL_NOTIFY_TIMEOUT):
            try:
                await self._post_without_reply(message)
            except McpClientError as exc:
                log.debug("could not send notifications/cancelled for %r: %s", request_id, exc)

    async def _post_without_reply(self, message: dict[str, Any]) -> None:
        """POST a notification or response; the server answers 202 with no body."""
        async with self._transport.post(message) as reply:
            if not reply.is_sse:
                await reply.discard()

    # -- incoming messages -----------------------------------------------------------------

    async def _dispatch(self, message: Message) -> None:
        if isinstance(message, Response | ErrorResponse):
            waiter = None if message.id is None else self._waiters.get(message.id)
            if waiter is None:
                log.debug("ignoring a response to unknown request id %r", message.id)
            elif not waiter.done:
                waiter.message = message
        elif isinstance(message, Request):
            self._nursery.start_soon(self._answer, message)
        else:
            await self._notified(message)

    async def _notified(self, notification: Notification) -> None:
        params = notification.params or {}
        if notification.method == "notifications/progress":
            token = as_request_id(params.get("progressToken"))
            callback = None if token is None else self._progress.get(token)
            if callback is not None:
                progress, total, text = (
                    params.get("progress"),
                    params.get("total"),
                    params.get("message"),
                )
                if not isinstance(progress, int | float):
                    log.warning("ignoring progress notification without a number: %r", params)
                    return
                total = float(total) if isinstance(total, int | float) else None
                text = text if isinstance(text, str) else None
                await self._call_back(callback(float(progress), total, text), "progress callback")
                return
        elif notification.method == "notifications/cancelled":
            request_id = as_request_id(params.get("requestId"))
            scope = None if request_id is None else self._inbound.get(request_id)
            if scope is not None:
                scope.cancel()
            return
        if self._callbacks.on_notification is not None:
            await self._call_back(
                self._callbacks.on_notification(notification), "notification callback"
            )

    @staticmethod
    async def _call_back(call: Any, what: str) -> None:
        try:
            await call
        except Exception:
            log.exception("the %s raised", what)

    async def _answer(self, request: Request) -> None:
        """Answer one server request with the callbacks, then POST the response back."""
        scope = self._inbound[request.id] = trio.CancelScope()
        response: dict[str, Any] | None = None
        try:
            with scope:
                try:
                    result = await self._callbacks.answer(request)
                    response = {"jsonrpc": "2.0", "id": request.id, "result": result}
                except JsonRpcError as exc:
                    error = {"code": exc.code, "message": exc.message}
                    if exc.data is not None:
                        error["data"] = exc.data
                    response = {"jsonrpc": "2.0", "id": request.id, "error": error}
                except Exception:
                    log.exception("answering the server's %r request failed", request.method)
                    error = {"code": INTERNAL_ERROR, "message": "Internal error"}
                    response = {"jsonrpc": "2.0", "id": request.id, "error": error}
        finally:
            self._inbound.pop(request.id, None)
        if response is None:
            return  # the server cancelled it: the spec says send no response
        try:
            await self._post_without_reply(response)
        except McpClientError as exc:
            log.warning("could not send the response to %r: %s", request.method, exc)

    # -- the standalone stream -------------------------------------------------------------

    async def listen(self) -> bool:
        """Open the standalone GET stream for the server's unrelated messages.

        Its notifications and requests go to the callbacks. The stream is reconnected whenever
        it ends, after the server's ``retry`` time, resuming with ``Last-Event-ID``, with
        exponential backoff on failures; it stops when the client closes, when the server
        answers 405, or after :attr:`ReconnectPolicy.max_attempts` failed attempts in a row.
        Calling it again while the stream runs does nothing.

        Returns:
            ``True`` once the stream is connected; ``False`` if the server offers none (405)
            or it could not be connected within the allowed attempts.
        """
        if self._listener_running:
            return self._listening
        self._listener_running = True
        try:
            started: bool = await self._nursery.start(self._listen_loop)
        except BaseException:
            self._listener_running = False
            raise
        return started

    async def _listen_loop(self, *, task_status: trio.TaskStatus[bool]) -> None:
        reported = False

        def report(value: bool) -> None:
            nonlocal reported
            if not reported:
                reported = True
                task_status.started(value)

        session, last_id, retry, failures = self._transport.session_id, "", None, 0
        try:
            while True:
                if self._transport.session_id != session:  # a new session: its own event ids
                    session, last_id = self._transport.session_id, ""
                try:
                    last_id, new_retry = await self._listen_once(last_id, report)
                    retry, failures = new_retry if new_retry is not None else retry, 0
                    if self._transport.session_id != session:
                        continue  # the session was replaced: listen on the new one at once
                except SessionNotFound as exc:
                    try:
                        await self._restart_session(exc.session_id)
                        continue
                    except (McpClientError, JsonRpcError) as restart_error:
                        log.warning("could not start a new session: %s", restart_error)
                        failures += 1
                except McpHttpError as exc:
                    if exc.status == 405:
                        log.info("the server offers no standalone stream (405)")
                        report(False)
                        return
                    log.debug("standalone stream refused: %s", exc)
                    failures += 1
                except McpClientError as exc:
                    log.debug("standalone stream failed: %s", exc)
                    failures += 1
                if failures >= self._reconnect.max_attempts:
                    log.warning("giving up the standalone stream after %d attempts", failures)
                    report(False)
                    return
                await trio.sleep(self._reconnect.delay(failures, retry))
        finally:
            self._listening = False
            self._listener_running = False
            self._stream_scope = None

    async def _listen_once(
        self, last_id: str, report: Callable[[bool], None]
    ) -> tuple[str, int | None]:
        """Run one GET stream until it ends; return its last event id and ``retry``.

        The stream is cut when the session is replaced (see :meth:`_restart_session`).
        """
        retry: int | None = None
        try:
            with trio.CancelScope() as self._stream_scope:
                async with self._transport.get(last_id or None) as reply:
                    self._listening = True
                    report(True)
                    stream = reply.events(last_id)
                    try:
                        await self._consume(stream, None)
                    except McpConnectionError as exc:
                        log.debug("standalone stream dropped: %s", exc)
                    finally:
                        self._listening = False
                        last_id, retry = stream.last_event_id, stream.retry
            return last_id, retry
        finally:
            self._stream_scope = None

    # -- the session -----------------------------------------------------------------------

    async def _initialize(self) -> None:
        """Run the handshake: ``initialize``, version check, ``notifications/initialized``."""
        params = {
            "protocolVersion": self._requested_version,
            "capabilities": self._capabilities,
            "clientInfo": self._client_info.model_dump(by_alias=True, exclude_none=True),
        }
        result = await self._request_once("initialize", params, None, initialize=True)
        init = _validate(InitializeResult, result)
        if init.protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
            raise UnsupportedProtocolVersion(self._requested_version, init.protocol_version)
        self._transport.protocol_version = init.protocol_version
        self._init = init
        await self._post_without_reply({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def _restart_session(self, lost_session_id: str) -> None:
        """Start a new session after the server answered 404 for ``lost_session_id``."""
        async with self._restart_lock:
            if self._transport.session_id != lost_session_id:
                return  # another task already replaced it
            log.info("session %s is gone (404): starting a new session", lost_session_id)
            await self._initialize()
            self.session_resets += 1
            if self._stream_scope is not None:
                self._stream_scope.cancel()  # the standalone stream belongs to the old session
            if self._on_session_reset is not None:
                await self._call_back(
                    self._on_session_reset(lost_session_id, self._transport.session_id),
                    "session reset callback",
                )

    async def _shutdown(self, *, delete: bool) -> None:
        """DELETE the session (if asked and there is one) and close every connection."""
        with trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSE_TIMEOUT):
            try:
                if delete and self._transport.session_id is not None:
                    status = await self._transport.delete()
                    if not (200 <= status < 300 or status in (404, 405)):
                        log.info("DELETE of the session answered %d", status)
            except McpClientError as exc:
                log.debug("DELETE of the session failed: %s", exc)
            finally:
                await self._transport.pool.aclose()

    # -- typed MCP methods -----------------------------------------------------------------

    async def ping(self) -> None:
        """Check that the server is alive (``ping``)."""
        await self.request("ping")

    async def list_tools(self, cursor: str | None = None) -> ListToolsResult:
        """List the server's tools, one page at a time.

        Args:
            cursor: The ``next_cursor`` of the previous page.
        """
        return _validate(ListToolsResult, await self.request("tools/list", _paged(cursor)))

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        progress_callback: ProgressCallback | None = None,
    ) -> CallToolResult:
        """Call a tool.

        A tool that fails returns a result with ``is_error`` set; a JSON-RPC error (unknown
        tool, bad arguments) raises ``JsonRpcError``.

        Args:
            name: The tool's name.
            arguments: The tool's arguments.
            progress_callback: Receives the call's progress notifications.
        """
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        result = await self.request("tools/call", params, progress_callback=progress_callback)
        return _validate(CallToolResult, result)

    async def list_resources(self, cursor: str | None = None) -> ListResourcesResult:
        """List the server's resources, one page at a time.

        Args:
            cursor: The ``next_cursor`` of the previous page.
        """
        return _validate(ListResourcesResult, await self.request("resources/list", _paged(cursor)))

    async def list_resource_templates(
        self, cursor: str | None = None
    ) -> ListResourceTemplatesResult:
        """List the server's resource templates, one page at a time.

        Args:
            cursor: The ``next_cursor`` of the previous page.
        """
        result = await self.request("resources/templates/list", _paged(cursor))
        return _validate(ListResourceTemplatesResult, result)

    async def read_resource(self, uri: str) -> ReadResourceResult:
        """Read a resource.

        Args:
            uri: The resource's URI.
        """
        return _validate(ReadResourceResult, await self.request("resources/read", {"uri": uri}))

    async def subscribe_resource(self, uri: str) -> None:
        """Ask for ``notifications/resources/updated`` about a resource.

        Args:
            uri: The resource's URI.
        """
        await self.request("resources/subscribe", {"uri": uri})

    async def unsubscribe_resource(self, uri: str) -> None:
        """Stop the update notifications of a resource.

        Args:
            uri: The resource's URI.
        """
        await self.request("resources/unsubscribe", {"uri": uri})

    async def list_prompts(self, cursor: str | None = None) -> ListPromptsResult:
        """List the server's prompts, one page at a time.

        Args:
            cursor: The ``next_cursor`` of the previous page.
        """
        return _validate(ListPromptsResult, await self.request("prompts/list", _paged(cursor)))

    async def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None
    ) -> GetPromptResult:
        """Get a prompt's messages.

        Args:
            name: The prompt's name.
            arguments: Values of the prompt's arguments.
        """
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        return _validate(GetPromptResult, await self.request("prompts/get", params))

    async def complete(
        self,
        ref: Mapping[str, Any],
        argument: Mapping[str, str],
        *,
        context_arguments: Mapping[str, str] | None = None,
    ) -> CompleteResult:
        """Ask for completions of an argument value (``completion/complete``).

        Args:
            ref: What is completed: ``{"type": "ref/prompt", "name": ...}`` or
                ``{"type": "ref/resource", "uri": ...}``.
            argument: ``{"name": ..., "value": ...}``, the argument and its partial value.
            context_arguments: Values of the other arguments already known (2025-06-18+).
        """
        params: dict[str, Any] = {"ref": dict(ref), "argument": dict(argument)}
        if context_arguments is not None:
            params["context"] = {"arguments": dict(context_arguments)}
        return _validate(CompleteResult, await self.request("completion/complete", params))

    async def set_logging_level(self, level: LoggingLevel) -> None:
        """Set the lowest severity of the log messages the server sends.

        Args:
            level: The syslog severity.
        """
        await self.request("logging/setLevel", {"level": level})


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
        client = McpClient(
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
        try:
            await client._initialize()
            if listen:
                await client.listen()
            yield client
        except BaseException as exc:
            failure = exc
        finally:
            nursery.cancel_scope.cancel()
            await client._shutdown(delete=delete_on_close)
    if failure is not None:
        raise failure
