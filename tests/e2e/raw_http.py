"""A minimal h11 client for end-to-end tests: one request per connection, streamed body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11
import trio


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    stream: trio.SocketStream
    conn: h11.Connection
    complete: bool = False
    _buffered: list[bytes] = field(default_factory=list)

    async def next_chunk(self) -> bytes | None:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.stream.receive_some(65536)
                self.conn.receive_data(data)
                if not data:
                    return None
                continue
            if isinstance(event, h11.Data):
                return bytes(event.data)
            if isinstance(event, h11.EndOfMessage):
                self.complete = True
                return None
            raise AssertionError(f"unexpected h11 event {event!r}")

    async def body(self) -> bytes:
        chunks = []
        try:
            while (chunk := await self.next_chunk()) is not None:
                chunks.append(chunk)
        except h11.RemoteProtocolError:
            pass  # connection cut mid-body: complete stays False
        return b"".join(chunks)


@asynccontextmanager
async def request(
    url: str, method: str, headers: list[tuple[str, str]], body: bytes = b""
) -> AsyncIterator[RawResponse]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    stream = await trio.open_tcp_stream(parts.hostname, parts.port)
    async with stream:
        conn = h11.Connection(h11.CLIENT)
        all_headers = [("host", parts.netloc), ("content-length", str(len(body))), *headers]
        await stream.send_all(
            conn.send(h11.Request(method=method, target=parts.path, headers=all_headers))
        )
        await stream.send_all(conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
                continue
            assert isinstance(event, h11.Response), event
            break
        yield RawResponse(
            event.status_code,
            {k.decode(): v.decode() for k, v in event.headers},
            stream,
            conn,
        )
