"""The HTTP layer: URLs, keep-alive, stale connections, TLS, and SSE under arbitrary chunking."""

from __future__ import annotations

import json
import ssl
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.client.servers import Exchange, ScriptedServer, answer_lifecycle
from trio_mcp_http.client import McpConnectionError, open_client
from trio_mcp_http.client._http import ConnectionPool, Endpoint, HttpConnection, parse_endpoint
from trio_mcp_http.client._transport import EventStream

#: These tests are about sessions (the handshake era): no era probe first.
open_legacy = partial(open_client, mode="legacy")

HERE = Path(__file__).parent
CERT, KEY = HERE / "test_cert.pem", HERE / "test_key.pem"
Clock = trio.testing.MockClock


@pytest.mark.parametrize(
    ("url", "expected", "authority"),
    [
        (
            "http://127.0.0.1:8000/mcp",
            Endpoint("http", "127.0.0.1", 8000, "/mcp"),
            "127.0.0.1:8000",
        ),
        ("http://example.com", Endpoint("http", "example.com", 80, "/"), "example.com"),
        (
            "HTTPS://Example.com/a/b?x=1",
            Endpoint("https", "example.com", 443, "/a/b?x=1"),
            "example.com",
        ),
        ("https://[::1]:9000/mcp", Endpoint("https", "::1", 9000, "/mcp"), "[::1]:9000"),
    ],
)
def test_parse_endpoint(url: str, expected: Endpoint, authority: str) -> None:
    assert parse_endpoint(url) == expected
    assert expected.authority == authority


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "/relative", "http://", "http://user:pw@host/"]
)
def test_parse_endpoint_rejects(url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        parse_endpoint(url)


async def _ok(ex: Exchange) -> None:
    await ex.respond(200, b"ok", [("content-type", "text/plain")])


async def test_pool_reuses_a_kept_alive_connection(autojump_clock: Clock) -> None:
    async with trio.open_nursery() as nursery:
        server = ScriptedServer(_ok, nursery)
        pool = ConnectionPool(parse_endpoint("http://h/x"), connect=server.connect)
        for _ in range(3):
            async with pool.request("GET", []) as response:
                assert (response.status, await response.read(100)) == (200, b"ok")
        assert server.connections == 1
        assert [r.target for r in server.requests] == ["/x"] * 3
        await pool.aclose()
        nursery.cancel_scope.cancel()


async def test_pool_reconnects_when_the_server_closed_an_idle_connection(
    autojump_clock: Clock,
) -> None:
    async def handler(ex: Exchange) -> None:
        ex.close_after = True  # the server drops the connection after each response
        await _ok(ex)

    async with trio.open_nursery() as nursery:
        server = ScriptedServer(handler, nursery)
        pool = ConnectionPool(parse_endpoint("http://h/x"), connect=server.connect)
        for _ in range(3):
            async with pool.request("POST", [], b"{}") as response:
                assert await response.read(100) == b"ok"
            await trio.testing.wait_all_tasks_blocked()
        assert server.connections == 3
        assert len(server.requests) == 3  # each request reached the server exactly once
        await pool.aclose()
        nursery.cancel_scope.cancel()


async def test_connection_close_header_prevents_reuse(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        await ex.respond(200, b"ok", [("connection", "close")])

    async with trio.open_nursery() as nursery:
        server = ScriptedServer(handler, nursery)
        pool = ConnectionPool(parse_endpoint("http://h/x"), connect=server.connect)
        for _ in range(2):
            async with pool.request("GET", []) as response:
                await response.read(100)
        assert server.connections == 2
        nursery.cancel_scope.cancel()


async def test_unread_body_closes_the_connection(autojump_clock: Clock) -> None:
    async with trio.open_nursery() as nursery:
        server = ScriptedServer(_ok, nursery)
        pool = ConnectionPool(parse_endpoint("http://h/x"), connect=server.connect)
        async with pool.request("GET", []) as response:
            assert response.status == 200  # body left unread
        async with pool.request("GET", []) as response:
            await response.read(100)
        assert server.connections == 2
        nursery.cancel_scope.cancel()


async def test_connection_refused_is_a_connection_error() -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with trio.fail_after(5), pytest.raises(McpConnectionError, match="cannot connect"):
        async with open_legacy(f"http://127.0.0.1:{port}/mcp"):
            pass  # pragma: no cover


def _server_tls(stream: trio.abc.Stream) -> trio.abc.Stream:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERT, KEY)
    return trio.SSLStream(stream, context, server_side=True)


async def test_https_over_tls(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if not await answer_lifecycle(ex):
            await ex.json(
                {"jsonrpc": "2.0", "id": ex.request.json["id"], "result": {"secure": True}}
            )

    context = ssl.create_default_context(cafile=str(CERT))
    async with trio.open_nursery() as nursery:
        server = ScriptedServer(handler, nursery, wrap=_server_tls)
        async with open_legacy(
            "https://localhost:8443/mcp", connect=server.connect, ssl_context=context
        ) as client:
            assert await client.request("x") == {"secure": True}
            assert await client.request("x") == {"secure": True}
        assert server.connections == 1
        assert {r.headers["host"] for r in server.requests} == {"localhost:8443"}
        nursery.cancel_scope.cancel()


async def test_https_with_an_untrusted_certificate_fails(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        raise AssertionError("never reached")  # pragma: no cover

    async with trio.open_nursery() as nursery:
        server = ScriptedServer(handler, nursery, wrap=_server_tls)
        with pytest.raises(McpConnectionError, match="TLS handshake failed"):
            async with open_legacy(
                "https://localhost/mcp",
                connect=server.connect,
                ssl_context=ssl.create_default_context(),
            ):
                pass  # pragma: no cover
        nursery.cancel_scope.cancel()


# -- SSE over HTTP under arbitrary chunking --------------------------------------------------


class PiecesStream(trio.abc.Stream):
    """A stream whose peer sends exactly these pieces, one per ``receive_some``, then EOF."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.sent = b""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        self.sent += bytes(data)

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        return self.pieces.pop(0) if self.pieces else b""

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


_event_ids = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=8
)


@st.composite
def sse_exchanges(draw: st.DrawFn) -> tuple[bytes, list[dict[str, Any]], str]:
    """Raw HTTP response bytes of an SSE stream, the messages it holds, and its last id."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    messages: list[dict[str, Any]] = []
    body, last_id = "", ""
    for i in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            body += ": keep-alive" + newline + newline
        if draw(st.booleans()):  # a priming event: id and empty data
            last_id = draw(_event_ids)
            body += f"id: {last_id}{newline}data:{newline}{newline}"
        message = {
            "jsonrpc": "2.0",
            "method": "notifications/message",
            "params": {"i": i, "text": draw(st.text(max_size=20))},
        }
        messages.append(message)
        head = ""
        if draw(st.booleans()):
            last_id = draw(_event_ids)
            head += f"id:{last_id}{newline}"
        if draw(st.booleans()):
            head += f"event: message{newline}"
        if draw(st.booleans()):
            head += f"retry: {draw(st.integers(0, 5000))}{newline}"
        body += head + "data: " + json.dumps(message, ensure_ascii=False) + newline + newline
    raw_body = body.encode()
    chunked = b""
    position = 0
    while position < len(raw_body):
        size = draw(st.integers(1, max(1, len(raw_body) - position)))
        piece = raw_body[position : position + size]
        chunked += b"%x\r\n" % len(piece) + piece + b"\r\n"
        position += size
    chunked += b"0\r\n\r\n"
    head_bytes = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    return head_bytes + chunked, messages, last_id


@settings(max_examples=150, deadline=None)
@given(exchange=sse_exchanges(), data=st.data())
def test_sse_messages_survive_any_chunking(
    exchange: tuple[bytes, list[dict[str, Any]], str], data: st.DataObject
) -> None:
    raw, messages, last_id = exchange
    cuts = sorted(data.draw(st.sets(st.integers(1, len(raw) - 1), max_size=30)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]

    async def main() -> None:
        connection = HttpConnection(PiecesStream(pieces), "h")
        response = await connection.send_request("GET", "/", [], None)
        stream = EventStream(response)
        got = [message async for message in stream]
        assert [m.model_dump(exclude_none=True) for m in got] == messages
        assert stream.last_event_id == last_id
        assert stream.ended
        assert connection.reusable

    trio.run(main)


def test_dropped_stream_keeps_the_id_of_the_last_complete_event() -> None:
    body = b'id: a1\ndata: {"jsonrpc":"2.0","method":"m"}\n\nid: a2\ndata: {"jsonr'
    raw = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(body)
        + body
        + b"\r\n"
    )

    async def main() -> None:
        connection = HttpConnection(PiecesStream([raw]), "h")
        response = await connection.send_request("GET", "/", [], None)
        stream = EventStream(response)
        first = await stream.next_message()
        assert first is not None
        with pytest.raises(McpConnectionError):
            await stream.next_message()
        assert stream.last_event_id == "a1"
        assert not stream.ended
        assert not connection.reusable

    trio.run(main)
