"""RedisBus against a real redis-server: changes cross processes, Redis down never hangs anything.

Two servers in one trio program stand for two processes (each bus has its own origin); the
deployment tests (tests/deploy) run them as separate processes behind real proxies.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

import trio_mcp_http
from trio_mcp_http import RunningServer
from trio_mcp_http._core.resp import NeedData, RespParser
from trio_mcp_http._redis import RedisConnection
from trio_mcp_http.client import open_client
from trio_mcp_http.server import (
    BusHealth,
    Change,
    LocalBus,
    McpServer,
    RedisBus,
    SubscriptionLost,
)

from ..engines import Redis, running_redis

WAIT = 10.0  # seconds any one step may take (real sockets, real Redis)


@pytest.fixture
def redis() -> Iterator[Redis]:
    with running_redis() as server:
        yield server


def build(redis_url: str) -> McpServer:
    server = McpServer("bus-test", bus=RedisBus(redis_url, timeout=1.0))

    @server.tool()
    async def touch() -> str:
        """Says the tools changed."""
        await server.notify_tools_changed()
        return "touched"

    @server.resource("mem://doc")
    def doc() -> str:
        """A document."""
        return "text"

    return server


async def wait_until_connected(*buses: RedisBus) -> None:
    with trio.fail_after(WAIT):
        while not all(bus.health().connected for bus in buses):  # noqa: ASYNC110 (real Redis)
            await trio.sleep(0.01)


async def receive(changes: AsyncIterator[Change]) -> Change:
    with trio.fail_after(WAIT):
        return await changes.__anext__()


async def test_a_change_reaches_the_other_process_once_and_this_one_directly(
    redis: Redis,
) -> None:
    here, there = RedisBus(redis.url), RedisBus(redis.url)
    async with (
        here.serving(),
        there.serving(),
        here.subscribe() as local,
        there.subscribe() as remote,
    ):
        await wait_until_connected(here, there)
        await here.publish(Change("resource", "mem://doc"))
        assert await receive(local) == Change("resource", "mem://doc")
        assert await receive(remote) == Change("resource", "mem://doc", remote=True)
        await there.publish(Change("tools"))
        assert await receive(remote) == Change("tools")
        assert await receive(local) == Change("tools", remote=True)  # not the doc again
        # The PUBLISH reply and the subscriber's copy come on two sockets, in either order.
        with trio.fail_after(WAIT):
            while there.health().sent < 1:  # noqa: ASYNC110 (real Redis)
                await trio.sleep(0.01)
        assert here.health().sent == 1 and here.health().received == 1
        assert there.health().sent == 1 and there.health().received == 1


async def test_foreign_or_malformed_messages_on_the_channel_are_ignored(redis: Redis) -> None:
    bus = RedisBus(redis.url)
    raw = await RedisConnection.open(redis.url)
    async with bus.serving(), bus.subscribe() as changes:
        await wait_until_connected(bus)
        for junk in (b"not json", b"[]", json.dumps({"o": "x", "k": "nope", "u": None}).encode()):
            assert await raw.command("PUBLISH", bus.channel, junk) == 1
        await raw.command("PUBLISH", bus.channel, json.dumps({"o": "x", "k": "prompts", "u": None}))
        assert await receive(changes) == Change("prompts", remote=True)
        assert bus.health().received == 1
    await raw.aclose()


@pytest.fixture
async def two_servers(
    redis: Redis, nursery: trio.Nursery
) -> AsyncIterator[tuple[McpServer, RunningServer, McpServer, RunningServer]]:
    first, second = build(redis.url), build(redis.url)
    one: RunningServer = await nursery.start(trio_mcp_http.serve, first)
    two: RunningServer = await nursery.start(trio_mcp_http.serve, second)
    assert isinstance(first.bus, RedisBus) and isinstance(second.bus, RedisBus)
    await wait_until_connected(first.bus, second.bus)
    yield first, one, second, two
    one.shutdown()
    two.shutdown()


async def test_listeners_and_sessions_of_another_server_hear_a_change(
    two_servers: tuple[McpServer, RunningServer, McpServer, RunningServer],
) -> None:
    _, one, second, two = two_servers
    heard: list[str] = []
    session_heard = trio.Event()

    async def on_notification(notification: Any) -> None:
        heard.append(notification.method)
        session_heard.set()

    async with (
        open_client(two.url, mode="2026-07-28") as listener,
        listener.subscribe(tools=True, resource_uris=["mem://doc"]) as changes,
        open_client(two.url, mode="legacy", on_notification=on_notification) as session,
        open_client(one.url, mode="2026-07-28") as caller,
    ):
        assert await session.listen()
        await caller.call_tool("touch")  # raised on the first server
        with trio.fail_after(WAIT):
            notification = await changes.__anext__()
            await session_heard.wait()
        assert notification.method == "notifications/tools/list_changed"
        assert heard == ["notifications/tools/list_changed"]
        stats = two.statistics().application["bus"]
        assert stats == second.bus.health() and stats.received == 1


async def test_redis_down_never_holds_a_request_and_the_bus_reconnects(
    redis: Redis, nursery: trio.Nursery
) -> None:
    first, second = build(redis.url), build(redis.url)
    one: RunningServer = await nursery.start(trio_mcp_http.serve, first)
    two: RunningServer = await nursery.start(trio_mcp_http.serve, second)
    assert isinstance(first.bus, RedisBus) and isinstance(second.bus, RedisBus)
    await wait_until_connected(first.bus, second.bus)
    redis.stop()
    async with (
        open_client(one.url, mode="2026-07-28") as caller,
        open_client(two.url, mode="2026-07-28") as listener,
        listener.subscribe(tools=True) as changes,
    ):
        with trio.fail_after(first.bus.timeout + 2):  # Redis is gone: answered all the same
            assert (await caller.call_tool("touch")).content[0]["text"] == "touched"
        with trio.fail_after(WAIT):
            while first.bus.health().connected:  # noqa: ASYNC110 (real Redis)
                await trio.sleep(0.01)
        health = first.bus.health()
        assert not health.connected and health.last_error is not None
        redis.start()
        await wait_until_connected(first.bus, second.bus)
        assert first.bus.health().reconnects >= 1
        await caller.call_tool("touch")
        with trio.fail_after(WAIT):
            notification = await changes.__anext__()
        assert notification.method == "notifications/tools/list_changed"
    one.shutdown()
    two.shutdown()


async def test_a_server_starts_while_redis_is_unreachable() -> None:
    bus = RedisBus("unix:///nonexistent/redis.sock", timeout=0.5)
    with trio.fail_after(WAIT):
        async with bus.serving(), bus.subscribe() as changes:
            await bus.publish(Change("tools"))  # this process's listeners still have it
            assert await receive(changes) == Change("tools")
            assert not bus.health().connected


class LossyBus(LocalBus):
    """A shared bus whose first subscription is lost at once (its subscriber fell behind)."""

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions = 0

    def health(self) -> BusHealth:
        return BusHealth(subscribers=self.subscribers, shared=True)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Change]]:
        self.subscriptions += 1
        if self.subscriptions == 1:
            raise SubscriptionLost("fell behind")
        async with super().subscribe() as changes:
            yield changes


async def test_the_relay_subscribes_again_after_falling_behind(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus = LossyBus()
    server = McpServer("relay", bus=bus)
    async with server.serving():  # the relay started once, lost, subscribed again: no crash
        await trio.testing.wait_all_tasks_blocked()
        assert bus.subscriptions == 2
        assert server.statistics()["bus"] == BusHealth(subscribers=1, shared=True)


async def test_a_subscription_that_stops_answering_is_reopened() -> None:
    """A half-open connection (no reset, no answer) is found out by the PINGs."""
    directory = tempfile.mkdtemp(prefix="tmh-fake-", dir="/tmp")
    subscriptions = 0

    async def fake_redis(stream: trio.SocketStream) -> None:
        nonlocal subscriptions
        parser, subscribed = RespParser(), False
        async for data in stream:
            parser.feed(data)
            while not isinstance(command := parser.next_reply(), NeedData):
                assert isinstance(command, list)
                if command[0] == b"SUBSCRIBE":
                    subscriptions += 1
                    subscribed = True
                    await stream.send_all(b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n")
                elif not subscribed:  # the sending connection's PING and PUBLISH
                    await stream.send_all(b"+PONG\r\n")
                # subscribed: silent, as a peer behind a broken network would be

    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await sock.bind(f"{directory}/redis.sock")
    sock.listen()
    bus = RedisBus(f"unix://{directory}/redis.sock", timeout=0.2, keepalive_interval=0.2)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, fake_redis, [trio.SocketListener(sock)])
            async with bus.serving():
                with trio.fail_after(WAIT):
                    while subscriptions < 2:  # noqa: ASYNC110 (real sockets)
                        await trio.sleep(0.01)
            assert bus.health().reconnects >= 1
            assert "answers no PING" in (bus.health().last_error or "")
            nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
