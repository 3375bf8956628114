"""A client request being handled, and the task that runs its handler.

The task is one of the session's tasks (see :meth:`~.session.Session.spawn`): it runs in the
request's own cancel scope, so ``notifications/cancelled``, DELETE, idle expiry, eviction and
shutdown all cancel it, and it survives a client disconnect. Whatever happens, the request's
sink gets exactly one outcome: the response, an error, or (cancelled by the client, as the spec
asks) nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from .._application import BackChannelUnavailable
from .._core.jsonrpc import (
    INTERNAL_ERROR,
    REQUEST_CANCELLED,
    ErrorResponse,
    JsonRpcError,
    Message,
    NotJson,
    Response,
    dump_message,
    make_error,
    make_response,
)
from .._pacing import paced_checkpoint
from .client_requests import notification_bytes
from .sinks import SseStream

if TYPE_CHECKING:
    from .._core.jsonrpc import Request, RequestId
    from .session import Session
    from .sinks import Output

__all__ = ["InboundRequest", "run_request"]

log = logging.getLogger("trio_mcp_http.session")


class InboundRequest:
    """A client request being handled; it is the handler's :class:`RequestContext`.

    Attributes:
        session: The session the request belongs to.
        request: The request.
        output: Where its response and related messages go.
        scope: The cancel scope its handler runs in.
        by_client: The client cancelled it (``notifications/cancelled``): no response then.
    """

    __slots__ = ("_headers", "_sends", "by_client", "output", "request", "scope", "session")

    def __init__(
        self,
        session: Session,
        request: Request,
        output: Output,
        headers: Mapping[bytes, bytes] | None = None,
    ) -> None:
        self.session = session
        self.request = request
        self.output = output
        self.scope = trio.CancelScope()
        self.by_client = False
        self._headers = headers
        self._sends = 0  # notifications since the last schedule point (see _pacing)

    @property
    def request_id(self) -> RequestId:
        """The id of the request, with its JSON type."""
        return self.request.id

    def header(self, name: str) -> str | None:
        """A header of the HTTP request that carried this request (``name`` in lowercase)."""
        value = None if self._headers is None else self._headers.get(name.encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    async def wait_draining(self) -> None:
        """Return once the server has begun to shut down (a long stream then ends itself)."""
        await self.session.draining.wait()

    def close_sse_stream(self) -> None:
        """Close this request's SSE connection without ending its stream (SSE polling)."""
        if isinstance(self.output, SseStream):
            self.output.close_connection(self.session.retry_ms)

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification related to this request on its stream."""
        self._sends = await paced_checkpoint(self._sends)
        self.output.deliver(notification_bytes(method, params))

    async def send_request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a related request on this request's stream and await the client's result."""
        return await self.session.request_client(self.output, method, params)


async def run_request(inbound: InboundRequest) -> None:
    """Run a request's handler and give its sink the one outcome.

    It runs in ``inbound.scope`` (see :meth:`~.session.Session.spawn`); what follows the
    handler does not wait, so it runs whole even when the scope has been cancelled.
    """
    session, request = inbound.session, inbound.request
    response: Message | None = None
    payload = b""
    try:
        response = await _call_handler(inbound)
        payload = _encode_response(request.method, response)
    finally:
        session.forget_inbound(inbound)
        if response is None:
            why = "cancelled by the client" if inbound.by_client else "session closed"
            cancelled = make_error(request.id, REQUEST_CANCELLED, f"Request cancelled: {why}")
            if inbound.by_client:  # spec: no response to a cancelled request
                inbound.output.skip(dump_message(cancelled))
            else:
                inbound.output.respond(dump_message(cancelled))
        else:
            code = response.error.code if isinstance(response, ErrorResponse) else None
            inbound.output.respond(payload, code)
            if request.method == "initialize" and isinstance(response, ErrorResponse):
                session.handshake_failed()


async def _call_handler(inbound: InboundRequest) -> Message:
    session, request = inbound.session, inbound.request
    handler = session.handler
    if handler is None or inbound.scope.cancel_called:  # ended before the task first ran
        await trio.lowlevel.checkpoint()  # raises Cancelled: the handler never starts
        assert handler is not None  # (only a cancelled scope gets here without a handler)
    try:
        result: object = await handler.handle_request(request, inbound)
    except JsonRpcError as exc:
        return make_error(request.id, exc.code, exc.message, exc.data)
    except BackChannelUnavailable as exc:
        return make_error(request.id, INTERNAL_ERROR, f"Internal error: {exc}")
    except Exception:
        log.exception("handler for %r raised", request.method)
        return make_error(request.id, INTERNAL_ERROR, "Internal error")
    if not isinstance(result, dict):
        log.error("handler for %r returned %r, not a dict", request.method, type(result))
        return make_error(request.id, INTERNAL_ERROR, "Internal error: handler returned no object")
    if request.method == "initialize":  # the version is the transport's to negotiate
        result = {**result, "protocolVersion": session.revision.version}
    elif request.method == "server/discover":  # and so are the versions it serves
        result = {**result, "supportedVersions": list(session.served_versions)}
    return make_response(request.id, result)


def _encode_response(method: str, response: Message) -> bytes:
    """Serialise a handler's response; one that is not JSON becomes an internal error."""
    try:
        return dump_message(response)
    except NotJson as exc:
        log.error("the result of %r is not JSON: %s", method, exc)
        assert isinstance(response, Response | ErrorResponse)
        message = "Internal error: the result is not valid JSON"
        return dump_message(make_error(response.id, INTERNAL_ERROR, message))
