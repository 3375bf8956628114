"""An :class:`~trio_mcp_http.EventStore` written behind to Redis, for resuming across processes.

Events are stored here first (a :class:`~trio_mcp_http.MemoryEventStore`: ids, replay and
bounds as in one process) and copied to Redis by a background task, one list per session
(``RPUSH``, trimmed to ``max_session_events``, expiring ``ttl`` seconds after its last
write). When another process restores the session (``ServerConfig.session_store``), it loads
the list first, so a client resuming with ``Last-Event-ID`` there gets the exact events it
missed, or 410 when older ones were trimmed. Events not yet copied when a process crashed
are lost: a resume from one of them is an unknown id (400), never a wrong replay.
"""

from __future__ import annotations

import logging
from collections import deque

import trio

from .._core.events import MemoryEventStore, Replay
from .._core.resp import MAX_ARRAY
from .._redis import RedisConnection, parse_redis_url

__all__ = ["RedisEventStore"]

log = logging.getLogger("trio_mcp_http.event_store")

_MARKER = b"\x00"  # a priming marker's payload in Redis (never replayed)


class RedisEventStore:
    """Events kept in this process and copied to Redis, loaded again where a session moves.

    Use it with a session store: ``ServerConfig(event_store=RedisEventStore(url),
    session_store=RedisSessionStore(url))``.

    Args:
        url: The Redis server (``redis://``, ``rediss://``, ``unix://``).
        key_prefix: Put before each session id; one per deployment.
        max_session_events: Events kept in Redis per session (the oldest trimmed first; at
            most 4,096, what one reply of our Redis client may hold).
        ttl: Seconds a session's events stay in Redis after their last write.
        timeout: Seconds for one Redis operation.
        backlog: Bytes of events waiting for Redis at most (the oldest dropped first, and
            counted).
        max_session_bytes: The in-process store's budget per session.
        max_total_bytes: The in-process store's budget in all.

    Attributes:
        local: The in-process store (ids, replay, byte budgets).
        written: Events copied to Redis.
        dropped: Events never copied (the backlog overflowed while Redis was unreachable).
        errors: Failed writes to Redis (retried, except what the backlog dropped).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379",
        *,
        key_prefix: str = "trio-mcp-http:events:",
        max_session_events: int = 1000,
        ttl: float = 2700.0,
        timeout: float = 1.0,
        backlog: int = 16 << 20,
        max_session_bytes: int = 1 << 20,
        max_total_bytes: int = 64 << 20,
    ) -> None:
        if not 1 <= max_session_events <= MAX_ARRAY:
            raise ValueError(f"max_session_events must be 1 to {MAX_ARRAY}")
        if ttl <= 0 or timeout <= 0 or backlog < 1:
            raise ValueError("limits and times must be positive")
        self.url = url
        self.key_prefix = key_prefix
        self.max_session_events = max_session_events
        self.ttl = ttl
        self.timeout = timeout
        self.local = MemoryEventStore(
            max_session_bytes=max_session_bytes, max_total_bytes=max_total_bytes
        )
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self._where = parse_redis_url(url)
        self._backlog: deque[tuple[str, bytes | None]] = deque()  # (session, entry or DEL)
        self._backlog_bytes = 0
        self._backlog_limit = backlog
        self._forgotten: set[str] = set()  # ended for good: nothing more goes to Redis
        self._wake = trio.Event()

    # -- EventStore ---------------------------------------------------------------------------

    def append(self, session_id: str, stream_id: str, payload: bytes | None) -> str:
        """Store the event here and queue its copy to Redis."""
        event_id = self.local.append(session_id, stream_id, payload)
        if session_id not in self._forgotten:  # late events of a deleted session stay here
            entry = event_id.encode() + b"\n" + (_MARKER if payload is None else payload)
            self._queue(session_id, entry)
        return event_id

    def replay(self, session_id: str, last_event_id: str) -> Replay:
        """Replay from this process's copy (loaded from Redis when the session moved here)."""
        return self.local.replay(session_id, last_event_id)

    def close_session(self, session_id: str) -> None:
        """Free the session's events here (Redis keeps them until :meth:`forget` or expiry)."""
        self.local.close_session(session_id)
        self._forgotten.discard(session_id)

    # -- across processes ---------------------------------------------------------------------

    def forget(self, session_id: str) -> None:
        """The session ended for good: delete its events in Redis too (after pending writes)."""
        if session_id not in self._forgotten:
            self._forgotten.add(session_id)
            self._queue(session_id, None)

    async def load_session(self, session_id: str) -> None:
        """Load a session's events from Redis (it is being restored here).

        Raises:
            trio_mcp_http._redis.RedisError: Redis failed.
            trio.TooSlowError: Redis took longer than ``timeout``.
        """
        with trio.fail_after(self.timeout):
            connection = await RedisConnection.open(self._where)
            try:
                reply = await connection.command("LRANGE", self.key_prefix + session_id, 0, -1)
            finally:
                await connection.aclose()
        if not isinstance(reply, list):
            return
        events: list[tuple[str, bytes | None]] = []
        for entry in reply:  # a write retried after a timeout may be there twice: same id
            if isinstance(entry, bytes) and b"\n" in entry:
                event_id, _, payload = entry.partition(b"\n")
                text = event_id.decode("ascii", "replace")
                events.append((text, None if payload == _MARKER else payload))
        self.local.load_session(session_id, events)

    def _queue(self, session_id: str, entry: bytes | None) -> None:
        self._backlog.append((session_id, entry))
        self._backlog_bytes += 0 if entry is None else len(entry)
        deletes: list[tuple[str, bytes | None]] = []
        while self._backlog_bytes > self._backlog_limit and len(self._backlog) > 1:
            oldest = self._pop()
            if oldest[1] is None:
                deletes.append(oldest)  # deletes are never dropped
            else:
                self.dropped += 1
        self._backlog.extendleft(reversed(deletes))
        self._wake.set()

    def _pop(self) -> tuple[str, bytes | None]:
        oldest = self._backlog.popleft()
        self._backlog_bytes -= 0 if oldest[1] is None else len(oldest[1])
        return oldest

    async def run(self) -> None:
        """Copy the queued events to Redis, in order, until cancelled (the manager runs it)."""
        connection: RedisConnection | None = None
        try:
            while True:
                while not self._backlog:
                    self._wake = trio.Event()
                    await self._wake.wait()
                try:
                    if connection is None or connection.broken:
                        if connection is not None:
                            await connection.aclose()
                        with trio.fail_after(self.timeout):
                            connection = await RedisConnection.open(self._where)
                    await self._write_some(connection)
                except Exception as exc:  # a background task never takes the server down
                    self.errors += 1
                    log.warning("event store: cannot write to redis (%s)", exc)
                    await trio.sleep(min(1.0, self.timeout))
        finally:
            if connection is not None:
                await connection.aclose()

    async def flush(self) -> None:
        """Write what is queued (at shutdown: shielded, bounded by ``timeout``)."""
        with trio.CancelScope(shield=True), trio.move_on_after(self.timeout):
            try:
                connection = await RedisConnection.open(self._where)
                try:
                    while self._backlog:
                        await self._write_some(connection)
                finally:
                    await connection.aclose()
            except Exception as exc:  # Redis down at shutdown: what is left is lost, not fatal
                self.errors += 1
                log.warning("event store: cannot flush to redis (%s)", exc)
        left = sum(1 for _, entry in self._backlog if entry is not None)
        if left:
            self.dropped += left
            log.warning("event store: %d events never reached redis (shutdown)", left)
            self._backlog.clear()
            self._backlog_bytes = 0

    async def _write_some(self, connection: RedisConnection) -> None:
        """One session's consecutive queued entries: one RPUSH (or a DEL), trim, expiry."""
        session_id, first = self._backlog[0]
        key = self.key_prefix + session_id
        if first is None:
            with trio.fail_after(self.timeout):
                await connection.command("DEL", key)
            self._pop()
            return
        entries: list[bytes] = []
        for other, entry in self._backlog:
            if other != session_id or entry is None or len(entries) >= 100:
                break
            entries.append(entry)
        with trio.fail_after(self.timeout):
            await connection.command("RPUSH", key, *entries)
            await connection.command("LTRIM", key, -self.max_session_events, -1)
            await connection.command("PEXPIRE", key, int(self.ttl * 1000))
        for _ in entries:
            self._pop()
        self.written += len(entries)
