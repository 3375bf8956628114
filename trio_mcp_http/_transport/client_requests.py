"""Requests from the server to the client (sampling, elicitation, roots, ping) and their answers.

Handshake era only. A handler's ``send_request`` puts a JSON-RPC request on an SSE stream (its
request's own, or the session's standalone one) and waits for the client to POST the response;
the wait is bounded by ``client_request_timeout``, after which the client is told with
``notifications/cancelled`` and the handler gets :class:`~trio_mcp_http.ClientRequestTimeout`.
Answers are matched by id with its JSON type. When the session ends, every wait ends with
:class:`~trio_mcp_http.BackChannelUnavailable`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from .._application import BackChannelUnavailable, ClientRequestTimeout
from .._core.jsonrpc import (
    JsonRpcError,
    Response,
    dump_message,
    dump_notification,
    make_request,
)

if TYPE_CHECKING:
    from .._core.jsonrpc import ErrorObject, ErrorResponse, RequestId
    from .sinks import Output

__all__ = ["ClientRequests", "notification_bytes"]

log = logging.getLogger("trio_mcp_http.session")


def notification_bytes(method: str, params: dict[str, Any] | None) -> bytes:
    """Serialise a notification (``NotJson`` reaches the caller that built the params)."""
    return dump_notification(method, params)


class _AwaitedAnswer:
    """The client's answer to one server-to-client request, once it arrives."""

    __slots__ = ("closed", "done", "error", "result")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: dict[str, Any] | None = None
        self.error: ErrorObject | None = None
        self.closed = False  # the session ended first


class ClientRequests:
    """The server-to-client requests of one session that await the client's answer.

    Args:
        timeout: The longest a request waits for its answer.
    """

    __slots__ = ("_awaited", "_next_id", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._awaited: dict[RequestId, _AwaitedAnswer] = {}
        self._next_id = 1

    @property
    def idle(self) -> bool:
        """Whether no request awaits an answer."""
        return not self._awaited

    async def send(
        self, output: Output, method: str, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Put a request on ``output`` and wait for the client's result.

        Raises:
            JsonRpcError: The client answered with an error.
            ClientRequestTimeout: No answer within the timeout (the client is told).
            BackChannelUnavailable: The stream closed before the request could be sent, or the
                session closed before the client answered.
        """
        request_id = self._next_id
        request = dump_message(make_request(request_id, method, params))
        self._next_id += 1
        answer = self._awaited[request_id] = _AwaitedAnswer()
        try:
            if not output.deliver(request):
                raise BackChannelUnavailable(f"the stream closed before {method!r} was sent")
            with trio.move_on_after(self.timeout) as waiting:
                await answer.done.wait()
            if waiting.cancelled_caught:
                _cancel_on(output, request_id, "timed out")
                raise ClientRequestTimeout(method, self.timeout)
        except trio.Cancelled:
            _cancel_on(output, request_id, "cancelled by the server")
            raise
        finally:
            self._awaited.pop(request_id, None)
        if answer.closed:
            raise BackChannelUnavailable(
                f"the session closed before the client answered {method!r}"
            )
        if answer.error is not None:
            raise JsonRpcError(answer.error.code, answer.error.message, answer.error.data)
        assert answer.result is not None
        return answer.result

    def receive(self, message: Response | ErrorResponse) -> None:
        """Deliver the client's answer to whoever awaits that request (unknown ids: ignored)."""
        answer = None if message.id is None else self._awaited.get(message.id)
        if answer is None:
            log.debug("response for unknown server request id %r ignored", message.id)
            return
        if isinstance(message, Response):
            answer.result = message.result
        else:
            answer.error = message.error
        answer.done.set()

    def close(self) -> None:
        """The session ended: every wait ends (with ``BackChannelUnavailable``)."""
        for answer in self._awaited.values():
            answer.closed = True
            answer.done.set()
        self._awaited.clear()


def _cancel_on(output: Output, request_id: int, reason: str) -> None:
    params = {"requestId": request_id, "reason": reason}
    output.deliver(notification_bytes("notifications/cancelled", params))
