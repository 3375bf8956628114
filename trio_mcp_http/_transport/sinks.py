"""Where the messages of one request go: an SSE stream (resumable) or one JSON body.

A sink counts the responses its request still owes and ends when they have all been queued.
Messages arrive serialised, so a message that is not JSON fails in the task that produced it,
never in the writer. An :class:`SseStream` is a *logical* stream: it outlives its connections
(SSE polling, a dropped connection resumed with ``Last-Event-ID``) and stores every event in the
event store, if there is one, before queueing it on the live connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from .._core.sse import encode_event, encode_message, encode_retry

if TYPE_CHECKING:
    from .._core.events import EventStore
    from .connection import Connection

__all__ = ["ExchangeReply", "JsonReply", "Output", "SseStream"]

log = logging.getLogger("trio_mcp_http.stream")


class Output:
    """Where the messages of one POST (or GET) go; counts the responses still owed.

    Messages arrive serialised (:func:`~trio_mcp_http._core.jsonrpc.dump_message`), so a message
    that is not JSON fails in the task that produced it, never in the writer.

    Args:
        expected: The number of responses that end this output (0 for a GET stream, which
            only ends when closed).
    """

    __slots__ = ("expected",)

    #: Whether messages other than responses can reach the client on this output.
    streaming = True

    def __init__(self, expected: int) -> None:
        self.expected = expected

    @property
    def open(self) -> bool:
        """Whether messages can still be delivered."""
        raise NotImplementedError

    def deliver(self, payload: bytes) -> bool:
        """Queue a related message; return ``False`` if it could not be."""
        raise NotImplementedError

    def respond(self, payload: bytes, error_code: int | None = None) -> None:
        """Queue a response; the output ends when no more responses are owed.

        Args:
            payload: The serialised response.
            error_code: Its JSON-RPC error code, when it is an error response.
        """
        raise NotImplementedError

    def skip(self, fallback: bytes) -> None:
        """One owed response will never come (its request was cancelled by the client).

        Args:
            fallback: Sent instead where the HTTP response cannot end without a message.
        """
        raise NotImplementedError

    def close(self) -> None:
        """End the output cleanly (after what is queued)."""
        raise NotImplementedError


class SseStream(Output):
    """One logical SSE stream (a POST's, or the session's standalone one).

    The stream outlives its connections: when a connection drops (or is closed on purpose for
    SSE polling), messages keep being stored in the event store, if there is one, and a client
    that resumes with ``Last-Event-ID`` gets a new connection with the missed events first.
    Without a store, messages for a stream with no connection are lost.

    Args:
        expected: Responses that end the stream (0 for the standalone stream).
        stream_id: The id encoded in the stream's event ids.
        session_id: The owning session (for the store).
        store: Where events are kept for replay, or ``None``.
        on_finished: Called once when the last owed response has been queued.
    """

    __slots__ = ("_connection", "_finished", "_on_finished", "session_id", "store", "stream_id")

    def __init__(
        self,
        expected: int,
        stream_id: str,
        session_id: str | None = None,
        store: EventStore | None = None,
        on_finished: Callable[[SseStream], None] | None = None,
    ) -> None:
        super().__init__(expected)
        self.stream_id = stream_id
        self.session_id = session_id
        self.store = store if session_id is not None else None
        self._connection: Connection | None = None
        self._finished = False
        self._on_finished = on_finished

    @property
    def finished(self) -> bool:
        """Whether every owed response has been queued (or the stream was closed)."""
        return self._finished

    @property
    def connection(self) -> Connection | None:
        """The live connection, if one is attached."""
        return self._connection

    @property
    def connected(self) -> bool:
        """Whether a connection is attached and still open."""
        return self._connection is not None and self._connection.open

    @property
    def open(self) -> bool:
        """Whether a message sent now can reach the client (live, or stored for replay)."""
        if self._finished:
            return False
        return self.store is not None or self.connected

    def attach(self, connection: Connection, preamble: bytes = b"") -> None:
        """Make ``connection`` the live one (cutting any previous one), queueing ``preamble``."""
        if self._connection is not None and self._connection is not connection:
            self._connection.abort()
        self._connection = connection
        if preamble:
            connection.push(preamble)
        if self._finished:
            connection.close()

    def detach(self, connection: Connection) -> None:
        """``connection``'s response is over: it is no longer the live one (if it still was)."""
        if self._connection is connection:
            self._connection = None

    def _event(self, payload: bytes | None, retry: int | None = None) -> bytes:
        event_id = None
        if self.store is not None:
            assert self.session_id is not None
            try:
                event_id = self.store.append(self.session_id, self.stream_id, payload)
            except Exception:
                log.exception("event store failed: sending the event without an id")
        if payload is None:
            return encode_event("", id=event_id, retry=retry)
        return encode_message(payload, event_id)

    def prime(self, retry: int | None) -> bytes:
        """Return a priming event (an id and empty data) for the start of a connection."""
        return self._event(None, retry)

    def deliver(self, payload: bytes) -> bool:
        """Store (if there is a store), then queue, a message as one SSE event."""
        if self._finished:
            return False
        frame = self._event(payload)
        connection = self._connection
        pushed = connection is not None and connection.push(frame)
        return pushed or self.store is not None

    def respond(self, payload: bytes, error_code: int | None = None) -> None:
        """Queue a response; the stream ends once every owed response is queued."""
        self.deliver(payload)
        self.skip(payload)

    def skip(self, fallback: bytes) -> None:
        """Owe one response less; the stream may end without it."""
        self.expected -= 1
        if self.expected <= 0:
            self.close()

    def close(self) -> None:
        """End the stream (and its connection, cleanly, after what is queued)."""
        if self._finished:
            return
        self._finished = True
        if self._connection is not None:
            self._connection.close()
        if self._on_finished is not None:
            self._on_finished(self)

    def close_connection(self, retry: int | None) -> None:
        """End the current connection but not the stream (SSE polling); the client resumes.

        Without a store the stream is not resumable (and a per-request exchange never is):
        then it does nothing, as what follows would be lost.

        Args:
            retry: Milliseconds the client should wait before reconnecting, sent first.
        """
        connection = self._connection
        if connection is None or self.store is None:
            return
        if retry is not None:
            connection.push(encode_retry(retry))
        connection.close()


