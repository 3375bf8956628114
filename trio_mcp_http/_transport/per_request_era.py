"""The per-request era on the wire (2026-07-28): one POST, one exchange, no session.

Theory of operation
-------------------
Every POST is answered in isolation. A notification gets 202. A request passes the validation
ladder (:func:`~trio_mcp_http._core.per_request.check_request`: ``_meta``, the headers, the
version, removed methods), then runs as a stateless *exchange*: an id-less session that ends,
freeing everything, with its request. The exchange is a cancel scope like any session's work,
and the HTTP request owns it: **the client closing the response cancels the request** (the
handler sees ``trio.Cancelled``, and nothing more is sent for it).

The answer is one JSON body when the handler finishes without a related notification, with the
HTTP status its error code calls for (-32601: 404; the ladder's codes: 400). A notification,
or a request that runs longer than the keep-alive interval, turns the answer into an SSE stream
(keep-alive comments while it runs; the response ends it). ``subscriptions/listen`` is such a
request: its handler streams notifications until the client goes, or ends it with a completion
result when the server drains.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import trio

from .._core.jsonrpc import Notification, Request, error_body
from .._core.per_request import UNSUPPORTED_PROTOCOL_VERSION, check_request, http_status
from .._core.rejections import Rejection
from .._core.versions import revision
from .connection import Connection
from .http_request import SSE_HEADERS, Refused, send_empty, send_json
from .manager import SessionRefused
from .session import CloseReason
from .sinks import ExchangeReply
from .writer import serve_stream

if TYPE_CHECKING:
    from .._core.headers import Acceptable
    from .._core.jsonrpc import Batch, Message
    from .asgi_types import ASGIReceive, ASGISend
    from .config import ServerConfig
    from .http_request import HttpRequest
    from .manager import SessionManager
    from .session import Session
    from .traffic import Traffic

__all__ = ["PerRequestEra"]

log = logging.getLogger("trio_mcp_http.asgi")

_LISTEN = "subscriptions/listen"


class PerRequestEra:
    """Serves the POSTs of the per-request-era revisions.

    Args:
        config: The server options.
        manager: Where exchanges run.
        traffic: The counts of requests and streams in flight.
    """

    def __init__(self, config: ServerConfig, manager: SessionManager, traffic: Traffic) -> None:
        self.config = config
        self.manager = manager
        self.traffic = traffic
        self._versions = config.per_request_versions

    async def post(
        self,
        request: HttpRequest,
        parsed: Message | Batch,
        accept: Acceptable,
        receive: ASGIReceive,
        send: ASGISend,
    ) -> None:
        """Answer one POST of the era: 202 for a notification, else one exchange."""
        if isinstance(parsed, Notification):
            await send_empty(send, 202)  # none is defined on HTTP; notifications/cancelled: no-op
            return
        if not isinstance(parsed, Request):
            raise Refused(
                Rejection.INVALID_MESSAGE,
                message="Invalid Request: the body must be one request or notification",
            )
        failure = check_request(parsed, request.text_header, self._versions)
        if failure is None and parsed.method == _LISTEN and not accept.sse:
            message = "Not Acceptable: subscriptions/listen answers with an SSE stream"
            raise Refused(Rejection.NOT_ACCEPTABLE, message=message)
        if failure is not None:
            body = error_body(failure.code, failure.message, failure.data, parsed.id)
            await send_json(send, failure.status, body)
            return
        meta = (parsed.params or {})["_meta"]
        found = revision(meta["io.modelcontextprotocol/protocolVersion"])
        assert found is not None  # the ladder checked it is served
        try:
            exchange = self.manager._start_exchange(found, request.principal)
        except SessionRefused as refused:
            raise Refused(
                Rejection.SHUTTING_DOWN if refused.shutting_down else Rejection.TOO_MANY_EXCHANGES,
                retry_after=self.config.retry_after,
            ) from None
        json_preferred = self.config.json_response and accept.json and parsed.method != _LISTEN
        reply = ExchangeReply(sse=accept.sse and not json_preferred)
        exchange.start_request(parsed, reply, request.headers)
        try:
            await self._answer(exchange, reply, request, receive, send)
        finally:
            exchange.release()

    async def _answer(
        self,
        exchange: Session,
        reply: ExchangeReply,
        request: HttpRequest,
        receive: ASGIReceive,
        send: ASGISend,
    ) -> None:
        # A quick handler gets two scheduling rounds and is answered with no waiting at all.
        for _ in range(2):
            await trio.lowlevel.checkpoint()
            if reply.answered or reply.notified:
                break
        else:
            patience = self.config.keepalive_interval if reply.streaming else math.inf
            if not await self._wait_for_decision(exchange, reply, receive, patience):
                return  # the client went away: the exchange is cancelled
        if reply.answered and not reply.notified:
            payload = reply.response
            if payload is None:  # ended without an answer (cancelled): nothing to send
                return
            status = 200 if reply.error_code is None else http_status(reply.error_code)
            await send_json(send, status, payload)
            return
        connection = Connection(self.config.stream_queue_size, request.peer, self.manager._reaper)
        reply.commit(connection)
        clean = await serve_stream(
            self.traffic,
            connection,
            SSE_HEADERS,
            receive,
            send,
            keepalives=self.manager.keepalives,
            quick_answer=False,
        )
        if not clean:  # closing the response stream cancels the request
            exchange.terminate(CloseReason.CANCELLED)

    @staticmethod
    async def _wait_for_decision(
        exchange: Session, reply: ExchangeReply, receive: ASGIReceive, patience: float
    ) -> bool:
        """Wait until the reply can be decided, watching for the client to leave.

        Returns:
            ``False`` when the client disconnected (the exchange is then cancelled).
        """
        gone = False

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            exchange.terminate(CloseReason.CANCELLED)
            nursery.cancel_scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            with trio.move_on_after(patience):
                await reply.changed()
            nursery.cancel_scope.cancel()
        return not gone


def modern_only_initialize(versions: tuple[str, ...], initialize: Request) -> bytes:
    """The answer of a server without the handshake era to ``initialize``: its versions."""
    requested = (initialize.params or {}).get("protocolVersion")
    data = {"supported": list(versions), "requested": requested}
    message = "Unsupported protocol version: this server speaks only " + ", ".join(versions)
    return error_body(UNSUPPORTED_PROTOCOL_VERSION, message, data, initialize.id)
