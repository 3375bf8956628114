"""A notification bus shared by the processes of a deployment, through Redis pub/sub.

Every process publishes the changes raised in it on one Redis channel and subscribes to it;
a change from another process reaches this process's listen streams, and its sessions, as a
:class:`~trio_mcp_http.server.Change` with ``remote=True``. A change raised here reaches
this process's own subscribers directly (never through Redis, so never twice and never late)
and is sent to the others by a background task: :meth:`RedisBus.publish` never waits for
Redis.

Redis down or slow never holds up a request: connecting and sending are bounded by
``timeout``, changes raised while Redis is unreachable wait in a bounded backlog (the oldest
dropped first), and both connections are reopened with backoff. Delivery to other processes
is at most once: a change whose send failed is not sent again, and changes published by
others while this process was disconnected are not replayed (Redis pub/sub keeps nothing).
:meth:`RedisBus.health` (and ``McpApp.statistics().application["bus"]``) tells how it is doing.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import get_args

import trio

from .._redis import RedisConnection, RedisError, parse_redis_url
from ._bus import BusHealth, Change, ChangeKind, LocalBus

__all__ = ["RedisBus"]

log = logging.getLogger("trio_mcp_http.server.redis")

_KINDS = frozenset(get_args(ChangeKind))


class RedisBus:
    """The notification bus of several processes, through one Redis pub/sub channel.

    Give every process of the deployment the same ``url`` and ``channel``. The bus runs
    while the server serves (the session manager enters :meth:`serving`).

    Args:
        url: The Redis server (``redis://[:password@]host:port/db``, ``rediss://`` for TLS,
            ``unix:///path/to/socket``).
        channel: The pub/sub channel; one per deployment.
        buffer: Changes a subscriber of this process may fall behind by before it is dropped.
        timeout: Seconds for connecting to Redis and for sending one change.
        backlog: Changes kept while Redis is unreachable (the oldest dropped beyond it).
        reconnect_interval: Seconds before the first reconnection attempt; doubled after each
            failure up to ``max_reconnect_interval``.
        max_reconnect_interval: The longest wait between reconnection attempts.
        keepalive_interval: Seconds between PINGs on the subscription; one unanswered for
            ``timeout`` more means the connection is dead (a half-open TCP connection would
            otherwise lose every change silently).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379",
        *,
        channel: str = "trio-mcp-http:changes",
        buffer: int = 1000,
        timeout: float = 2.0,
        backlog: int = 1000,
        reconnect_interval: float = 0.25,
        max_reconnect_interval: float = 5.0,
        keepalive_interval: float = 15.0,
    ) -> None:
        if min(timeout, reconnect_interval, keepalive_interval) <= 0 or (
            max_reconnect_interval < reconnect_interval
        ):
            raise ValueError("timeouts and intervals must be positive, the maximum the largest")
        if backlog < 1:
            raise ValueError("backlog must be at least 1")
        self.url = url
        self.channel = channel
        self.timeout = timeout
        self.keepalive_interval = keepalive_interval
        self._heard = 0.0
        self._where = parse_redis_url(url)
        self._local = LocalBus(buffer)
        self._origin = secrets.token_hex(8)
        self._backlog: deque[bytes] = deque()
        self._backlog_limit = backlog
        self._wake = trio.Event()
        self._intervals = (reconnect_interval, max_reconnect_interval)
        self._subscribed = False
        self._sending = False
        self._sent = self._received = self._dropped = self._reconnects = 0
        self._last_error: str | None = None

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Change]]:
        """Open a subscription: the changes raised here and in the other processes."""
        return self._local.subscribe()

    async def publish(self, change: Change) -> None:
        """Deliver ``change`` to this process's subscribers and queue it for the others."""
        await self._local.publish(change)
        if change.remote:
            return
        if len(self._backlog) >= self._backlog_limit:
            self._backlog.popleft()
            self._dropped += 1
        message = {"o": self._origin, "k": change.kind, "u": change.uri}
        self._backlog.append(json.dumps(message, separators=(",", ":")).encode())
        self._wake.set()

    def health(self) -> BusHealth:
        """Connections and counters (see :class:`~trio_mcp_http.server.BusHealth`)."""
        return BusHealth(
            subscribers=self._local.health().subscribers,
            shared=True,
            connected=self._subscribed and self._sending,
            sent=self._sent,
            received=self._received,
            dropped=self._dropped,
            reconnects=self._reconnects,
            last_error=self._last_error,
        )

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[RedisBus]:
        """Run the two connections (receiving and sending) while the server serves.

        Waits for the subscription (connecting and subscribing, each up to ``timeout``), so
        that changes published by the other processes right after startup arrive; if Redis is
        unreachable the server starts anyway and the bus keeps trying.
        """
        async with trio.open_nursery() as nursery:
            await nursery.start(self._receive_forever)
            nursery.start_soon(self._send_forever)
            try:
                yield self
            finally:
                nursery.cancel_scope.cancel()

    async def _connect(self) -> RedisConnection:
        with trio.fail_after(self.timeout):
            return await RedisConnection.open(self._where)

    def _lost(self, what: str, exc: Exception, was_connected: bool) -> None:
        while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # what the nursery around the subscription raised
        self._last_error = f"{what}: {exc}"
        if was_connected:
            self._reconnects += 1
            log.warning("redis bus lost its %s connection (%s); reconnecting", what, exc)

    async def _receive_forever(self, *, task_status: trio.TaskStatus[None]) -> None:
        started = False
        delay = self._intervals[0]
        while True:
            try:
                connection = await self._connect()
                try:
                    with trio.fail_after(self.timeout):
                        await connection.command("SUBSCRIBE", self.channel)
                    self._subscribed, delay = True, self._intervals[0]
                    if not started:
                        task_status.started()
                        started = True
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._keep_alive, connection)
                        while True:  # silent between changes: the pings tell it is alive
                            reply = await connection.receive()
                            self._heard = trio.current_time()
                            await self._deliver(reply)
                finally:
                    await connection.aclose()
            except Exception as exc:  # whatever breaks the connection: reconnect
                self._lost("subscription", exc, self._subscribed)
                self._subscribed = False
            if not started:
                log.warning("redis bus: cannot subscribe at %s (%s)", self.url, self._last_error)
                task_status.started()
                started = True
            await trio.sleep(delay)
            delay = min(delay * 2, self._intervals[1])

    async def _keep_alive(self, connection: RedisConnection) -> None:
        """PING the subscription now and then; no answer in time means the connection is dead."""
        self._heard = trio.current_time()
        while True:
            await trio.sleep(self.keepalive_interval)
            if trio.current_time() - self._heard > self.keepalive_interval + self.timeout:
                raise RedisError("the subscription answers no PING")
            with trio.fail_after(self.timeout):
                await connection.send("PING")

    async def _deliver(self, reply: object) -> None:
        if not (isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message"):
            return  # subscribe confirmations and the like
        try:
            data = json.loads(reply[2])
            kind, uri = data["k"], data["u"]
            if data["o"] == self._origin:
                return
            if kind not in _KINDS or not (uri is None or isinstance(uri, str)):
                raise ValueError(f"not a change: {data!r}")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("redis bus: ignoring a message on %s: %s", self.channel, exc)
            return
        self._received += 1
        await self._local.publish(Change(kind, uri, remote=True))

    async def _send_forever(self) -> None:
        delay = self._intervals[0]
        while True:
            try:
                connection = await self._connect()
                try:
                    with trio.fail_after(self.timeout):
                        await connection.command("PING")
                    self._sending, delay = True, self._intervals[0]
                    while True:
                        while not self._backlog:
                            self._wake = trio.Event()
                            await self._wake.wait()
                        message = self._backlog.popleft()
                        try:
                            with trio.fail_after(self.timeout):
                                await connection.command("PUBLISH", self.channel, message)
                        except Exception:
                            self._dropped += 1  # at most once: it may have been delivered
                            raise
                        self._sent += 1
                finally:
                    await connection.aclose()
            except Exception as exc:  # whatever breaks the connection: reconnect
                self._lost("sending", exc, self._sending)
                self._sending = False
            await trio.sleep(delay)
            delay = min(delay * 2, self._intervals[1])
