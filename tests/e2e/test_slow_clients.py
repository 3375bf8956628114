"""Slow and stalled clients over real sockets: slowloris is cut, descriptors never leak.

The clients here pace their own bytes with real sleeps (that is what a slow client is); every
assertion is about an outcome, bounded by a generous ``fail_after``, never about a duration.
"""

from __future__ import annotations

import os
import socket

import trio

import trio_mcp_http
from tests.e2e.raw_http import request
from tests.e2e.test_hypercorn import POST_HEADERS
from tests.e2e.test_stalled_client import open_unread_get
from tests.helpers import TinyApp, init_body, rpc
from trio_mcp_http import RunningServer, ServerConfig
from trio_mcp_http._transport.reaper import cut_connection


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def connections_to(port: int) -> int:
    """How many of this process's descriptors are accepted connections on local ``port``."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue  # not a socket (or gone meanwhile)
        with sock:
            try:
                local, peer = sock.getsockname(), sock.getpeername()
            except OSError:
                continue  # a listener, or not an inet socket
            count += isinstance(local, tuple) and local[1] == port and bool(peer)
    return count


async def trickle_body(port: int, *, interval: float = 0.05) -> bytes:
    """Send the head of a POST announcing 100,000 bytes, then one byte per ``interval``.

    Returns what the server answered before it closed the connection.
    """
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        head = (
            f"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
            "accept: application/json, text/event-stream\r\ncontent-type: application/json\r\n"
            "mcp-protocol-version: 2025-11-25\r\ncontent-length: 100000\r\n\r\n"
        )
        await stream.send_all(head.encode())
        answer = b""
        async with trio.open_nursery() as nursery:

            async def drip() -> None:
                try:
                    while True:
                        await stream.send_all(b" ")
                        await trio.sleep(interval)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return

            nursery.start_soon(drip)
            try:
                while chunk := await stream.receive_some(65536):
                    answer += chunk
            except trio.BrokenResourceError:
                pass
            nursery.cancel_scope.cancel()
        return answer


async def trickle_headers(port: int, *, interval: float = 0.05) -> bool:
    """Send a request head one byte per ``interval``; True when the server closed on us."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        head = f"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nx-padding: " + "a" * 100_000
        try:
            for byte in head.encode():
                await stream.send_all(bytes([byte]))
                with trio.move_on_after(interval):
                    if await stream.receive_some(65536) == b"":
                        return True
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return True
    return False


async def echo_works(running: RunningServer) -> bool:
    async with request(running.url, "POST", POST_HEADERS, init_body()) as response:
        if response.status != 200:
            return False
        sid = response.headers["mcp-session-id"]
        await response.body()
    headers = [*POST_HEADERS, ("mcp-session-id", sid)]
    async with request(running.url, "POST", headers, rpc("echo", {"text": "hi"})) as response:
        return response.status == 200 and b'"echo":"hi"' in await response.body()


async def test_trickling_bodies_are_cut_while_real_clients_are_served() -> None:
    config = ServerConfig(body_timeout=1.0)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(trio_mcp_http.serve, TinyApp(), config)
            answers: list[bytes] = []

            async def slow_client() -> None:
                answers.append(await trickle_body(running.port))

            async with trio.open_nursery() as clients:
                for _ in range(50):
                    clients.start_soon(slow_client)
                await trio.sleep(0.3)  # the slow clients are all trickling now
                assert await echo_works(running)  # a normal client is served meanwhile
            # Every trickler got 408 and its connection was closed.
            assert len(answers) == 50
            assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[:1]
            assert all(b"connection: close" in a.lower() for a in answers)
            running.shutdown()


async def test_a_request_head_that_never_ends_is_cut() -> None:
    config = ServerConfig(header_timeout=0.5)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(trio_mcp_http.serve, TinyApp(), config)
            assert await trickle_headers(running.port)
            assert await echo_works(running)
            running.shutdown()


async def test_beyond_the_connection_cap_requests_get_503_and_are_closed() -> None:
    config = ServerConfig(max_connections=5, body_timeout=2.0, retry_after=7)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(trio_mcp_http.serve, TinyApp(), config)
            answers: list[bytes] = []

            async def slow_client() -> None:
                answers.append(await trickle_body(running.port))

            async with trio.open_nursery() as clients:
                for _ in range(5):
                    clients.start_soon(slow_client)
                await trio.sleep(0.5)  # five slow uploads hold every slot
                async with request(running.url, "POST", POST_HEADERS, init_body()) as response:
                    assert response.status == 503
                    assert response.headers["retry-after"] == "7"
                    assert response.headers["connection"] == "close"
                    assert b"too many requests in progress" in await response.body()
            assert sorted(a[:12] for a in answers) == [b"HTTP/1.1 408"] * 5
            assert await echo_works(running)  # the slots are free again
            running.shutdown()


def test_a_hundred_cuts_leave_the_descriptor_count_flat() -> None:
    """The cut scans the process's descriptors; none of them may be left duplicated."""
    files = [open(os.devnull, "rb") for _ in range(10)]  # noqa: SIM115 (closed below)
    pipes = [os.pipe() for _ in range(5)]
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        before = open_descriptors()
        for _ in range(100):  # no such connection: nothing found, nothing kept
            assert not cut_connection(("127.0.0.1", 1), ("127.0.0.1", 2))
        assert open_descriptors() == before
        for _ in range(100):  # a real connection, found and shut down each time
            client = socket.create_connection(listener.getsockname())
            served, _ = listener.accept()
            with client, served:
                assert cut_connection(served.getsockname(), served.getpeername())
                assert client.recv(1) == b""  # the peer sees the connection end
        assert open_descriptors() == before
    finally:
        listener.close()
        for f in files:
            f.close()
        for read_end, write_end in pipes:
            os.close(read_end)
            os.close(write_end)


async def test_clients_cut_for_not_reading_leave_no_descriptors_behind() -> None:
    config = ServerConfig(stream_queue_size=4, write_timeout=0.3)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(trio_mcp_http.serve, TinyApp(), config)
            assert await echo_works(running)  # warm up: imports, caches, the reaper's task
            while connections_to(running.port):  # noqa: ASYNC110 (hypercorn closes the warm-up's)
                await trio.sleep(0.01)
            before = open_descriptors()
            for _round in range(10):
                async with request(running.url, "POST", POST_HEADERS, init_body()) as response:
                    sid = response.headers["mcp-session-id"]
                    await response.body()
                headers = [*POST_HEADERS, ("mcp-session-id", sid)]
                stalled = await open_unread_get(running.port, sid)
                while not running.statistics().streams:  # noqa: ASYNC110 (real I/O)
                    await trio.sleep(0.01)
                big = rpc("broadcast", {"data": "x" * 200_000})
                while running.statistics().streams:
                    async with request(running.url, "POST", headers, big) as response:
                        await response.body()
                    await trio.sleep(0.05)
                stalled.socket.close()
            while open_descriptors() > before:  # noqa: ASYNC110 (hypercorn closes them)
                await trio.sleep(0.05)
            assert open_descriptors() == before
            running.shutdown()
