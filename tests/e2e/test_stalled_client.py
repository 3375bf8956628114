"""A real socket client that stops reading must not block its session, others, or shutdown."""

from __future__ import annotations

import socket

import trio

import trio_mcp_http
from tests.e2e.raw_http import request
from tests.e2e.test_hypercorn import POST_HEADERS
from tests.helpers import TinyApp, init_body, rpc
from trio_mcp_http import RunningServer, ServerConfig


async def open_unread_get(url_port: int, sid: str) -> trio.SocketStream:
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sock.connect(("127.0.0.1", url_port))
    stream = trio.SocketStream(sock)
    head = (
        f"GET /mcp HTTP/1.1\r\nhost: 127.0.0.1:{url_port}\r\naccept: text/event-stream\r\n"
        f"mcp-session-id: {sid}\r\n\r\n"
    )
    await stream.send_all(head.encode())
    return stream  # and never read from it


async def test_stalled_reader_is_cut_and_shutdown_completes() -> None:
    config = ServerConfig(stream_queue_size=4, write_timeout=0.5)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(trio_mcp_http.serve, TinyApp(), config)
            async with request(running.url, "POST", POST_HEADERS, init_body()) as response:
                sid = response.headers["mcp-session-id"]
                await response.body()
            session = [*POST_HEADERS, ("mcp-session-id", sid)]
            stalled = await open_unread_get(running.port, sid)
            big = "x" * 200_000
            for i in range(40):
                with trio.fail_after(5):  # each answer comes promptly, stalled client or not
                    body = rpc("broadcast", {"data": big}, id=i)
                    async with request(running.url, "POST", session, body) as response:
                        assert response.status == 200
                        await response.body()
            # The stalled stream was cut; the session and other sessions work.
            async with request(running.url, "POST", POST_HEADERS, init_body()) as response:
                assert response.status == 200
                await response.body()
            with trio.fail_after(5):  # the cut stream's writer gets unstuck and ends
                while running.statistics().streams:  # noqa: ASYNC110 (real socket I/O)
                    await trio.sleep(0.05)
            running.shutdown()
        stalled.socket.close()
    stats = running.statistics()
    assert (stats.sessions, stats.streams, stats.session_tasks) == (0, 0, 0)
