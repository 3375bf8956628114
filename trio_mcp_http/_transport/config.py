"""Server configuration: every option, its default, and what it protects against."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._core.versions import HANDSHAKE_VERSIONS, PER_REQUEST_VERSIONS, VERSIONS

if TYPE_CHECKING:
    from .._core.auth import AuthConfig
    from .._core.events import EventStore
    from .session_store import SessionStore

__all__ = ["ServerConfig"]

_RESUME_SLACK = 5.0  # seconds a resuming client may take beyond the retry interval


_SESSION_ID_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,32}")


def _descriptor_limit() -> int:
    """The soft ``RLIMIT_NOFILE`` of the process (1024 where it cannot be read)."""
    try:
        import resource  # noqa: PLC0415 (Unix only)

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return 1 << 20
    except (ImportError, OSError, ValueError):
        return 1024
    return soft if soft > 0 else 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """Options of the Streamable HTTP server.

    Attributes:
        path: The MCP endpoint path. Requests to other paths get 404.
        versions: The protocol revisions served (see :mod:`trio_mcp_http._core.versions`);
            ``None``: all of them. Both eras by default: the handshake era (2025-03-26,
            2025-06-18, 2025-11-25: sessions) and the per-request era (2026-07-28: stateless,
            POST only). Name only per-request versions for a modern-only server (GET and
            DELETE get 405, ``Mcp-Session-Id`` is ignored and never minted), or only
            handshake versions for a legacy-only one.
        max_exchanges: The most per-request-era exchanges (requests of the stateless wire,
            listen streams included) in flight at once; beyond it they get 503.
        idle_timeout: Seconds a session may stay with nothing in flight before it is closed and
            freed (later requests get 404). ``None`` keeps sessions until DELETE or shutdown,
            which leaks memory when clients never send DELETE.
        json_response: Answer requests with one ``application/json`` body instead of an SSE
            stream. Related notifications are then dropped and related requests fail.
        stateless: Serve every POST in isolation, with no session ids; GET and DELETE get 405.
        session_id_prefix: Put at the start of every session id this server mints, so that a
            proxy in front of several servers routes each session's requests to the server
            that owns it (HAProxy ``req.hdr(mcp-session-id) -m beg``, nginx ``map``; see the
            deployment page). Up to 32 of ``A-Z a-z 0-9 - _ .``; the rest of the id stays
            192 random bits.
        session_store: Where sessions are saved so that another process (or this one, after
            a restart) can restore them (:class:`~trio_mcp_http.RedisSessionStore` for
            several processes); ``None``: sessions die with their process. See the
            deployment page for what is and is not restored.
        session_store_timeout: Seconds one store operation may take; a slower or failing
            store is logged and counted, never waited for longer (a session that cannot be
            loaded in time is "not found").
        max_sessions: The most sessions alive at once. At the cap the least recently active
            idle session is evicted; when every session is busy, new ones get 503.
        max_uninitialized_sessions: The most sessions that have not finished the handshake
            (``notifications/initialized``) at once; at this cap the oldest idle one of the
            client holding the most of them is evicted, so a flood of abandoned initializes
            never locks new clients out.
        max_uninitialized_sessions_per_client: The most unfinished handshakes one client address
            may hold; beyond it that client's own oldest idle one is evicted (and it gets 503
            when all of its handshakes are in flight), so one source can never evict another's
            handshake. ``None``: a quarter of ``max_uninitialized_sessions``, at least 4.
        client_address_header: Take the client's address, for the per-client quotas, from
            this request header (its last comma-separated entry, as a reverse proxy appends
            it: ``"x-forwarded-for"``) instead of the TCP peer. Set it only when every request
            comes through a proxy that sets the header, or clients can pick their address.
        initialize_timeout: Idle seconds after which a session that has not finished the
            handshake is closed (the shorter of this and ``idle_timeout`` applies).
        max_body_bytes: The largest request body; larger ones get 413 before being read whole.
        max_batch_size: The most messages in one JSON-RPC batch (2025-03-26 only); a larger
            batch gets 400 before anything in it runs.
        body_timeout: Seconds a client may take to send a whole request body once its
            headers arrived; a slower upload (slowloris) gets 408 and its connection closes.
        header_timeout: Seconds a connection may wait for a request's headers (the first
            one's, or the next one's on a kept-alive connection) before it is closed. Applied
            by :func:`~trio_mcp_http.serve` and the CLI as hypercorn's ``keep_alive_timeout``;
            under the ``hypercorn`` command, pass ``--keep-alive``.
        max_connections: The most HTTP requests served at once, SSE streams included (each
            holds a connection and a file descriptor). Beyond it a request gets 503 with
            ``Retry-After`` at once and its connection is closed, so the process keeps file
            descriptors to accept new connections. ``None``: three quarters of the process's
            file descriptor limit (``RLIMIT_NOFILE``).
        keepalive_interval: Seconds of silence after which an SSE stream gets a ``:`` comment,
            so proxies and clients do not time it out.
        stream_queue_size: Messages that may wait for a slow SSE client on one stream. When
            the queue is full, the client is not reading: the stream is cut (it can resume when
            an event store is configured) so that nothing else ever waits for that client.
        write_timeout: Seconds a connection that should end (closed, or cut because its
            client stopped reading) may stay blocked in a socket write before its TCP
            connection is shut down from outside, so nothing (shutdown included) waits on a
            stalled client for longer.
        allowed_hosts: ``Host`` header patterns accepted (``"host:port"``, ``"host:*"``).
            ``None``: when the server is bound to a loopback address, only loopback hosts are
            accepted (DNS-rebinding protection); otherwise every host is.
        allowed_origins: ``Origin`` patterns accepted (``"http://host:*"``); an absent Origin is
            always accepted. ``None``: loopback origins when bound to loopback, else any.
        retry_after: Seconds sent in ``Retry-After`` with 503 answers.
        event_store: Makes every SSE stream resumable: events get ids and are stored before
            they are written, and a client that lost a connection resumes with GET and
            ``Last-Event-ID``. Use :class:`~trio_mcp_http.MemoryEventStore` (bounded in bytes).
        client_request_timeout: The longest a server-to-client request (sampling,
            elicitation, roots, ping) waits for the client's answer; then the client gets
            ``notifications/cancelled`` and the handler a JSON-RPC error (-32001), so a client
            that never answers cannot pin a handler, and its session, forever.
        auth: Act as an OAuth 2.1 resource server: every request needs a valid bearer
            token, and sessions are bound to the principal that opened them.
        retry_interval: Seconds a client should wait before reconnecting, sent as the SSE
            ``retry`` field in priming events and before the server closes a connection on
            purpose (SSE polling, shutdown).
    """

    path: str = "/mcp"
    versions: Sequence[str] | None = None
    max_exchanges: int = 10_000
    idle_timeout: float | None = 1800.0
    json_response: bool = False
    stateless: bool = False
    session_id_prefix: str = ""
    session_store: SessionStore | None = None
    session_store_timeout: float = 1.0
    max_sessions: int = 10_000
    max_uninitialized_sessions: int = 1000
    max_uninitialized_sessions_per_client: int | None = None
    client_address_header: str | None = None
    initialize_timeout: float = 60.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch_size: int = 1000
    body_timeout: float = 30.0
    header_timeout: float = 10.0
    max_connections: int | None = None
    keepalive_interval: float = 15.0
    stream_queue_size: int = 256
    write_timeout: float = 10.0
    allowed_hosts: Sequence[str] | None = None
    allowed_origins: Sequence[str] | None = None
    retry_after: int = 5
    event_store: EventStore | None = None
    retry_interval: float = 2.0
    client_request_timeout: float = 300.0
    auth: AuthConfig | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError("path must start with '/'")
        if self.versions is not None:
            unknown = [v for v in self.versions if v not in VERSIONS]
            if unknown or not self.versions:
                raise ValueError(f"versions must be known revisions ({', '.join(VERSIONS)})")
        if self.max_exchanges < 1:
            raise ValueError("max_exchanges must be at least 1")
        if self.idle_timeout is not None and not (0 < self.idle_timeout < math.inf):
            raise ValueError("idle_timeout must be a positive number of seconds or None")
        if not _SESSION_ID_PREFIX.fullmatch(self.session_id_prefix):
            raise ValueError("session_id_prefix: at most 32 of A-Z a-z 0-9 - _ .")
        if not self.session_store_timeout > 0:
            raise ValueError("session_store_timeout must be positive")
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        if self.max_uninitialized_sessions < 1:
            raise ValueError("max_uninitialized_sessions must be at least 1")
        if not self.initialize_timeout > 0:
            raise ValueError("initialize_timeout must be positive")
        if (
            self.max_uninitialized_sessions_per_client is not None
            and self.max_uninitialized_sessions_per_client < 1
        ):
            raise ValueError("max_uninitialized_sessions_per_client must be at least 1")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be at least 1")
        if self.max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        if not (self.body_timeout > 0 and self.header_timeout > 0):
            raise ValueError("body_timeout and header_timeout must be positive")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if not self.keepalive_interval > 0:
            raise ValueError("keepalive_interval must be positive")
        if self.stream_queue_size < 1:
            raise ValueError("stream_queue_size must be at least 1")
        if not self.client_request_timeout > 0:
            raise ValueError("client_request_timeout must be positive")
        if not self.retry_interval > 0:
            raise ValueError("retry_interval must be positive")
        if (
            self.event_store is not None
            and self.idle_timeout is not None
            and self.idle_timeout <= self.retry_interval + _RESUME_SLACK
        ):
            raise ValueError(
                "idle_timeout must exceed retry_interval by more than "
                f"{_RESUME_SLACK:g} s, or a client resuming a stream finds its session gone"
            )

    @property
    def served_versions(self) -> tuple[str, ...]:
        """Every version served, oldest first."""
        if self.versions is None:
            return VERSIONS
        return tuple(v for v in VERSIONS if v in self.versions)

    @property
    def handshake_versions(self) -> tuple[str, ...]:
        """The handshake-era versions served, oldest first (may be empty)."""
        return tuple(v for v in self.served_versions if v in HANDSHAKE_VERSIONS)

    @property
    def per_request_versions(self) -> tuple[str, ...]:
        """The per-request-era versions served, oldest first (may be empty)."""
        return tuple(v for v in self.served_versions if v in PER_REQUEST_VERSIONS)

    @property
    def uninitialized_sessions_per_client(self) -> int:
        """The per-client quota of unfinished handshakes in force."""
        if self.max_uninitialized_sessions_per_client is not None:
            return self.max_uninitialized_sessions_per_client
        return min(self.max_uninitialized_sessions, max(4, self.max_uninitialized_sessions // 4))

    @property
    def connection_limit(self) -> int:
        """The cap on concurrent HTTP requests in force (see ``max_connections``)."""
        if self.max_connections is not None:
            return self.max_connections
        return max(64, _descriptor_limit() * 3 // 4)

    @property
    def retry_ms(self) -> int:
        """The retry interval in milliseconds, as the SSE ``retry`` field wants it."""
        return round(self.retry_interval * 1000)
