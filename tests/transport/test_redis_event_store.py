"""RedisEventStore against a real redis-server: a session restored elsewhere resumes exactly.

Two endpoints stand for two processes: each has its own RedisEventStore (its own memory) on
one Redis, and they share a session store. Events the first one stored reach Redis behind
its back; the second loads them when it restores the session, so a client resuming there
with Last-Event-ID gets exactly what it missed, then the live stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AsyncExitStack

import pytest
import trio

from tests.helpers import initialize
from tests.server.client import serving
from trio_mcp_http import (
    McpApp,
    MemorySessionStore,
    RedisEventStore,
    ServerConfig,
)
from trio_mcp_http._redis import RedisConnection
from trio_mcp_http.server import McpServer
from trio_mcp_http.testing import AsgiResponse, asgi_request

from ..engines import Redis, running_redis

LATEST = "2025-11-25"
WAIT = 10.0


@pytest.fixture
def redis() -> Iterator[Redis]:
    with running_redis() as server:
        yield server


def build() -> McpServer:
    server = McpServer("events-test")

    @server.tool()
    def noop() -> str:
        """Nothing."""
        return "ok"

    return server


async def two_processes(
    stack: AsyncExitStack, redis: Redis, **options: int
) -> list[tuple[McpServer, McpApp, RedisEventStore]]:
    sessions = MemorySessionStore()
    out = []
    for _ in range(2):
        events = RedisEventStore(redis.url, **options)  # type: ignore[arg-type]
        server = build()
        config = ServerConfig(session_store=sessions, event_store=events)
        out.append((server, await stack.enter_async_context(serving(server, config)), events))
    return out


def get(session_id: str, last_event_id: str | None = None) -> list[tuple[str, str]]:
    headers = [
        ("accept", "text/event-stream"),
        ("mcp-session-id", session_id),
        ("mcp-protocol-version", LATEST),
    ]
    return headers if last_event_id is None else [*headers, ("last-event-id", last_event_id)]


async def next_data_event(response: AsgiResponse) -> tuple[str, str]:
    with trio.fail_after(WAIT):
        while True:
            event = await response.next_event()
            if event.data:
                assert event.id is not None
                return event.id, json.loads(event.data)["method"]


async def written(store: RedisEventStore, count: int) -> None:
    with trio.fail_after(WAIT):
        while store.written < count:  # noqa: ASYNC110 (real Redis)
            await trio.sleep(0.01)


async def test_a_restored_session_replays_exactly_what_its_client_missed(redis: Redis) -> None:
    async with AsyncExitStack() as stack:
        (first_server, first, first_events), (second_server, second, _) = await two_processes(
            stack, redis
        )
        sid = await initialize(first)
        async with asgi_request(first, "GET", headers=get(sid)) as stream:
            await stream.next_event()  # the priming event
            for _ in range(3):
                await first_server.notify_tools_changed()
            seen, _ = await next_data_event(stream)  # the client gets one, then is cut off
        await written(first_events, 4)
        async with asgi_request(second, "GET", headers=get(sid, seen)) as stream:
            assert stream.status == 200  # restored there, its events loaded from Redis
            missed = [await next_data_event(stream) for _ in range(2)]
            assert [method for _, method in missed] == ["notifications/tools/list_changed"] * 2
            assert [event_id.split(":")[0] for event_id, _ in missed] == ["g", "g"]
            await second_server.notify_tools_changed()
            live_id, _ = await next_data_event(stream)
        old_seqs = [int(event_id.split(":")[1]) for event_id, _ in missed]
        assert live_id.startswith("g.") and int(live_id.split(":")[1]) > max(old_seqs)
        async with asgi_request(second, "GET", headers=get(sid, "g:99")) as stream:
            assert stream.status == 400  # never issued: unknown


async def test_trimmed_events_are_a_clean_410_and_ended_sessions_leave_nothing(
    redis: Redis,
) -> None:
    async with AsyncExitStack() as stack:
        (first_server, first, first_events), (_, second, _) = await two_processes(
            stack, redis, max_session_events=2
        )
        sid = await initialize(first)
        async with asgi_request(first, "GET", headers=get(sid)) as stream:
            await stream.next_event()
            for _ in range(4):
                await first_server.notify_tools_changed()
            seen, _ = await next_data_event(stream)
        await written(first_events, 5)
        async with asgi_request(second, "GET", headers=get(sid, seen)) as stream:
            assert stream.status == 410  # Redis kept the last 2 only: a gap, not a silent one
        headers = [("mcp-session-id", sid), ("mcp-protocol-version", LATEST)]
        async with asgi_request(second, "DELETE", headers=headers) as response:
            assert response.status == 200
        raw = await RedisConnection.open(redis.url)
        with trio.fail_after(WAIT):
            while await raw.command("EXISTS", f"trio-mcp-http:events:{sid}"):  # noqa: ASYNC110
                await trio.sleep(0.01)
        await raw.aclose()


async def test_shutdown_with_redis_down_loses_the_backlog_not_the_server() -> None:
    events = RedisEventStore("unix:///nonexistent/redis.sock", timeout=0.2)
    config = ServerConfig(session_store=MemorySessionStore(), event_store=events)
    with trio.fail_after(WAIT):
        async with serving(build(), config) as app:
            sid = await initialize(app)
            async with asgi_request(app, "GET", headers=get(sid)) as stream:
                await stream.next_event()  # the priming event: queued for Redis, never written
    assert events.errors >= 1 and events.written == 0


def test_after_forget_nothing_more_goes_to_redis_and_deletes_are_kept() -> None:
    events = RedisEventStore("unix:///nonexistent/redis.sock", backlog=100)
    events.append("s", "g", b"a" * 10)
    events.forget("s")
    events.forget("s")  # once is enough
    events.append("s", "g", b"late")  # a cancelled task's last event: not written to Redis
    assert [entry is None for _, entry in events._backlog] == [False, True]
    for _ in range(20):  # over the byte budget: the oldest entries go, the delete stays
        events.append("t", "g", b"b" * 30)
    assert ("s", None) in events._backlog and events.dropped > 0
    assert events._backlog_bytes <= 100 + 40
    with pytest.raises(ValueError, match="max_session_events"):
        RedisEventStore(max_session_events=5000)