class JsonReply(Output):
    """A request answered by one ``application/json`` body (JSON response mode)."""

    __slots__ = ("_done", "_responses", "batch")

    streaming = False

    def __init__(self, expected: int, *, batch: bool = False) -> None:
        super().__init__(expected)
        self._responses: list[bytes] = []
        self._done = trio.Event()
        self.batch = batch

    @property
    def open(self) -> bool:
        """Whether the body is still being assembled."""
        return not self._done.is_set()

    def deliver(self, payload: bytes) -> bool:
        """Related messages have no way to the client in JSON mode: they are dropped."""
        log.debug("JSON response mode: dropping a related message")
        return False

    def respond(self, payload: bytes, error_code: int | None = None) -> None:
        """Add a response; the body is complete when no more are owed."""
        if self._done.is_set():
            return
        self._responses.append(payload)
        self.expected -= 1
        if self.expected <= 0:
            self._done.set()

    def skip(self, fallback: bytes) -> None:
        """A JSON body cannot be empty: answer with the fallback error instead."""
        self.respond(fallback)

    def close(self) -> None:
        """Complete the body with whatever responses arrived."""
        self._done.set()

    async def wait_body(self) -> bytes:
        """Wait until the body is complete and return it (``b""`` if no response arrived).

        A quick handler gets two scheduling rounds first, which usually saves parking on
        the event (as the SSE writer's fast path does).
        """
        for _ in range(2):
            await trio.lowlevel.checkpoint()
            if self._done.is_set():
                break
        else:
            await self._done.wait()
        if not self._responses:
            return b""
        if self.batch:
            return b"[" + b",".join(self._responses) + b"]"
        return self._responses[0]


class ExchangeReply(Output):
    """The answer to one per-request-era request: one JSON body, unless it streams.

    The response status can depend on the answer (a -32601 error is a 404), so nothing is sent
    until the endpoint decides: a request answered without notifications gets a JSON body with
    its status; the first related notification (or a request that runs long) turns it into an
    SSE stream, once :meth:`commit` gives it a connection. Notifications that come before are
    kept and sent first.

    Args:
        sse: The client accepts an SSE stream (else notifications are dropped).
    """

    __slots__ = ("_changed", "_connection", "_early", "error_code", "response", "streaming")

    def __init__(self, *, sse: bool) -> None:
        super().__init__(1)
        self.streaming = sse
        self.response: bytes | None = None
        self.error_code: int | None = None
        self._early: list[bytes] = []
        self._changed = trio.Event()
        self._connection: Connection | None = None

    @property
    def open(self) -> bool:
        """Whether the request is still unanswered (and its stream, if any, open)."""
        connection = self._connection
        return self.response is None and (connection is None or connection.open)

    @property
    def answered(self) -> bool:
        """Whether the response is here (or the request ended without one)."""
        return self.expected <= 0

    @property
    def notified(self) -> bool:
        """Whether a notification came before the decision (then the answer must stream)."""
        return bool(self._early)

    async def changed(self) -> None:
        """Wait until the request is answered or sends its first notification."""
        await self._changed.wait()

    def deliver(self, payload: bytes) -> bool:
        """Queue a related notification (kept until the stream starts)."""
        if not self.streaming or self.answered:
            return False
        frame = encode_message(payload)
        if self._connection is not None:
            return self._connection.push(frame)
        self._early.append(frame)
        self._changed.set()
        return True

    def respond(self, payload: bytes, error_code: int | None = None) -> None:
        """Take the response; on a stream it is the last event."""
        if self.answered:
            return
        self.response, self.error_code, self.expected = payload, error_code, 0
        if self._connection is not None:
            self._connection.push(encode_message(payload))
            self._connection.close()
        self._changed.set()

    def skip(self, fallback: bytes) -> None:
        """End without a response (the request was cancelled: nothing more is sent for it)."""
        self.close()

    def close(self) -> None:
        """End the answer now (a stream ends cleanly after what is queued)."""
        self.expected = 0
        if self._connection is not None:
            self._connection.close()
        self._changed.set()

    def commit(self, connection: Connection) -> None:
        """Answer on ``connection``, an SSE stream: what came so far first."""
        self._connection = connection
        for frame in self._early:
            connection.push(frame)
        self._early = []
        if self.response is not None:
            connection.push(encode_message(self.response))
        if self.answered:
            connection.close()
