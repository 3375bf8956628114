"""Where every message from the server goes, whichever stream it came on.

* a *response* resolves the waiter of the request with that id (so a response arriving on a
  resumed stream finds its caller just the same);
* a *notification* is handed to the progress callback of its request, or to the notification
  callback, in order, from the task that reads the stream;
* a *request* (sampling, elicitation, roots, ping) is answered in its own task in the client's
  nursery, which POSTs the response back, so a slow callback never stalls the stream;
  ``notifications/cancelled`` from the server cancels that task (and no response is sent).

Ids are compared with their JSON type (``as_request_id``): ``true`` never names request ``1``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from .._core.jsonrpc import (
    INTERNAL_ERROR,
    ErrorResponse,
    JsonRpcError,
    Message,
    Notification,
    Request,
    Response,
    as_request_id,
    make_error,
    make_response,
)
from ._errors import McpClientError

if TYPE_CHECKING:
    from .._core.jsonrpc import RequestId
    from ._callbacks import Callbacks
    from ._types import ProgressCallback

__all__ = ["Dispatcher", "Waiter"]

log = logging.getLogger("trio_mcp_http.client")


class Waiter:
    """Where the response to one outgoing request lands."""

    __slots__ = ("message",)

    def __init__(self) -> None:
        self.message: Response | ErrorResponse | None = None

    @property
    def done(self) -> bool:
        """Whether the response has arrived."""
        return self.message is not None

    def outcome(self) -> dict[str, Any]:
        """The result, or the server's JSON-RPC error raised as ``JsonRpcError``."""
        message = self.message
        if isinstance(message, ErrorResponse):
            error = message.error
            raise JsonRpcError(error.code, error.message, error.data)
        assert message is not None
        return message.result


async def call_back(call: Awaitable[Any], what: str) -> None:
    """Await an application callback; what it raises is logged, never propagated."""
    try:
        await call
    except Exception:
        log.exception("the %s raised", what)


class Dispatcher:
    """Routes the server's messages to waiters, callbacks and answering tasks.

    Args:
        nursery: Where the answers to the server's requests run.
        callbacks: The application's callbacks.
        post: Sends a message back to the server (a response to one of its requests).
    """

    def __init__(
        self,
        nursery: trio.Nursery,
        callbacks: Callbacks,
        post: Callable[[Message], Awaitable[None]],
    ) -> None:
        self._nursery = nursery
        self.callbacks = callbacks
        self._post = post
        self._waiters: dict[RequestId, Waiter] = {}
        self._progress: dict[RequestId, ProgressCallback] = {}
        self._answering: dict[RequestId, trio.CancelScope] = {}

    def expect(self, request_id: RequestId, progress: ProgressCallback | None = None) -> Waiter:
        """Wait for the response to ``request_id`` (and route its progress to ``progress``)."""
        if progress is not None:
            self._progress[request_id] = progress
        waiter = self._waiters[request_id] = Waiter()
        return waiter

    def forget(self, request_id: RequestId) -> None:
        """The caller of ``request_id`` stopped waiting."""
        del self._waiters[request_id]
        self._progress.pop(request_id, None)

    async def dispatch(self, message: Message) -> None:
        """Route one message from the server."""
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
                await call_back(callback(float(progress), total, text), "progress callback")
                return
        elif notification.method == "notifications/cancelled":
            request_id = as_request_id(params.get("requestId"))
            scope = None if request_id is None else self._answering.get(request_id)
            if scope is not None:
                scope.cancel()
            return
        if self.callbacks.on_notification is not None:
            await call_back(self.callbacks.on_notification(notification), "notification callback")

    async def _answer(self, request: Request) -> None:
        """Answer one server request with the callbacks, then POST the response back."""
        scope = self._answering[request.id] = trio.CancelScope()
        response: Message | None = None
        try:
            with scope:
                try:
                    response = make_response(request.id, await self.callbacks.answer(request))
                except JsonRpcError as exc:
                    response = make_error(request.id, exc.code, exc.message, exc.data)
                except Exception:
                    log.exception("answering the server's %r request failed", request.method)
                    response = make_error(request.id, INTERNAL_ERROR, "Internal error")
        finally:
            self._answering.pop(request.id, None)
        if response is None:
            return  # the server cancelled it: the spec says send no response
        try:
            await self._post(response)
        except McpClientError as exc:
            log.warning("could not send the response to %r: %s", request.method, exc)
