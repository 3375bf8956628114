"""Session-scoped event stores for resumable SSE streams.

Every operation names the session, so one session's ``Last-Event-ID`` can never replay another
session's events; and every event id encodes its stream (``"<stream>:<seq>"``), so a
``Last-Event-ID`` maps to exactly one stream and replay never crosses streams (spec: "The
server MUST NOT replay messages that would have been delivered on a different stream").

The store is synchronous on purpose: the transport stores each event *before* writing it, in
wire order, and attaches a resumed connection in the same step as it reads the replay, so no
message produced during the hand-off can be lost or duplicated.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["EventStore", "MemoryEventStore", "Replay", "ReplayStatus", "parse_event_id"]

_MAX_SEQ_DIGITS = 18  # below 2**63: no store issues more events than that
_MAX_STREAM_ID = 64


def parse_event_id(event_id: str) -> tuple[str, int] | None:
    """Split an event id ``"<stream>:<seq>"`` into its parts; ``None`` if it is not one.

    Stream ids are 1-64 visible ASCII characters without ``:``; sequence numbers are 1-18
    ASCII digits. Anything else (Unicode digits, 5,000-digit numbers, ...) is ``None``, so a
    malformed ``Last-Event-ID`` is an unknown id (400), never a crash.
    """
    stream_id, sep, seq_text = event_id.rpartition(":")
    if (
        not sep
        or not 0 < len(stream_id) <= _MAX_STREAM_ID
        or not 0 < len(seq_text) <= _MAX_SEQ_DIGITS
        or not (seq_text.isascii() and seq_text.isdigit())
        or not (stream_id.isascii() and stream_id.isprintable())
        or " " in stream_id
        or ":" in stream_id
    ):
        return None
    return stream_id, int(seq_text)


class ReplayStatus(enum.Enum):
    """How a ``Last-Event-ID`` was resolved."""

    OK = "ok"
    UNKNOWN = "unknown"  # malformed, or never issued in this session: HTTP 400
    EVICTED = "evicted"  # issued, but events after it were evicted: HTTP 410


@dataclass(frozen=True, slots=True)
class Replay:
    """The answer to a resume.

    Attributes:
        status: Whether the id was found and the events after it are all still stored.
        stream_id: The stream the id belongs to (when known).
        events: ``(event_id, payload)`` for every stored event of that stream after the id,
            oldest first (priming markers excluded).
    """

    status: ReplayStatus
    stream_id: str | None = None
    events: tuple[tuple[str, bytes], ...] = ()


class EventStore(Protocol):
    """Storage of the events of SSE streams, for replay after a dropped connection."""

    def append(self, session_id: str, stream_id: str, payload: bytes | None) -> str:
        """Store one event (``None``: a priming marker, never replayed) and return its id.

        The id must be ``"<stream_id>:<seq>"`` with a decimal sequence number (see
        :func:`parse_event_id`).
        """
        ...

    def replay(self, session_id: str, last_event_id: str) -> Replay:
        """Return the events of the id's stream stored after it.

        The transport only asks for ids that :func:`parse_event_id` accepts.
        """
        ...

    def close_session(self, session_id: str) -> None:
        """Forget every event of a session (it ended)."""
        ...


@dataclass(slots=True)
class _SessionEvents:
    next_seq: int = 1
    size: int = 0
    # (seq, stream_id, payload, store-wide tick) in wire order.
    events: deque[tuple[int, str, bytes | None, int]] = field(default_factory=deque)
    # Per stream, the highest seq evicted so far (a resume from before it has a gap).
    evicted_upto: dict[str, int] = field(default_factory=dict)
    # Streams taken over from another process, and the last seq it gave us: a later id of
    # theirs was issued there but never reached us (unknown, not "nothing after it").
    loaded_streams: frozenset[str] = frozenset()
    loaded_upto: int = 0


_OVERHEAD = 64  # bytes charged per stored event besides its payload


class MemoryEventStore:
    """An in-memory :class:`EventStore` bounded in bytes, per session and in total.

    Eviction policy: when a session's events exceed ``max_session_bytes``, its oldest events
    are evicted; when all sessions together exceed ``max_total_bytes``, the oldest events
    across all sessions are evicted first. A resume from before an evicted event is refused
    (:attr:`ReplayStatus.EVICTED`) rather than replayed with a silent gap. A session's events
    are freed when it ends (DELETE, idle expiry, eviction, shutdown).

    Args:
        max_session_bytes: Byte budget of one session's stored events.
        max_total_bytes: Byte budget of the whole store.
    """

    def __init__(
        self, *, max_session_bytes: int = 1 << 20, max_total_bytes: int = 64 << 20
    ) -> None:
        if max_session_bytes < 1 or max_total_bytes < 1:
            raise ValueError("byte budgets must be positive")
        self.max_session_bytes = max_session_bytes
        self.max_total_bytes = max_total_bytes
        self._sessions: dict[str, _SessionEvents] = {}
        # (tick, session_id, seq) in store-wide wire order; entries of events already gone are
        # skipped lazily and pruned when they outnumber the live ones.
        self._order: deque[tuple[int, str, int]] = deque()
        self._tick = 0
        self._live = 0  # events stored now (``_order`` may also hold stale entries)
        self.total_bytes = 0

    def append(self, session_id: str, stream_id: str, payload: bytes | None) -> str:
        """Store one event and return its id ``"<stream_id>:<seq>"``."""
        if ":" in stream_id:
            raise ValueError("stream ids must not contain ':'")
        state = self._sessions.get(session_id)
        if state is None:
            state = self._sessions[session_id] = _SessionEvents()
        seq = state.next_seq
        state.next_seq += 1
        cost = _OVERHEAD + (0 if payload is None else len(payload))
        self._tick += 1
        state.events.append((seq, stream_id, payload, self._tick))
        state.size += cost
        self.total_bytes += cost
        self._live += 1
        self._order.append((self._tick, session_id, seq))
        self._enforce_budgets(state)
        return f"{stream_id}:{seq}"

    def _enforce_budgets(self, state: _SessionEvents) -> None:
        while state.size > self.max_session_bytes and len(state.events) > 1:
            self._evict_oldest(state)
        while self.total_bytes > self.max_total_bytes and self._order:
            _, victim_id, victim_seq = self._order.popleft()
            victim = self._sessions.get(victim_id)
            if victim is not None and victim.events and victim.events[0][0] == victim_seq:
                self._evict_oldest(victim)
        if len(self._order) > 2 * self._live + 1024:
            live = ((t, sid, s) for sid, st in self._sessions.items() for s, _, _, t in st.events)
            self._order = deque(sorted(live))

    def _evict_oldest(self, state: _SessionEvents) -> None:
        seq, stream_id, payload, _ = state.events.popleft()
        cost = _OVERHEAD + (0 if payload is None else len(payload))
        state.size -= cost
        self.total_bytes -= cost
        self._live -= 1
        state.evicted_upto[stream_id] = seq

    def replay(self, session_id: str, last_event_id: str) -> Replay:
        """Return the stored events of the id's stream after it (see :class:`ReplayStatus`)."""
        parsed = parse_event_id(last_event_id)
        state = self._sessions.get(session_id)
        if parsed is None or state is None:
            return Replay(ReplayStatus.UNKNOWN)
        stream_id, seq = parsed
        if seq >= state.next_seq or seq < 1:
            return Replay(ReplayStatus.UNKNOWN)
        if stream_id in state.loaded_streams and seq > state.loaded_upto:
            return Replay(ReplayStatus.UNKNOWN)  # issued elsewhere, never copied to us
        known = stream_id in state.evicted_upto or any(
            s == stream_id for _, s, _, _ in state.events
        )
        if not known:
            return Replay(ReplayStatus.UNKNOWN)
        if state.evicted_upto.get(stream_id, 0) > seq:
            return Replay(ReplayStatus.EVICTED, stream_id)
        events = tuple(
            (f"{stream_id}:{s}", payload)
            for s, sid, payload, _ in state.events
            if sid == stream_id and s > seq and payload is not None
        )
        return Replay(ReplayStatus.OK, stream_id, events)

    def load_session(self, session_id: str, events: Sequence[tuple[str, bytes | None]]) -> None:
        """Take over the stored events of a session from another process, ids unchanged.

        ``events`` are ``(event_id, payload)`` (``None``: a priming marker), in any order and
        possibly with gaps (events the other process could not copy): only the run after the
        last gap is kept, and a resume from before it is refused as evicted unless the run
        starts at the session's first event. Ids of those streams after the last one loaded
        are unknown. Later events here are numbered after them. Ignored for a session that
        already has events here.
        """
        if session_id in self._sessions:
            return
        found = {
            parsed[1]: (parsed[0], payload)
            for event_id, payload in events
            if (parsed := parse_event_id(event_id)) is not None
        }
        seqs = sorted(found)
        if not seqs:
            return
        start = max((i for i in range(1, len(seqs)) if seqs[i] != seqs[i - 1] + 1), default=0)
        run = seqs[start:]
        state = self._sessions[session_id] = _SessionEvents()
        for seq in run:
            stream_id, payload = found[seq]
            if run[0] > 1:  # older events are gone: a resume from before them is a gap
                state.evicted_upto.setdefault(stream_id, run[0] - 1)
            cost = _OVERHEAD + (0 if payload is None else len(payload))
            self._tick += 1
            state.events.append((seq, stream_id, payload, self._tick))
            state.size += cost
            self.total_bytes += cost
            self._live += 1
            self._order.append((self._tick, session_id, seq))
        state.next_seq = run[-1] + 1
        state.loaded_streams = frozenset(found[seq][0] for seq in seqs)
        state.loaded_upto = run[-1]
        self._enforce_budgets(state)

    def close_session(self, session_id: str) -> None:
        """Free a session's events (its entries in the global order are skipped lazily)."""
        state = self._sessions.pop(session_id, None)
        if state is not None:
            self.total_bytes -= state.size
            self._live -= len(state.events)
        if not self._sessions:
            self._order.clear()
