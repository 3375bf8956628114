"""The notification bus: changes raised by the server, delivered to every listen stream.

``notify_tools_changed()`` and friends publish a :class:`Change`; every
``subscriptions/listen`` stream (per-request era) subscribes and forwards the changes its
client asked for. :class:`LocalBus` is the in-process bus; :class:`~trio_mcp_http.server.RedisBus`
carries changes between the processes of a deployment through Redis pub/sub, behind the same
:class:`NotificationBus` interface.

Nothing ever waits for a listener: each subscriber has a bounded buffer, and one that falls
that far behind is dropped (its stream ends with an error, and its client listens again),
so a stalled listener never holds up the bus, the other listeners, or shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Literal, Protocol

from .._pacing import paced_checkpoint
from .._parking import ParkingSpot

__all__ = ["BusHealth", "Change", "LocalBus", "NotificationBus", "SubscriptionLost"]

log = logging.getLogger("trio_mcp_http.server")

ChangeKind = Literal["tools", "prompts", "resources", "resource"]


@dataclass(frozen=True, slots=True)
class Change:
    """Something listeners may want to hear about.

    Attributes:
        kind: ``tools``, ``prompts`` or ``resources`` (a list changed), or ``resource`` (one
            resource was updated).
        uri: The updated resource (``kind == "resource"`` only).
        remote: Raised by another process of the deployment (arrived through a shared bus).
    """

    kind: ChangeKind
    uri: str | None = None
    remote: bool = False


@dataclass(frozen=True, slots=True)
class BusHealth:
    """How a bus is doing, as reported in ``McpApp.statistics().application["bus"]``.

    Attributes:
        subscribers: Subscriptions open in this process (listen streams, and the server's own
            relay of remote changes to sessions).
        shared: Whether the bus reaches other processes.
        connected: Whether it is connected to the engine it shares changes through (always
            ``True`` for an in-process bus).
        sent: Changes sent to the other processes.
        received: Changes received from the other processes.
        dropped: Changes raised here that could not be sent (the engine down or too slow);
            this process's own listeners still had them.
        reconnects: Times the connection to the engine was lost and opened again.
        last_error: The last connection error, if any.
    """

    subscribers: int
    shared: bool = False
    connected: bool = True
    sent: int = 0
    received: int = 0
    dropped: int = 0
    reconnects: int = 0
    last_error: str | None = None


class SubscriptionLost(Exception):
    """The subscriber fell too far behind and was dropped."""


class NotificationBus(Protocol):
    """Carries changes from where they are raised to every subscriber."""

    async def publish(self, change: Change) -> None:
        """Deliver ``change`` to every current subscriber (without waiting for any of them)."""

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Change]]:
        """An async context manager yielding the changes published while it is open."""

    def serving(self) -> AbstractAsyncContextManager[object]:
        """Held open while the server runs: where a shared bus keeps its connections."""

    def health(self) -> BusHealth:
        """A snapshot of the bus's state."""


class _Subscriber(ParkingSpot):
    """One subscription's bounded queue of changes and its parked reader, if any.

    A list and a parking spot rather than a memory channel: a listen stream holds one for its
    whole life, and a channel costs about 1.8 KiB where this costs a few hundred bytes.
    """

    __slots__ = ("_buffer", "_handed", "_taken", "changes", "ended", "lost")

    def __init__(self, buffer: int) -> None:
        super().__init__()
        self._buffer = buffer
        self.changes: list[Change] = []
        self._taken = 0  # changes already read from the front of ``changes``
        self._handed = 0  # 1 while the change that woke the reader is not taken yet
        self.ended = False
        self.lost = False

    def put(self, change: Change) -> bool:
        """Queue ``change``; ``False`` (and the subscription ends) when the buffer is full.

        As with a memory channel, a change handed to a waiting reader takes no buffer slot.
        """
        if self._parked:
            self._handed = 1
        elif len(self.changes) - self._taken - self._handed >= self._buffer:
            self.lost = True
            self.end()
            return False
        self.changes.append(change)
        self._wake()
        return True

    def end(self) -> None:
        """No more changes: the reader ends once it has read those queued."""
        self.ended = True
        self._wake()

    def take(self) -> Change | None:
        """The next queued change, or ``None``."""
        if self._taken == len(self.changes):
            return None
        change = self.changes[self._taken]
        self._taken += 1
        self._handed = 0
        if self._taken == len(self.changes):
            self.changes.clear()
            self._taken = 0
        elif self._taken >= 64:  # a reader that never quite catches up: drop what it read
            del self.changes[: self._taken]
            self._taken = 0
        return change

    async def wait(self) -> None:
        """Park until a change is queued or the subscription ends (a cancel point)."""
        await self._park()


class LocalBus:
    """The in-process bus.

    Args:
        buffer: Changes a subscriber may fall behind by before it is dropped.
    """

    def __init__(self, buffer: int = 1000) -> None:
        self._buffer = buffer
        self._subscribers: dict[_Subscriber, None] = {}
        self._sends = 0  # publishes since the last schedule point (see _pacing)

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)

    def serving(self) -> AbstractAsyncContextManager[object]:
        """Nothing to run: the in-process bus has no connections."""
        return nullcontext()

    def health(self) -> BusHealth:
        """The number of subscribers (nothing else can go wrong in-process)."""
        return BusHealth(subscribers=len(self._subscribers))

    async def publish(self, change: Change) -> None:
        """Deliver ``change`` to every subscriber; one whose buffer is full is dropped."""
        self._sends = await paced_checkpoint(self._sends)
        for subscriber in list(self._subscribers):
            if not subscriber.put(change):
                log.warning("a listener fell %d changes behind: dropping it", self._buffer)
                del self._subscribers[subscriber]

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Change]]:
        """Open a subscription: yields the changes published while it is open."""
        subscriber = _Subscriber(self._buffer)
        self._subscribers[subscriber] = None
        try:
            yield _Changes(subscriber)
        finally:
            self._subscribers.pop(subscriber, None)
            subscriber.end()


class _Changes:
    """The changes of one subscriber, as an async iterator (no generator to finalise).

    Changes already buffered are taken paced (see ``_pacing``), so a burst published together
    is forwarded together.
    """

    __slots__ = ("_sends", "_subscriber")

    def __init__(self, subscriber: _Subscriber) -> None:
        self._subscriber = subscriber
        self._sends = 0

    def __aiter__(self) -> _Changes:
        return self

    async def __anext__(self) -> Change:
        subscriber = self._subscriber
        self._sends = await paced_checkpoint(self._sends)  # before taking: nothing lost
        while (change := subscriber.take()) is None:
            if subscriber.ended:
                if subscriber.lost:
                    raise SubscriptionLost("the listener fell too far behind")
                raise StopAsyncIteration
            self._sends = 0
            await subscriber.wait()
        return change
