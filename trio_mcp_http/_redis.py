"""A small Redis client on trio streams: one connection, one command at a time, RESP2.

What the deployment features need of Redis is a few commands and pub/sub, under trio's
cancellation: every call here is a plain trio checkpoint, so a caller's ``fail_after`` or a
cancelled scope ends it cleanly (the connection is then unusable and is closed). The protocol
itself is the sans-IO :mod:`trio_mcp_http._core.resp`.

URLs: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS) and
``unix:///path/to/socket[?db=N]``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import trio

from ._core.resp import NeedData, Reply, RespError, RespParser, RespProtocolError, encode_command

__all__ = ["RedisConnection", "RedisError", "RedisUrl", "parse_redis_url"]


class RedisError(Exception):
    """Redis answered with an error, or the connection failed."""


@dataclass(frozen=True, slots=True)
class RedisUrl:
    """Where a Redis server is and how to log in."""

    host: str | None = "127.0.0.1"
    port: int = 6379
    unix_path: str | None = None
    tls: bool = False
    username: str | None = None
    password: str | None = None
    db: int = 0


def parse_redis_url(url: str) -> RedisUrl:
    """Parse ``redis://``, ``rediss://`` and ``unix://`` URLs.

    Raises:
        ValueError: Not such a URL.
    """
    try:
        return _parse(url)
    except ValueError as exc:
        raise ValueError(f"not a redis URL ({exc}): {url!r}") from None


def _parse(url: str) -> RedisUrl:
    parts = urlsplit(url)
    password = unquote(parts.password) if parts.password is not None else None
    username = unquote(parts.username) if parts.username else None
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError("no socket path")
        db = parse_qs(parts.query).get("db", ["0"])[0]
        return RedisUrl(None, 0, parts.path, False, username, password, int(db))
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError("redis://, rediss:// or unix:// with a host or path")
    path = parts.path.strip("/")
    return RedisUrl(
        parts.hostname,
        parts.port or 6379,
        None,
        parts.scheme == "rediss",
        username,
        password,
        int(path) if path else 0,
    )


class RedisConnection:
    """One connection to Redis. Not for concurrent use: one task sends, one reply at a time."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream
        self._parser = RespParser()
        #: A command did not complete (failed, or was cancelled with its reply still to come):
        #: the connection is out of step and must not be used again.
        self.broken = False

    @classmethod
    async def open(cls, url: str | RedisUrl) -> RedisConnection:
        """Connect, log in and select the database (bound the time with ``fail_after``)."""
        where = parse_redis_url(url) if isinstance(url, str) else url
        try:
            if where.unix_path is not None:
                stream: trio.abc.Stream = await trio.open_unix_socket(where.unix_path)
            else:
                assert where.host is not None
                tcp = await trio.open_tcp_stream(where.host, where.port)
                stream = tcp
                if where.tls:
                    context = ssl.create_default_context()
                    stream = trio.SSLStream(tcp, context, server_hostname=where.host)
        except OSError as exc:
            raise RedisError(f"cannot connect to redis: {exc}") from exc
        connection = cls(stream)
        try:
            if where.password is not None:
                login = [where.username] if where.username else []
                await connection.command("AUTH", *login, where.password)
            if where.db:
                await connection.command("SELECT", where.db)
        except BaseException:
            await connection.aclose()
            raise
        return connection

    async def send(self, *args: bytes | str | int) -> None:
        """Send a command without waiting for its reply (pub/sub)."""
        try:
            await self._stream.send_all(encode_command(*args))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise RedisError(f"redis connection lost: {exc}") from exc

    async def receive(self) -> Reply:
        """The next reply or pushed message; an error reply is returned as a value."""
        while True:
            try:
                reply = self._parser.next_reply()
            except RespProtocolError as exc:
                raise RedisError(f"not a redis reply: {exc}") from exc
            if not isinstance(reply, NeedData):
                return reply
            try:
                data = await self._stream.receive_some(1 << 20)  # big replies: few re-walks
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise RedisError(f"redis connection lost: {exc}") from exc
            if not data:
                raise RedisError("redis closed the connection")
            self._parser.feed(data)

    async def command(self, *args: bytes | str | int) -> Reply:
        """Send a command and return its reply.

        Raises:
            RedisError: Redis answered with an error, or the connection failed.
        """
        self.broken = True
        await self.send(*args)
        reply = await self.receive()
        self.broken = False
        if isinstance(reply, RespError):
            raise RedisError(reply.message)
        return reply

    async def aclose(self) -> None:
        """Close the connection (at once: no goodbye to Redis)."""
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(self._stream)
