"""The per-request era from the client's side (2026-07-28): no session, every request whole.

Theory of operation
-------------------
Every request carries the protocol version and the client's capabilities (and identity, and a
log level if one was set) in ``params._meta``, and the headers servers and intermediaries
route on: ``MCP-Protocol-Version``, ``Mcp-Method``, ``Mcp-Name`` and the ``Mcp-Param-*`` the
tool's input schema asks for (learned from the last ``tools/list``; Base64 sentinel when a value
is not plain ASCII). The answer is one JSON body or an SSE stream of related notifications
(progress, log messages) ending with the response.

An *input-required* answer lists what the server needs (elicitation, sampling, roots): the
client answers each through the same callbacks as a server request in a session, and sends
the request again, with a new id, the answers and the server's ``requestState``. Cancelling
the caller closes the response stream, which cancels the request on the server; nothing else
is sent. ``subscriptions/listen`` is a request whose answer is a stream of notifications.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import trio

from .._core.jsonrpc import (
    ErrorResponse,
    JsonRpcError,
    Message,
    Notification,
    Request,
    Response,
    make_notification,
    make_request,
)
from .._core.per_request import (
    CLIENT_CAPABILITIES,
    CLIENT_INFO,
    HEADER_MISMATCH,
    LOG_LEVEL,
    PROTOCOL_VERSION,
    SUBSCRIPTION_ID,
    MirroredParam,
    encode_header_value,
    header_text,
    mirrored_params,
    name_of,
)
from ._dispatch import Dispatcher
from ._errors import McpClientError, McpConnectionError, McpProtocolError, ResponseStreamLost

if TYPE_CHECKING:
    from .._core.jsonrpc import RequestId
    from .._core.levels import LogLevel
    from ._callbacks import Callbacks
    from ._dispatch import Waiter
    from ._transport import Reply, Transport
    from ._types import Implementation, ProgressCallback

__all__ = ["PerRequestSession", "Subscription"]

log = logging.getLogger("trio_mcp_http.client")

#: The most input-required rounds one request may take before the client gives up.
MAX_INPUT_ROUNDS: Final = 10
CLOSE_TIMEOUT: Final = 2.0


class PerRequestSession:
    """The client's side of the per-request wire.

    Args:
        transport: The HTTP exchanges with the endpoint.
        nursery: Where background work runs.
        version: The per-request protocol version to speak.
        client_info: Sent in every request's ``_meta``.
        capabilities: Sent in every request's ``_meta``.
        callbacks: Answer the server's input requests.
        discover_result: The server's ``server/discover`` result, if the client asked.

    Attributes:
        log_level: Sent as ``logLevel`` in every request's ``_meta`` once set (``None``: no
            log messages).
        session_resets: Always 0: there is no session to lose.
    """

    def __init__(
        self,
        transport: Transport,
        nursery: trio.Nursery,
        *,
        version: str,
        client_info: Implementation,
        capabilities: dict[str, Any],
        callbacks: Callbacks,
        discover_result: dict[str, Any] | None = None,
    ) -> None:
        self.transport = transport
        self.version = version
        transport.protocol_version = version
        self._client_info = client_info.model_dump(by_alias=True, exclude_none=True)
        self._capabilities = capabilities
        self.callbacks = callbacks
        self.dispatcher = Dispatcher(nursery, callbacks, self._refuse_post)
        self.discover_result = discover_result
        self.log_level: LogLevel | None = None
        self.session_resets = 0
        self._ids = itertools.count(1)
        self._mirrored: dict[str, tuple[MirroredParam, ...]] = {}

    async def _refuse_post(self, message: Message) -> None:  # pragma: no cover - never called
        raise McpProtocolError("the per-request era has no messages from client to server")

    # -- one request ---------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            PROTOCOL_VERSION: self.version,
            CLIENT_CAPABILITIES: self._capabilities,
            CLIENT_INFO: self._client_info,
        }
        if self.log_level is not None:
            meta[LOG_LEVEL] = self.log_level
        return meta

    def _headers(self, request: Request) -> list[tuple[str, str]]:
        headers = [("Mcp-Method", request.method)]
        name = name_of(request)
        if name is not None:
            headers.append(("Mcp-Name", encode_header_value(name)))
        params = request.params or {}
        if request.method == "tools/call" and isinstance(params.get("arguments"), dict):
            for mirrored in self._mirrored.get(str(params.get("name")), ()):
                text = header_text(mirrored.value_in(params["arguments"]))
                if text is not None:
                    headers.append((mirrored.header, encode_header_value(text)))
        return headers

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None,
        progress_callback: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Send a request; answer input-required results until it completes."""
        try:
            return await self._with_inputs(method, params, progress_callback)
        except JsonRpcError as exc:
            if exc.code != HEADER_MISMATCH or method != "tools/call":
                raise
            # The tool's schema may have changed: list again, then retry once (spec SHOULD).
            self.remember_tools(await self._with_inputs("tools/list", None, None))
            return await self._with_inputs(method, params, progress_callback)

    async def _with_inputs(
        self,
        method: str,
        params: dict[str, Any] | None,
        progress_callback: ProgressCallback | None,
    ) -> dict[str, Any]:
        base = dict(params or {})
        extra: dict[str, Any] = {}
        for _ in range(MAX_INPUT_ROUNDS):
            result = await self._once(method, {**base, **extra}, progress_callback)
            if result.get("resultType", "complete") != "input_required":
                return result
            extra = {"inputResponses": await self._answer_inputs(result)}
            state = result.get("requestState")
            if isinstance(state, str):
                extra["requestState"] = state
        raise McpProtocolError(f"{method} still needed input after {MAX_INPUT_ROUNDS} rounds")

    async def _answer_inputs(self, result: Mapping[str, Any]) -> dict[str, Any]:
        """Answer every input request of an input-required result through the callbacks."""
        asked = result.get("inputRequests") or {}
        if not isinstance(asked, dict):
            raise McpProtocolError("inputRequests must be an object")
        answers: dict[str, Any] = {}

        async def answer(key: str, ask: Any) -> None:
            if not isinstance(ask, dict) or not isinstance(ask.get("method"), str):
                raise McpProtocolError(f"invalid input request {key!r}")
            request = make_request(key, ask["method"], ask.get("params") or {})
            answers[key] = await self.callbacks.answer(request)

        async with trio.open_nursery() as nursery:
            for key, ask in asked.items():
                nursery.start_soon(answer, key, ask)
        return answers

    async def _once(
        self,
        method: str,
        params: dict[str, Any],
        progress_callback: ProgressCallback | None,
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        if progress_callback is not None:
            params["_meta"] = {**params.get("_meta", {}), "progressToken": request_id}
        params["_meta"] = {**params.get("_meta", {}), **self._meta()}
        request = make_request(request_id, method, params)
        waiter = self.dispatcher.expect(request_id, progress_callback)
        try:
            async with self.transport.post(request, extra=self._headers(request)) as reply:
                await self._read(reply, request_id, waiter)
        finally:
            self.dispatcher.forget(request_id)
        return waiter.outcome()

    async def _read(self, reply: Reply, request_id: RequestId, waiter: Waiter) -> None:
        if not reply.is_sse:
            if reply.status == 202:
                raise McpProtocolError("the server answered a request with 202 Accepted")
            for item in await reply.json_messages():
                await self._deliver(item)
        else:
            stream = reply.events()
            try:
                while not waiter.done and (message := await stream.next_message()) is not None:
                    await self._deliver(message)
            except McpConnectionError as exc:
                raise ResponseStreamLost(
                    f"the response stream of request {request_id} broke", request_id
                ) from exc
        if not waiter.done:
            raise ResponseStreamLost(
                f"the answer to request {request_id} ended before its response", request_id
            )

    async def _deliver(self, message: Message) -> None:
        if isinstance(message, Request):
            log.warning("ignoring a server request on the per-request wire: %s", message.method)
            return
        await self.dispatcher.dispatch(message)

    async def notify(self, method: str, params: dict[str, Any] | None) -> None:
        """Send a notification (none is defined on HTTP in this era; servers answer 202)."""
        async with self.transport.post(make_notification(method, params)) as reply:
            if not reply.is_sse:
                await reply.discard()

    def remember_tools(self, result: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Learn the mirrored arguments of listed tools; return the tools that are valid.

        A tool whose ``x-mcp-header`` annotations break the rules is left out (the spec's
        MUST for HTTP clients), with a warning.
        """
        valid = []
        for tool in result.get("tools") or []:
            name = tool.get("name") if isinstance(tool, dict) else None
            try:
                mirrored = mirrored_params(tool.get("inputSchema") or {})
            except (ValueError, AttributeError) as exc:
                log.warning("leaving out tool %r: %s", name, exc)
                continue
            self._mirrored[str(name)] = mirrored
            valid.append(tool)
        return valid

    # -- listen ----------------------------------------------------------------------------

    @asynccontextmanager
    async def listen(self, notifications: dict[str, Any]) -> AsyncIterator[Subscription]:
        """Open a ``subscriptions/listen`` stream; yield it once acknowledged."""
        request_id = f"listen-{next(self._ids)}"
        params = {"notifications": notifications, "_meta": self._meta()}
        request = make_request(request_id, "subscriptions/listen", params)
        async with self.transport.post(request, extra=self._headers(request)) as reply:
            if not reply.is_sse:
                for item in await reply.json_messages():
                    if isinstance(item, ErrorResponse):
                        raise JsonRpcError(item.error.code, item.error.message, item.error.data)
                raise McpProtocolError("subscriptions/listen was not answered with a stream")
            subscription = Subscription(request_id, reply)
            await subscription.acknowledged()
            yield subscription

    async def shutdown(self, *, delete: bool) -> None:
        """Close every connection (there is no session to delete)."""
        with trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSE_TIMEOUT):
            await self.transport.pool.aclose()


class Subscription:
    """The notifications of one ``subscriptions/listen`` stream, as an async iterator.

    The server ends it gracefully with a completion result (subscriptions.mdx) or with
    ``notifications/cancelled`` naming the listen request (cancellation.mdx): either ends
    the iteration with :attr:`ended` set; a broken stream raises.

    Attributes:
        subscription_id: The id of the listen request (tagging every notification).
        honoured: What the server agreed to send (its acknowledgment's ``notifications``).
        ended: The server ended the subscription gracefully.
    """

    def __init__(self, subscription_id: RequestId, reply: Reply) -> None:
        self.subscription_id = subscription_id
        self._stream = reply.events()
        self.honoured: dict[str, Any] = {}
        self.ended = False

    async def acknowledged(self) -> None:
        """Read up to the acknowledgment."""
        message = await self._stream.next_message()
        if isinstance(message, ErrorResponse):
            raise JsonRpcError(message.error.code, message.error.message, message.error.data)
        if not (
            isinstance(message, Notification)
            and message.method == "notifications/subscriptions/acknowledged"
        ):
            raise McpProtocolError(f"subscriptions/listen began with {message!r}")
        self.honoured = dict((message.params or {}).get("notifications") or {})

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Notification:
        """The next notification of the subscription (the iteration ends with it)."""
        while True:
            try:
                message = await self._stream.next_message()
            except McpConnectionError as exc:
                raise McpClientError("the subscription stream broke") from exc
            if message is None or isinstance(message, Response | ErrorResponse):
                self.ended = isinstance(message, Response)
                raise StopAsyncIteration
            if isinstance(message, Notification):
                params = message.params or {}
                if message.method == "notifications/cancelled":
                    if params.get("requestId") == self.subscription_id:
                        self.ended = True  # the other way a server ends it (cancellation.mdx)
                        raise StopAsyncIteration
                    continue
                if (params.get("_meta") or {}).get(SUBSCRIPTION_ID) == self.subscription_id:
                    return message
