"""A :class:`~trio_mcp_http.SessionStore` on Redis, shared by the processes of a deployment."""

from __future__ import annotations

import math

from .._redis import RedisConnection, RedisError, parse_redis_url
from .session_store import SessionRecord

__all__ = ["RedisSessionStore"]


class RedisSessionStore:
    """Session records as Redis strings (``SET key value PX ttl``), one key per session.

    Records expire by themselves (their TTL is the sessions' idle timeout with a margin, and
    is renewed while a session is used), so a crashed process leaves nothing behind for long.

    Args:
        url: The Redis server (``redis://[:password@]host:port/db``, ``rediss://``,
            ``unix:///path``).
        key_prefix: Put before each session id; one per deployment.
        max_idle_connections: Connections kept open between operations.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379",
        *,
        key_prefix: str = "trio-mcp-http:session:",
        max_idle_connections: int = 4,
    ) -> None:
        self.url = url
        self.key_prefix = key_prefix
        self._where = parse_redis_url(url)
        self._idle: list[RedisConnection] = []
        self._max_idle = max_idle_connections

    async def _command(self, *args: bytes | str | int) -> object:
        if self._idle:  # a kept connection may have died meanwhile: then once more, anew
            connection = self._idle.pop()
            try:
                return await self._run(connection, args)
            except RedisError:
                if not connection.broken:
                    raise  # an error reply: Redis is there and said no
        return await self._run(await RedisConnection.open(self._where), args)

    async def _run(
        self, connection: RedisConnection, args: tuple[bytes | str | int, ...]
    ) -> object:
        try:
            return await connection.command(*args)
        finally:  # an error reply leaves the connection usable; a failure or cancel does not
            if connection.broken or len(self._idle) >= self._max_idle:
                await connection.aclose()
            else:
                self._idle.append(connection)

    async def save(self, session_id: str, record: SessionRecord, ttl: float | None) -> None:
        """``SET`` the record, expiring after ``ttl`` seconds (``None``: never)."""
        key = self.key_prefix + session_id
        if ttl is None or math.isinf(ttl):
            await self._command("SET", key, record.to_json())
        else:
            await self._command("SET", key, record.to_json(), "PX", max(1, int(ttl * 1000)))

    async def load(self, session_id: str) -> SessionRecord | None:
        """``GET`` the record; ``None`` when absent.

        Raises:
            trio_mcp_http._redis.RedisError: Redis failed.
            ValueError: The key holds something else.
        """
        reply = await self._command("GET", self.key_prefix + session_id)
        if reply is None:
            return None
        if not isinstance(reply, bytes):
            raise ValueError("not a session record")
        return SessionRecord.from_json(reply)

    async def delete(self, session_id: str) -> None:
        """``DEL`` the record."""
        await self._command("DEL", self.key_prefix + session_id)

    async def aclose(self) -> None:
        """Close the idle connections."""
        while self._idle:
            await self._idle.pop().aclose()
