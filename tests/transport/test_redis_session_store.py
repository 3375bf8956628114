"""RedisSessionStore against a real redis-server: records, expiry, broken connections."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio

from trio_mcp_http import RedisSessionStore, SessionRecord
from trio_mcp_http._redis import RedisConnection, RedisError

from ..engines import Redis, running_redis

RECORD = SessionRecord("2025-11-25", "alice", {"logLevel": "error", "subscriptions": ["a"]})


@pytest.fixture
def redis() -> Iterator[Redis]:
    with running_redis() as server:
        yield server


async def test_save_load_delete_and_expiry(redis: Redis) -> None:
    store = RedisSessionStore(redis.url, key_prefix="t:")
    await store.save("s1", RECORD, 90.0)
    await store.save("s2", RECORD, None)
    assert await store.load("s1") == RECORD
    assert await store.load("nope") is None
    raw = await RedisConnection.open(redis.url)
    ttl = await raw.command("PTTL", "t:s1")
    assert isinstance(ttl, int) and 89_000 < ttl <= 90_000
    assert await raw.command("PTTL", "t:s2") == -1  # no expiry
    await raw.command("SET", "t:junk", "not json")
    with pytest.raises(ValueError, match="not a session record"):
        await store.load("junk")
    await store.delete("s1")
    assert await store.load("s1") is None
    await raw.aclose()
    await store.aclose()


async def test_a_lost_or_cancelled_connection_is_never_reused(redis: Redis) -> None:
    store = RedisSessionStore(redis.url)
    await store.save("s", RECORD, None)
    with trio.move_on_after(0.001):  # cancelled mid-command: its reply must not be read later
        while True:
            await store.load("s")
    assert await store.load("s") == RECORD
    async with trio.open_nursery() as nursery:  # several connections kept in the pool
        for _ in range(4):
            nursery.start_soon(store.load, "s")
    redis.stop()
    with pytest.raises(RedisError):
        await store.load("s")
    redis.start()  # a new, empty server: dead kept connections are replaced on the way
    for _ in range(5):
        assert await store.load("s") is None
    await store.aclose()
