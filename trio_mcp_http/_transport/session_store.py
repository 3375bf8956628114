"""Session restore: a session's state kept in a store, so another process can take it over.

With ``ServerConfig(session_store=...)`` the transport saves each initialized session's
record (its protocol version, its principal, and what its handler reports of itself through
the optional ``snapshot()``) and deletes it when the session ends for good (DELETE, idle
expiry, eviction; not at shutdown, so that a restarted or another process can restore it).
A request for a session id that this process does not know is then looked up in the store;
found (and presented by the same principal), the session is re-created here with the same
id, and its handler's optional ``restore(state)`` brings the application's state back.

What is not carried over: requests in flight (their streams end with the old process), the
server-to-client requests the old process was waiting for, and the events of its streams
(a client resuming with ``Last-Event-ID`` gets the usual answer for an unknown event id).

:class:`Persistence` is the one place that talks to the store: a single task applies each
session's latest intent (save or delete) in order, so a stale save can never land after a
newer one or after the delete.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import trio

from .session import CloseReason

if TYPE_CHECKING:
    from .session import Session

__all__ = ["MemorySessionStore", "Persistence", "SessionRecord", "SessionStore"]

log = logging.getLogger("trio_mcp_http.session_store")


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What a session needs to be re-created in another process.

    Attributes:
        protocol_version: The negotiated protocol version.
        principal: Who the session is bound to (``None`` without authentication).
        state: What the session's handler reported through ``snapshot()`` (JSON-able).
    """

    protocol_version: str
    principal: str | None
    state: dict[str, Any]

    def to_json(self) -> bytes:
        """The record as compact JSON."""
        data = {"v": self.protocol_version, "p": self.principal, "s": dict(self.state)}
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> SessionRecord:
        """Parse :meth:`to_json`'s output.

        Raises:
            ValueError: Not such a record.
        """
        try:
            parsed = json.loads(data)
            version, principal, state = parsed["v"], parsed["p"], parsed["s"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a session record: {exc}") from None
        if not (
            isinstance(version, str)
            and (principal is None or isinstance(principal, str))
            and isinstance(state, dict)
        ):
            raise ValueError("not a session record")
        return cls(version, principal, state)


class SessionStore(Protocol):
    """Where session records live, shared by the processes of a deployment.

    Each call should be bounded in time (the transport also bounds it) and raise on failure.
    """

    async def save(self, session_id: str, record: SessionRecord, ttl: float | None) -> None:
        """Keep ``record`` for ``ttl`` seconds (``None``: until deleted)."""

    async def load(self, session_id: str) -> SessionRecord | None:
        """The record of ``session_id``, or ``None``."""

    async def delete(self, session_id: str) -> None:
        """Forget ``session_id``."""


class MemorySessionStore:
    """A store in this process's memory (for tests, and for restore after an in-process restart)."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[bytes, float]] = {}

    def __len__(self) -> int:
        now = trio.current_time()
        return sum(1 for _, expires in self._records.values() if expires > now)

    async def save(self, session_id: str, record: SessionRecord, ttl: float | None) -> None:
        """Keep ``record`` (as JSON, as a networked store would) for ``ttl`` seconds."""
        await trio.lowlevel.checkpoint()
        expires = float("inf") if ttl is None else trio.current_time() + ttl
        self._records[session_id] = (record.to_json(), expires)

    async def load(self, session_id: str) -> SessionRecord | None:
        """The record, if it is there and has not expired."""
        await trio.lowlevel.checkpoint()
        found = self._records.get(session_id)
        if found is None or found[1] <= trio.current_time():
            self._records.pop(session_id, None)
            return None
        return SessionRecord.from_json(found[0])

    async def delete(self, session_id: str) -> None:
        """Forget the record."""
        await trio.lowlevel.checkpoint()
        self._records.pop(session_id, None)


class Persistence:
    """Keeps a store up to date with this process's sessions, and restores from it.

    A session is saved when its handshake completes, again after a request that changed its
    snapshot, and after a request at least every third of ``ttl`` (so that the record of a
    session in use does not expire); deleted when it ends for good. A session that only
    holds a GET stream open, with no request for longer than ``ttl``, loses its record.
    """

    def __init__(self, store: SessionStore, ttl: float | None, timeout: float) -> None:
        self.store = store
        self.ttl = ttl
        self.timeout = timeout
        self.restored = 0
        self.errors = 0
        self._saved: dict[str, tuple[Mapping[str, Any], float]] = {}
        # The latest intent per session, in order: save the session (or this record, for a
        # session that ended at shutdown), or None: delete the record.
        self._intents: dict[str, Session | SessionRecord | None] = {}
        self._deleting: set[str] = set()  # until their delete is applied: never restored
        self._wake = trio.Event()

    def record_of(self, session: Session) -> SessionRecord:
        """The session's record now."""
        return SessionRecord(session.protocol_version, session.principal, session.snapshot())

    def deleting(self, session_id: str) -> bool:
        """Whether the session ended for good and its record is still to be deleted."""
        return session_id in self._deleting

    def changed(self, session: Session) -> None:
        """The session completed its handshake or answered a request: save it if it changed."""
        session_id = session.session_id
        if session_id is None or not session.initialized or session_id in self._deleting:
            return
        saved = self._saved.get(session_id)
        refresh = self.ttl is not None and (
            saved is None or trio.current_time() - saved[1] > self.ttl / 3
        )
        if saved is None or refresh or saved[0] != session.snapshot():
            self._intend(session_id, session)

    def ended(self, session: Session, *, keep: bool) -> None:
        """The session ended; its record is deleted unless ``keep`` (shutdown)."""
        session_id = session.session_id
        assert session_id is not None
        self._saved.pop(session_id, None)
        if not keep:
            self._deleting.add(session_id)
            self._intend(session_id, None)
        elif self._intents.get(session_id) is session:  # its save is still to be written
            self._intents[session_id] = self.record_of(session)

    def _intend(self, session_id: str, intent: Session | None) -> None:
        self._intents.pop(session_id, None)  # move to the end: the latest intent, in order
        self._intents[session_id] = intent
        self._wake.set()

    async def load(self, session_id: str) -> SessionRecord | None:
        """Look ``session_id`` up (``None`` when absent, or when the store fails or is slow)."""
        try:
            with trio.fail_after(self.timeout):
                return await self.store.load(session_id)
        except Exception as exc:
            self.errors += 1
            log.warning("session store: cannot load a session (%s)", exc)
            return None

    async def run(self) -> None:
        """Apply the intents, one at a time, each bounded by ``timeout``."""
        while True:
            while not self._intents:
                self._wake = trio.Event()
                await self._wake.wait()
            if not await self._apply_next():
                await trio.sleep(min(1.0, self.timeout))  # the store is failing: not a hot loop

    async def flush(self) -> None:
        """Apply what is left (at shutdown: shielded, bounded by ``timeout`` in all)."""
        with trio.CancelScope(shield=True), trio.move_on_after(self.timeout):
            while self._intents:
                if not await self._apply_next():
                    break

    async def _apply_next(self) -> bool:
        """Apply the oldest intent; whether the store took it (a failed delete is retried)."""
        session_id = next(iter(self._intents))
        intent = self._intents.pop(session_id)
        record = None
        if isinstance(intent, SessionRecord):
            record = intent
        elif intent is not None and (
            not intent.closing or intent.close_reason is CloseReason.SHUTDOWN
        ):
            record = self.record_of(intent)  # now, while its handler is there
        try:
            with trio.fail_after(self.timeout):
                if intent is None:
                    await self.store.delete(session_id)
                elif record is not None:
                    await self.store.save(session_id, record, self.ttl)
                    if not isinstance(intent, SessionRecord) and not intent.closing:
                        self._saved[session_id] = (record.state, trio.current_time())
        except trio.Cancelled:  # shutdown: for flush() to finish, with the state taken now
            if intent is None or record is not None:
                self._intents.setdefault(session_id, record)
            raise
        except Exception as exc:
            self.errors += 1
            log.warning("session store: cannot update a session (%s)", exc)
            if intent is None:
                self._intents.setdefault(session_id, None)  # a delete must not be lost
            return False
        if intent is None and self._intents.get(session_id, False) is not None:
            self._deleting.discard(session_id)  # done, unless another delete follows
        return True
