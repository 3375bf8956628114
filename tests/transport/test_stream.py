"""The SSE writer: the only caller of ASGI send() for a stream (autojump clock)."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from trio_mcp_http._transport.connection import Connection
from trio_mcp_http._transport.keepalive import KeepaliveClock
from trio_mcp_http._transport.writer import write_sse


class FakeAsgi:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.receives = 0
        self.disconnect = trio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        await trio.lowlevel.checkpoint()
        self.sent.append(message)

    async def receive(self) -> dict[str, Any]:
        self.receives += 1
        await self.disconnect.wait()
        return {"type": "http.disconnect"}


async def test_answered_post_stream_is_one_body_of_known_length_and_no_watcher() -> None:
    asgi = FakeAsgi()
    connection = Connection(8)
    for frame in (b"a", b"b", b"c"):
        connection.push(frame)
    connection.close()
    assert await write_sse(
        asgi.send, asgi.receive, connection, [], KeepaliveClock(15), quick_answer=True
    )
    assert asgi.sent == [
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]},
        {"type": "http.response.body", "body": b"abc"},
    ]
    assert asgi.receives == 0


async def test_keepalive_comments_then_frames_then_clean_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    asgi = FakeAsgi()
    connection = Connection(8)
    keepalives = KeepaliveClock(15)
    async with trio.open_nursery() as nursery:
        await nursery.start(keepalives.run)

        async def produce() -> None:
            await trio.sleep(40)
            connection.push(b"x")
            await trio.sleep(1)
            connection.close()

        nursery.start_soon(produce)
        assert await write_sse(asgi.send, asgi.receive, connection, [], keepalives)
        assert len(keepalives) == 0  # the ended stream is disarmed
        nursery.cancel_scope.cancel()
    bodies = [(m["body"], m["more_body"]) for m in asgi.sent[1:]]
    assert bodies == [
        (b": keep-alive\n\n", True),
        (b": keep-alive\n\n", True),
        (b"x", True),
        (b"", False),
    ]
    assert asgi.receives == 1  # the watcher was waiting all along


async def test_disconnect_cuts_the_stream_without_an_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    asgi = FakeAsgi()
    connection = Connection(8)
    keepalives = KeepaliveClock(15)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_disconnect_later, asgi)
        assert not await write_sse(asgi.send, asgi.receive, connection, [], keepalives)
    assert connection.aborted
    assert len(keepalives) == 0  # a cut stream is disarmed too
    assert all(m.get("more_body", True) for m in asgi.sent[1:])


async def _disconnect_later(asgi: FakeAsgi) -> None:
    await trio.sleep(3)
    asgi.disconnect.set()


def test_full_queue_aborts_instead_of_waiting() -> None:
    connection = Connection(2)
    assert connection.push(b"1")
    assert connection.push(b"2")
    assert not connection.push(b"3")
    assert connection.aborted
    assert not connection.open


async def test_stream_answered_while_its_headers_go_out_needs_no_watcher_either() -> None:
    asgi = FakeAsgi()
    connection = Connection(8)

    async def send(message: dict[str, Any]) -> None:
        await asgi.send(message)
        if message["type"] == "http.response.start":  # answered during the write
            connection.push(b"a")
            connection.close()

    assert await write_sse(send, asgi.receive, connection, [], KeepaliveClock(15))
    assert asgi.sent[1:] == [{"type": "http.response.body", "body": b"a", "more_body": False}]
    assert asgi.receives == 0
