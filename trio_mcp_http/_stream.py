"""Outbound paths of one HTTP response: an SSE stream or a single JSON body.

Rule: exactly one task per SSE response ever calls ASGI ``send()``, the writer
(:func:`write_sse`). hypercorn shields socket writes, so a task inside ``send()`` cannot be
cancelled while the client does not read; everything else (handlers, the session, other
clients, shutdown) only ever puts frames into the stream's bounded channel with
``send_nowait``. A full channel means the client stopped reading: the stream is *aborted*
(cut without the terminating chunk, so the client sees a broken stream and can resume) and the
producers carry on. Nothing waits for a slow client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import trio

from ._jsonrpc import Message, dump_message, dump_messages
from ._sse import encode_comment, encode_event

__all__ = ["JsonReply", "Output", "SseStream", "write_sse"]

log = logging.getLogger("trio_mcp_http.stream")

ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]

_KEEPALIVE: Final = encode_comment("keep-alive")


class Output:
    """Where the messages of one POST (or GET) go; counts the responses still owed.

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

    def deliver(self, message: Message) -> bool:
        """Queue a related message; return ``False`` if it could not be."""
        raise NotImplementedError

    def respond(self, message: Message) -> None:
        """Queue a response; the output ends when no more responses are owed."""
        raise NotImplementedError

    def skip(self, fallback: Message) -> None:
        """One owed response will never come (its request was cancelled by the client).

        Args:
            fallback: Sent instead where the HTTP response cannot end without a message.
        """
        raise NotImplementedError

    def close(self) -> None:
        """End the output cleanly (after what is queued)."""
        raise NotImplementedError


class SseStream(Output):
    """The producer side of one SSE response, feeding :func:`write_sse` through a channel."""

    __slots__ = ("_closed", "_frames_in", "_writer_scope", "aborted", "frames")

    def __init__(self, expected: int, capacity: int) -> None:
        super().__init__(expected)
        self._frames_in, self.frames = trio.open_memory_channel[bytes](capacity)
        self._writer_scope: trio.CancelScope | None = None
        self._closed = False
        self.aborted = False

    @property
    def open(self) -> bool:
        """Whether frames can still be queued."""
        return not self._closed

    def push(self, frame: bytes) -> bool:
        """Queue one encoded frame without waiting; a full queue aborts the stream."""
        if not self.open:
            return False
        try:
            self._frames_in.send_nowait(frame)
        except trio.WouldBlock:
            log.warning("SSE client is not reading: cutting the stream")
            self.abort()
            return False
        return True

    def deliver(self, message: Message) -> bool:
        """Queue a message as one SSE ``message`` event."""
        return self.push(encode_event(dump_message(message).decode(), event="message"))

    def respond(self, message: Message) -> None:
        """Queue a response; close the stream once every owed response is queued."""
        self.deliver(message)
        self.expected -= 1
        if self.expected <= 0:
            self.close()

    def skip(self, fallback: Message) -> None:
        """Owe one response less; the stream may end without it."""
        self.expected -= 1
        if self.expected <= 0:
            self.close()

    def close(self) -> None:
        """End the stream after the frames already queued."""
        self._closed = True
        self._frames_in.close()

    def abort(self) -> None:
        """Cut the stream now: queued frames are dropped and no terminating chunk is sent."""
        self.aborted = self._closed = True
        self._frames_in.close()
        if self._writer_scope is not None:
            self._writer_scope.cancel()


class JsonReply(Output):
    """A request answered by one ``application/json`` body (JSON response mode)."""

    __slots__ = ("_done", "_responses", "batch")

    streaming = False

    def __init__(self, expected: int, *, batch: bool = False) -> None:
        super().__init__(expected)
        self._responses: list[Message] = []
        self._done = trio.Event()
        self.batch = batch

    @property
    def open(self) -> bool:
        """Whether the body is still being assembled."""
        return not self._done.is_set()

    def deliver(self, message: Message) -> bool:
        """Related messages have no way to the client in JSON mode: they are dropped."""
        log.debug("JSON response mode: dropping related message %s", type(message).__name__)
        return False

    def respond(self, message: Message) -> None:
        """Add a response; the body is complete when no more are owed."""
        if self._done.is_set():
            return
        self._responses.append(message)
        self.expected -= 1
        if self.expected <= 0:
            self._done.set()

    def skip(self, fallback: Message) -> None:
        """A JSON body cannot be empty: answer with the fallback error instead."""
        self.respond(fallback)

    def close(self) -> None:
        """Complete the body with whatever responses arrived."""
        self._done.set()

    async def wait_body(self) -> bytes:
        """Wait until the body is complete and return it (``b""`` if no response arrived)."""
        await self._done.wait()
        if not self._responses:
            return b""
        if self.batch:
            return dump_messages(self._responses)
        return dump_message(self._responses[0])


async def _watch_disconnect(receive: ASGIReceive, stream: SseStream) -> None:
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            stream.abort()
            return


async def write_sse(
    send: ASGISend,
    receive: ASGIReceive,
    stream: SseStream,
    headers: list[tuple[bytes, bytes]],
    keepalive_interval: float,
) -> bool:
    """Write one SSE response: the only code that calls ``send()`` for it.

    A watcher task awaits ``receive()`` for ``http.disconnect`` (never polled), and a
    ``:`` comment goes out after each ``keepalive_interval`` of silence. Frames queued together
    are written in one chunk.

    Returns:
        ``True`` when the stream ended cleanly (terminating chunk sent), ``False`` when it was
        cut by a disconnect or a slow-consumer abort.
    """
    async with trio.open_nursery() as nursery:
        stream._writer_scope = nursery.cancel_scope
        if stream.aborted:
            nursery.cancel_scope.cancel()
        nursery.start_soon(_watch_disconnect, receive, stream)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        frames = stream.frames
        while True:
            with trio.move_on_after(keepalive_interval) as quiet:
                try:
                    frame = await frames.receive()
                except trio.EndOfChannel:
                    break
            if quiet.cancelled_caught:
                await send({"type": "http.response.body", "body": _KEEPALIVE, "more_body": True})
                continue
            chunk = [frame]
            while True:
                try:
                    chunk.append(frames.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            body = frame if len(chunk) == 1 else b"".join(chunk)
            await send({"type": "http.response.body", "body": body, "more_body": True})
        if not stream.aborted:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        nursery.cancel_scope.cancel()
    return not stream.aborted
