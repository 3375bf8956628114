"""The session manager: owns the nursery every session task runs in, and the registry.

Its public face is small: :meth:`SessionManager.run` hosts the sessions, :meth:`drain` ends
them gracefully, :attr:`running` tells whether it accepts sessions. The methods that take or
return a session are the endpoint's (prefixed ``_``): the transport's ``Session`` is private.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import trio

from .._application import application_serving, application_statistics
from .._core.versions import revision as find_revision
from .keepalive import KeepaliveClock
from .reaper import Reaper
from .session import CloseReason, Session
from .session_store import Persistence

if TYPE_CHECKING:
    from .._application import Application
    from .._core.versions import Revision
    from .config import ServerConfig
    from .traffic import Traffic

__all__ = ["SessionManager", "SessionRefused", "Statistics"]

log = logging.getLogger("trio_mcp_http.manager")


class SessionRefused(Exception):
    """A new session cannot be opened now (every slot busy, or shutting down)."""

    def __init__(self, shutting_down: bool) -> None:
        super().__init__("shutting down" if shutting_down else "too many sessions")
        self.shutting_down = shutting_down


@dataclass(frozen=True, slots=True)
class Statistics:
    """A snapshot of an endpoint's state, from :meth:`trio_mcp_http.McpApp.statistics`.

    Attributes:
        sessions: Sessions registered (live).
        idle_sessions: Live sessions with nothing in flight.
        uninitialized_sessions: Live sessions still waiting for ``notifications/initialized``.
        streams: Open SSE responses (POST and GET).
        requests_in_flight: Client requests being handled.
        sessions_opened: Sessions created since start.
        sessions_closed: Sessions ended since start, by reason value.
        session_tasks: Session, stateless-exchange and handler tasks alive in the manager's
            nursery (its service tasks not counted: the reaper, the keep-alive clock, session
            persistence, an event store's writer).
        http_requests: HTTP requests being served (each holds a connection).
        exchanges: Stateless exchanges in flight (per-request era, or stateless mode).
        sessions_restored: Sessions re-created here from the session store.
        session_store_errors: Session store operations that failed or took too long.
        application: What the application reports of itself (``application.statistics()``:
            for :class:`~trio_mcp_http.server.McpServer`, ``bus``, the health of its
            notification bus).
    """

    sessions: int
    idle_sessions: int
    uninitialized_sessions: int
    streams: int
    requests_in_flight: int
    sessions_opened: int
    sessions_closed: dict[str, int]
    session_tasks: int
    http_requests: int
    exchanges: int
    sessions_restored: int = 0
    session_store_errors: int = 0
    application: Mapping[str, object] = field(default_factory=dict)


class SessionManager:
    """Creates, finds and ends sessions; every session task lives in its nursery.

    Args:
        application: What the sessions serve.
        config: Server options (idle timeout, session caps, ...).
        on_session_closed: Called with the session id and the reason whenever a session ends.
    """

    def __init__(
        self,
        application: Application,
        config: ServerConfig,
        *,
        on_session_closed: Callable[[str | None, CloseReason], None] | None = None,
    ) -> None:
        self._application = application
        self.config = config
        self._on_session_closed = on_session_closed
        self._sessions: dict[str, Session] = {}
        # Live sessions with nothing in flight, least recently active first (dicts keep order).
        self._idle: dict[str, Session] = {}
        # Sessions that have not sent ``notifications/initialized`` yet, oldest first, and the
        # same sessions by the client address that opened them (for the per-client quota).
        self._uninitialized: dict[str, Session] = {}
        self._uninitialized_by_client: dict[str, dict[str, Session]] = {}
        self._client_of: dict[str, str] = {}
        # Stateless exchanges in flight (they end with their request).
        self._exchanges: dict[Session, None] = {}
        self._nursery: trio.Nursery | None = None
        self._service_tasks = 0  # the reaper, the keep-alive clock, ... (not session tasks)
        self._draining = False
        #: Set when :meth:`drain` begins: long streams (listen) end themselves.
        self.draining = trio.Event()
        self._quiet = trio.Event()
        self._requests_in_flight = 0
        self._opened = 0
        self._closed: dict[str, int] = {}
        #: Enforces the write deadline of ending SSE connections (runs in :meth:`run`).
        self._reaper = Reaper(config.write_timeout)
        #: Tells silent SSE streams when their keep-alive comment is due (runs in :meth:`run`).
        self.keepalives = KeepaliveClock(config.keepalive_interval)
        #: Saves sessions to ``config.session_store`` and restores them (runs in :meth:`run`).
        self._persistence = (
            None
            if config.session_store is None
            else Persistence(
                config.session_store, _record_ttl(config), config.session_store_timeout
            )
        )
        self._restoring: dict[str, trio.Event] = {}

    @property
    def running(self) -> bool:
        """Whether :meth:`run` is active and accepting sessions."""
        return self._nursery is not None and not self._draining

    async def run(
        self, *, task_status: trio.TaskStatus[SessionManager] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Host the session tasks until cancelled; then every session ends with SHUTDOWN.

        The application's ``serving()`` context, if it has one, is held open around it.
        """
        if self._nursery is not None:
            raise RuntimeError("SessionManager.run() is already running")
        async with application_serving(self._application):
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(self._reaper.run)
                    await nursery.start(self.keepalives.run)
                    self._service_tasks = 2
                    if self._persistence is not None:
                        nursery.start_soon(self._persistence.run)
                        self._service_tasks += 1
                    events_run = getattr(self.config.event_store, "run", None)
                    if callable(events_run):  # a store that writes behind (RedisEventStore)
                        nursery.start_soon(events_run)
                        self._service_tasks += 1
                    self._nursery = nursery
                    task_status.started(self)
                    await trio.sleep_forever()
            finally:
                self._nursery = None
                for session in [*self._sessions.values(), *self._exchanges]:
                    session.terminate(CloseReason.SHUTDOWN)
                if self._persistence is not None:
                    await self._persistence.flush()
                events_flush = getattr(self.config.event_store, "flush", None)
                if callable(events_flush):
                    await events_flush()

    async def drain(self, grace: float) -> None:
        """Refuse new sessions, close standalone streams, let in-flight work end, then cancel.

        Args:
            grace: Seconds in-flight requests get to finish before they are cancelled.
        """
        self._draining = True
        self.draining.set()
        for session in list(self._sessions.values()):
            session.close_standalone_stream()  # with a retry hint, so clients come back later
        if self._busy():
            with trio.move_on_after(grace):
                await self._quiet.wait()
        for session in [*self._sessions.values(), *self._exchanges]:
            self._terminate(session, CloseReason.SHUTDOWN)

    # -- for the endpoint ---------------------------------------------------------------------

    def _find(self, session_id: str) -> Session | None:
        """Return the live session with this id, or ``None`` (unknown, ended or ending)."""
        session = self._sessions.get(session_id)
        if session is None or session.closing:
            return None
        return session

    def _start_session(
        self,
        revision: Revision,
        principal: str | None = None,
        client_address: str | None = None,
    ) -> Session:
        """Create and start a session; it comes back already held by the caller.

        At a cap, an idle session is evicted first: one of the unfinished handshakes of the
        client holding the most of them (or of this client, at its own quota), else the least
        recently active idle session.

        Args:
            revision: The protocol revision negotiated for it.
            principal: Who authenticated the opening request; the session is bound to it.
            client_address: Where the opening request came from (for the per-client quota
                of unfinished handshakes); ``None`` when unknown.

        Raises:
            SessionRefused: Shutting down, or at a cap with every candidate busy.
        """
        nursery = self._accepting()
        self._make_room(client_address)
        session_id = self.config.session_id_prefix + secrets.token_urlsafe(24)  # 192 bits
        session = Session(self._application, session_id, revision, owner=self, work=nursery)
        session.principal = principal
        session.acquire()
        self._sessions[session_id] = session
        self._uninitialized[session_id] = session
        if client_address is not None:
            self._client_of[session_id] = client_address
            self._uninitialized_by_client.setdefault(client_address, {})[session_id] = session
        self._opened += 1
        nursery.start_soon(session.run)
        log.debug("session %s opened", _short(session_id))
        return session

    async def _restore(self, session_id: str, principal: str | None) -> Session | None:
        """Re-create a session of another process from the session store (already held).

        ``None`` when there is no store, no record (or it cannot be read in time), the
        record is another principal's, the handler cannot be restored, or a cap is reached.
        Concurrent requests for the same id share one restore.
        """
        persistence = self._persistence
        if persistence is None:
            return None
        ongoing = self._restoring.get(session_id)
        if ongoing is not None:  # another request restores it: take its outcome
            await ongoing.wait()
            found = self._find(session_id)
            if found is None or found.principal != principal or not found.acquire():
                return None
            return found
        if session_id in self._sessions or persistence.deleting(session_id):
            return None  # it is ending here: its record is being deleted, not to be restored
        self._restoring[session_id] = done = trio.Event()
        session: Session | None = None
        try:
            record = await persistence.load(session_id)
            if record is None or record.principal != principal:
                return None
            found_revision = find_revision(record.protocol_version)
            if (
                found_revision is None
                or found_revision.version not in self.config.handshake_versions
            ):
                return None
            await self._load_events(session_id)
            nursery = self._accepting()
            if len(self._sessions) >= self.config.max_sessions:  # it is initialized already
                victim = self._idle_handshake() or next(iter(self._idle.values()), None)
                self._evict(victim, "session cap")
            session = Session(
                self._application, session_id, found_revision, owner=self, work=nursery
            )
            session.principal = principal
            try:
                restorable = session.restore(record.state)
            except Exception:  # the application's restore() must not turn a request into a 500
                log.exception("session %s: the handler's restore() raised", _short(session_id))
                restorable = False
            if not restorable:
                log.warning("session %s cannot be restored", _short(session_id))
                session.terminate(CloseReason.ERROR)  # never run: nothing else to undo
                return None
            session.acquire()
            self._sessions[session_id] = session
            self._opened += 1
            persistence.restored += 1
            nursery.start_soon(session.run)
            log.info("session %s restored from the session store", _short(session_id))
            return session
        except SessionRefused:
            session = None
            return None
        finally:
            if (session is None or session.closing) and self.config.event_store is not None:
                self.config.event_store.close_session(session_id)  # loaded for nothing
            del self._restoring[session_id]
            done.set()

    async def _load_events(self, session_id: str) -> None:
        """Bring a restored session's events here, from a shared event store (if any)."""
        load = getattr(self.config.event_store, "load_session", None)
        if not callable(load) or self._persistence is None:
            return
        try:
            await load(session_id)
        except Exception as exc:  # resumes will be unknown ids (400): the client listens anew
            self._persistence.errors += 1
            log.warning("session %s: cannot load its events (%s)", _short(session_id), exc)

    def _start_exchange(self, revision: Revision, principal: str | None = None) -> Session:
        """Start an id-less session for one stateless POST (already held by the caller).

        Raises:
            SessionRefused: Shutting down, or ``max_exchanges`` are in flight.
        """
        nursery = self._accepting()
        if len(self._exchanges) >= self.config.max_exchanges:
            raise SessionRefused(shutting_down=False)
        session = Session(self._application, None, revision, owner=self, work=nursery)
        session.principal = principal
        session.acquire()
        self._exchanges[session] = None  # no task: it ends with its last hold (Session.release)
        return session

    def _terminate(self, session: Session, reason: CloseReason) -> None:
        """End a session now and deregister it at once (later requests get 404)."""
        self._forget(session)
        if session.session_id is not None:
            self._persisted_end(session, reason)
        session.terminate(reason)

    def _persisted_end(self, session: Session, reason: CloseReason) -> None:
        """Its record is deleted at once (from now on never restored), unless at shutdown."""
        if self._persistence is not None and session.initialized:
            keep = reason is CloseReason.SHUTDOWN  # the next process may restore it
            self._persistence.ended(session, keep=keep)
            forget = getattr(self.config.event_store, "forget", None)
            if not keep and callable(forget) and session.session_id is not None:
                forget(session.session_id)  # its events in a shared store go too

    def _statistics(self, traffic: Traffic) -> Statistics:
        """A snapshot of the sessions here and of the endpoint's HTTP ``traffic``."""
        return Statistics(
            sessions=len(self._sessions),
            idle_sessions=len(self._idle),
            uninitialized_sessions=len(self._uninitialized),
            streams=traffic.streams,
            requests_in_flight=self._requests_in_flight,
            sessions_opened=self._opened,
            sessions_closed=dict(self._closed),
            session_tasks=0
            if self._nursery is None
            else len(self._nursery.child_tasks) - self._service_tasks,
            http_requests=traffic.http_requests,
            exchanges=len(self._exchanges),
            sessions_restored=0 if self._persistence is None else self._persistence.restored,
            session_store_errors=0 if self._persistence is None else self._persistence.errors,
            application=application_statistics(self._application),
        )

    def _accepting(self) -> trio.Nursery:
        if self._nursery is None or self._draining:
            raise SessionRefused(shutting_down=True)
        return self._nursery

    def _make_room(self, client_address: str | None) -> None:
        """Evict one idle session if a cap is reached, so that no client locks others out.

        * A client at its quota of unfinished handshakes evicts its own oldest idle one (and is
          refused when all of them are in flight): one source never evicts another's handshake.
        * At the cap of unfinished handshakes, the oldest idle one of the client holding the
          most of them goes: a flooder pays for its flood.
        * At the session cap, an unfinished handshake goes first, else the least recently
          active idle session.
        """
        if client_address is not None:
            own = self._uninitialized_by_client.get(client_address)
            if own is not None and len(own) >= self.config.uninitialized_sessions_per_client:
                self._evict(_first_idle(own), "the client's quota of unfinished handshakes")
                return
        full = len(self._uninitialized) >= self.config.max_uninitialized_sessions
        if not full and len(self._sessions) < self.config.max_sessions:
            return
        victim = self._idle_handshake()
        if victim is None and not full:
            victim = next(iter(self._idle.values()), None)
        self._evict(victim, "session cap")

    def _idle_handshake(self) -> Session | None:
        """The oldest idle unfinished handshake of the client holding the most of them.

        When that client has none idle (or clients are unknown), the oldest idle one at all.
        """
        biggest = max(self._uninitialized_by_client.values(), key=len, default=None)
        victim = None if biggest is None else _first_idle(biggest)
        return victim if victim is not None else _first_idle(self._uninitialized)

    def _evict(self, victim: Session | None, why: str) -> None:
        if victim is None:
            raise SessionRefused(shutting_down=False)
        log.info("%s reached: evicting idle session %s", why, _short(victim.session_id))
        self._terminate(victim, CloseReason.EVICTED)

    def _forget(self, session: Session) -> None:
        if session.session_id is None:
            self._exchanges.pop(session, None)
        elif self._sessions.get(session.session_id) is session:  # not a successor's
            del self._sessions[session.session_id]
            self._idle.pop(session.session_id, None)
            self._forget_uninitialized(session.session_id)

    def _forget_uninitialized(self, session_id: str) -> None:
        self._uninitialized.pop(session_id, None)
        client_address = self._client_of.pop(session_id, None)
        if client_address is not None:
            own = self._uninitialized_by_client[client_address]
            del own[session_id]
            if not own:
                del self._uninitialized_by_client[client_address]

    def _busy(self) -> bool:
        return len(self._idle) != len(self._sessions) or bool(self._exchanges)

    # -- what sessions report (SessionOwner) ---------------------------------------------------

    def note_idle(self, session: Session, idle: bool) -> None:
        """A session became idle, or busy again (the idle dict's order is the LRU)."""
        session_id = session.session_id
        assert session_id is not None
        if idle and not session.closing:
            self._idle[session_id] = session
        else:
            self._idle.pop(session_id, None)
        if idle and self._draining and not self._busy():
            self._quiet.set()

    def note_initialized(self, session: Session) -> None:
        """A session's handshake completed: it is no longer counted as unfinished."""
        assert session.session_id is not None
        self._forget_uninitialized(session.session_id)
        if self._persistence is not None:
            self._persistence.changed(session)

    def note_requests(self, delta: int) -> None:
        """Count client requests being handled."""
        self._requests_in_flight += delta

    def note_answered(self, session: Session) -> None:
        """A request was handled: save the session if its state changed (session restore)."""
        if self._persistence is not None:
            self._persistence.changed(session)

    def note_closed(self, session: Session) -> None:
        """A session (or exchange) ended: deregister it, count it, tell the hook."""
        self._forget(session)
        reason = session.close_reason or CloseReason.ERROR
        if session.session_id is not None:
            self._persisted_end(session, reason)
            self._closed[reason.value] = self._closed.get(reason.value, 0) + 1
            log.debug("session %s closed: %s", _short(session.session_id), reason.value)
        if self._on_session_closed is not None:
            try:
                self._on_session_closed(session.session_id, reason)
            except Exception:
                log.exception("on_session_closed hook raised")
        if self._draining and not self._busy():
            self._quiet.set()


def _record_ttl(config: ServerConfig) -> float | None:
    """How long a saved session outlives its last save: its idle timeout, with a margin."""
    return None if config.idle_timeout is None else config.idle_timeout * 1.5


def _first_idle(sessions: dict[str, Session]) -> Session | None:
    return next((s for s in sessions.values() if not s.busy), None)


def _short(session_id: str | None) -> str:
    """A session id shortened for logs, so full ids never reach info-level logs."""
    return "-" if session_id is None else session_id[:6] + "…"
