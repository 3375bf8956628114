"""The writer of one SSE response: the only code that calls ASGI ``send()`` for it.

hypercorn shields socket writes, so a task inside ``send()`` cannot be cancelled while the
client does not read; that is why exactly one task per SSE response writes, fed by the
non-blocking queue of its :class:`~.connection.Connection`, and nothing else ever waits for the
client. A watcher task awaits ``receive()`` for ``http.disconnect`` (never polled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import trio

from .._core.sse import encode_comment

if TYPE_CHECKING:
    from .asgi_types import ASGIReceive, ASGISend
    from .connection import Connection
    from .keepalive import KeepaliveClock
    from .sinks import SseStream
    from .traffic import Traffic

__all__ = ["serve_stream", "write_sse"]

_KEEPALIVE: Final = encode_comment("keep-alive")


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
    keepalives: KeepaliveClock,
    *,
    quick_answer: bool = False,
) -> bool:
    """Write one SSE response: the only code that calls ``send()`` for it.

    A watcher task awaits ``receive()`` for ``http.disconnect`` (never polled), and a
    ``:`` comment goes out after each interval of silence (``keepalives`` tells when). Frames
    queued together are written in one chunk.

    Args:
        send: The ASGI ``send``.
        receive: The ASGI ``receive`` (only the disconnect watcher calls it).
        connection: The queue of frames to write.
        headers: Response headers.
        keepalives: The clock that tells this stream when a ``:`` comment is due (it must be
            running for comments to go out).
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
        """Write what is queued (one chunk, with the end if it came) or the comment due.

        Returns:
            Whether the response has ended.
        """
        frames, ended = connection.take()
        keepalive = connection.take_keepalive()
        if connection.aborted:
            return True
        if frames or ended:
            body = frames[0] if len(frames) == 1 else b"".join(frames)
            await put({"type": "http.response.body", "body": body, "more_body": not ended})
        elif keepalive:
            await put({"type": "http.response.body", "body": _KEEPALIVE, "more_body": True})
        else:
            return False
        if not ended:
            keepalives.arm(connection)
            connection.take_keepalive()  # one that fell due during a slow write is not owed
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
    keepalives.arm(connection)
    try:
        if await put_queued():
            return not connection.aborted
        async with trio.open_nursery() as nursery:
            connection.bind_writer(nursery.cancel_scope)
            nursery.start_soon(_watch_disconnect, receive, connection)
            while True:
                await connection.wait()
                if await put_queued():
                    break
            nursery.cancel_scope.cancel()
        return not connection.aborted
    finally:
        keepalives.disarm(connection)


async def serve_stream(
    traffic: Traffic,
    connection: Connection,
    headers: tuple[tuple[bytes, bytes], ...],
    receive: ASGIReceive,
    send: ASGISend,
    *,
    keepalives: KeepaliveClock,
    stream: SseStream | None = None,
    quick_answer: bool = True,
) -> bool:
    """Write one SSE response, counted in ``traffic``; then detach it from its ``stream``.

    Returns:
        Whether it ended cleanly (see :func:`write_sse`).
    """
    with traffic.stream():
        try:
            return await write_sse(
                send,
                receive,
                connection,
                list(headers),
                keepalives,
                quick_answer=quick_answer,
            )
        finally:
            if stream is not None:
                stream.detach(connection)
