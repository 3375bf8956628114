"""Outbound paths of one HTTP response: an SSE stream or a single JSON body.

Rule: exactly one task per SSE response ever calls ASGI ``send()``, the writer
(:func:`write_sse`). hypercorn shields socket writes, so a task inside ``send()`` cannot be
cancelled while the client does not read; everything else (handlers, the session, other
clients, shutdown) only ever puts frames into the connection's bounded queue, which never
waits. A full queue means the client stopped reading: the stream is *aborted*
(cut without the terminating chunk, so the client sees a broken stream and can resume) and the
producers carry on. Nothing waits for a slow client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import trio

from .._core.sse import encode_comment, encode_event

if TYPE_CHECKING:
    from .._core.events import EventStore
    from .reaper import Reaper

__all__ = ["Connection", "JsonReply", "Output", "SseStream", "message_event", "write_sse"]

log = logging.getLogger("trio_mcp_http.stream")

ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]

_KEEPALIVE: Final = encode_comment("keep-alive")


def message_event(payload: bytes, event_id: str | None = None) -> bytes:
    """Frame one serialised JSON-RPC message as an SSE ``message`` event.

    Compact JSON never contains a raw line break (they are escaped inside strings), so the
    payload is one ``data:`` line and the frame is built from bytes without re-encoding.
    """
    if event_id is None:
        return b"event: message\ndata: " + payload + b"\n\n"
    return b"id: " + event_id.encode() + b"\nevent: message\ndata: " + payload + b"\n\n"


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

    def respond(self, payload: bytes) -> None:
        """Queue a response; the output ends when no more responses are owed."""
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


class Connection:
    """One HTTP response carrying an SSE stream: a bounded queue read by :func:`write_sse`.

    Producers call :meth:`push` (never waits); the writer takes everything queued at once with
    :meth:`take` and parks in :meth:`wait` when the queue is empty. A queue holding
    ``capacity`` frames means the client stopped reading: the connection is aborted.

    Attributes:
        aborted: The connection was cut (client gone or not reading); no terminating chunk.
        peer: The ASGI ``(server, client)`` addresses, to find the socket if it must be cut.
        send_started: When the writer entered the write it is in now (``None``: not in one).
    """

    __slots__ = (
        "_capacity",
        "_closed",
        "_frames",
        "_reaper",
        "_wakeup",
        "_writer_scope",
        "aborted",
        "peer",
        "send_started",
    )

    def __init__(
        self, capacity: int, peer: tuple[Any, Any] = (None, None), reaper: Reaper | None = None
    ) -> None:
        self._capacity = capacity
        self._frames: list[bytes] = []
        self._wakeup: trio.Event | None = None
        self._writer_scope: trio.CancelScope | None = None
        self._closed = False
        self.aborted = False
        self.peer = peer
        self.send_started: float | None = None
        self._reaper = reaper

    def before_send(self) -> None:
        """Called by the writer as it enters ``send()``; an ending connection gets a deadline."""
        self.send_started = trio.current_time()
        if self._closed and self._reaper is not None:
            self._reaper.watch(self)

    def after_send(self) -> None:
        """Called by the writer as ``send()`` returns."""
        self.send_started = None
        if self._reaper is not None:
            self._reaper.forget(self)

    @property
    def open(self) -> bool:
        """Whether frames can still be queued."""
        return not self._closed

    def push(self, frame: bytes) -> bool:
        """Queue one encoded frame without waiting; a full queue aborts the connection."""
        if self._closed:
            return False
        if len(self._frames) >= self._capacity:
            log.warning("SSE client is not reading: cutting the connection")
            self.abort()
            return False
        self._frames.append(frame)
        self._wake()
        return True

    def take(self) -> tuple[list[bytes], bool]:
        """Return the frames queued so far and whether the response has ended after them."""
        frames, self._frames = self._frames, []
        return frames, self._closed

    async def wait(self) -> None:
        """Wait until a frame is queued or the connection closes."""
        if self._frames or self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._wakeup = trio.Event()
        await self._wakeup.wait()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None

    def close(self) -> None:
        """End the response cleanly after the frames already queued."""
        self._closed = True
        self._wake()
        if self.send_started is not None and self._reaper is not None:
            self._reaper.watch(self)

    def abort(self) -> None:
        """Cut the response now: queued frames are dropped, no terminating chunk is sent."""
        self.aborted = self._closed = True
        self._frames = []
        self._wake()
        if self.send_started is not None and self._reaper is not None:
            self._reaper.watch(self)
        if self._writer_scope is not None:
            self._writer_scope.cancel()


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

    __slots__ = ("connection", "finished", "on_finished", "session_id", "store", "stream_id")

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
        self.connection: Connection | None = None
        self.finished = False
        self.on_finished = on_finished

    @property
    def open(self) -> bool:
        """Whether a message sent now can reach the client (live, or stored for replay)."""
        if self.finished:
            return False
        return self.store is not None or (self.connection is not None and self.connection.open)

    def attach(self, connection: Connection, preamble: bytes = b"") -> None:
        """Make ``connection`` the live one (cutting any previous one), queueing ``preamble``."""
        if self.connection is not None and self.connection is not connection:
            self.connection.abort()
        self.connection = connection
        if preamble:
            connection.push(preamble)
        if self.finished:
            connection.close()

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
        return message_event(payload, event_id)

    def prime(self, retry: int | None) -> bytes:
        """Return a priming event (an id and empty data) for the start of a connection."""
        return self._event(None, retry)

    def deliver(self, payload: bytes) -> bool:
        """Store (if there is a store), then queue, a message as one SSE event."""
        if self.finished:
            return False
        frame = self._event(payload)
        connection = self.connection
        pushed = connection is not None and connection.push(frame)
        return pushed or self.store is not None

    def respond(self, payload: bytes) -> None:
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
        if self.finished:
            return
        self.finished = True
        if self.connection is not None:
            self.connection.close()
        if self.on_finished is not None:
            self.on_finished(self)

    def close_connection(self, retry: int | None) -> None:
        """End the current connection but not the stream (SSE polling); the client resumes.

        Args:
            retry: Milliseconds the client should wait before reconnecting, sent first.
        """
        connection = self.connection
        if connection is None:
            return
        if retry is not None:
            connection.push(f"retry: {retry}\n\n".encode())
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

    def respond(self, payload: bytes) -> None:
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


async def _watch_disconnect(receive: ASGIReceive, connection: Connection) -> None:
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            connection.abort()
            return


async def write_sse(
    send: ASGISend,
    receive: ASGIReceive,
    connection: Connection,
    headers: list[tuple[bytes, bytes]],
    keepalive_interval: float,
    *,
    quick_answer: bool = False,
) -> bool:
    """Write one SSE response: the only code that calls ``send()`` for it.

    A watcher task awaits ``receive()`` for ``http.disconnect`` (never polled), and a
    ``:`` comment goes out after each ``keepalive_interval`` of silence. Frames queued together
    are written in one chunk.

    Args:
        send: The ASGI ``send``.
        receive: The ASGI ``receive`` (only the disconnect watcher calls it).
        connection: The queue of frames to write.
        headers: Response headers.
        keepalive_interval: Seconds of silence before a ``:`` comment goes out.
        quick_answer: The stream answers a POST: give its handler two scheduling rounds, and
            if it has answered by then, send the whole stream as one body of known length.

    Returns:
        ``True`` when the stream ended cleanly (terminating chunk sent), ``False`` when it was
        cut by a disconnect or a slow-consumer abort.
    """

    async def put(message: dict[str, Any]) -> None:
        connection.before_send()
        try:
            await send(message)
        finally:
            connection.after_send()

    async def put_queued() -> bool:
        """Write everything queued in one chunk (with the end, if it came); True once ended."""
        frames, ended = connection.take()
        if connection.aborted:
            return True
        if frames or ended:
            body = frames[0] if len(frames) == 1 else b"".join(frames)
            await put({"type": "http.response.body", "body": body, "more_body": not ended})
        return ended

    # Fast path: a request answered within two scheduling rounds (most tool calls) is sent as
    # one body of known length, with no waiting, so no disconnect watcher either (nothing is
    # ever waited for without one). Otherwise the stream starts now and goes on below.
    for _ in range(2 if quick_answer else 0):
        await trio.lowlevel.checkpoint()
        if not connection.open:
            break
    frames, ended = connection.take()
    if ended and not connection.aborted:
        body = b"".join(frames)
        length = (b"content-length", str(len(body)).encode())
        await put({"type": "http.response.start", "status": 200, "headers": [*headers, length]})
        await put({"type": "http.response.body", "body": body})
        return True
    await put({"type": "http.response.start", "status": 200, "headers": headers})
    if frames and not connection.aborted:
        body = frames[0] if len(frames) == 1 else b"".join(frames)
        await put({"type": "http.response.body", "body": body, "more_body": True})
    if await put_queued():
        return not connection.aborted
    async with trio.open_nursery() as nursery:
        connection._writer_scope = nursery.cancel_scope
        if connection.aborted:
            nursery.cancel_scope.cancel()
        nursery.start_soon(_watch_disconnect, receive, connection)
        while True:
            with trio.move_on_after(keepalive_interval) as quiet:
                await connection.wait()
            if quiet.cancelled_caught:
                await put({"type": "http.response.body", "body": _KEEPALIVE, "more_body": True})
            elif await put_queued():
                break
        nursery.cancel_scope.cancel()
    return not connection.aborted
