"""The trio Redis client against a real redis-server: login, database, errors, cancellation."""

from __future__ import annotations

import pytest
import trio

from trio_mcp_http._redis import RedisConnection, RedisError, RedisUrl, parse_redis_url

from .engines import running_redis


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://example.org", RedisUrl("example.org", 6379)),
        ("rediss://u:p%40ss@h:7000/3", RedisUrl("h", 7000, None, True, "u", "p@ss", 3)),
        ("redis://:secret@127.0.0.1:6380/", RedisUrl("127.0.0.1", 6380, password="secret")),
        ("unix:///run/redis.sock?db=2", RedisUrl(None, 0, "/run/redis.sock", db=2)),
    ],
)
def test_urls(url: str, expected: RedisUrl) -> None:
    assert parse_redis_url(url) == expected


@pytest.mark.parametrize("url", ["http://h", "redis://", "unix://", "redis://h/x"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError, match="not a redis URL"):
        parse_redis_url(url)


async def test_login_database_commands_and_errors() -> None:
    with running_redis("--requirepass", "s3cret") as redis:
        connection = await RedisConnection.open(redis.url)
        with pytest.raises(RedisError, match="NOAUTH"):
            await connection.command("GET", "k")
        await connection.aclose()
        url = redis.url.replace("unix://", "unix://:s3cret@") + "?db=3"
        connection = await RedisConnection.open(url)
        try:
            assert await connection.command("PING") == b"PONG"
            assert await connection.command("SET", "k", "v\r\n") == b"OK"
            assert await connection.command("GET", "k") == b"v\r\n"
            info = await connection.command("CLIENT", "INFO")
            assert isinstance(info, bytes) and b" db=3 " in info
            with pytest.raises(RedisError, match="unknown command"):
                await connection.command("NOSUCHCOMMAND")
        finally:
            await connection.aclose()


async def test_a_cancelled_call_returns_at_once_and_a_lost_server_is_an_error() -> None:
    with running_redis() as redis:
        connection = await RedisConnection.open(redis.url)
        with trio.move_on_after(0.2) as waited:  # BLPOP blocks in Redis: cancelled here
            await connection.command("BLPOP", "nothing", 0)
        assert waited.cancelled_caught
        await connection.aclose()
        connection = await RedisConnection.open(redis.url)
        redis.stop()
        with trio.fail_after(5), pytest.raises(RedisError):
            await connection.command("PING")
        await connection.aclose()
    with trio.fail_after(5), pytest.raises(RedisError, match="cannot connect"):
        await RedisConnection.open(redis.url)
