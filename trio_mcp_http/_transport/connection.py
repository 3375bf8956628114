"""One HTTP response carrying an SSE stream: the bounded queue of frames its writer drains.

Rule: producers (handlers, the session, other clients, shutdown) only ever :meth:`push` into
this queue, which never waits; only the writer (:mod:`.writer`) calls ASGI ``send()``. A full
queue means the client stopped reading: the connection is *aborted* (cut without the
terminating chunk, so the client sees a broken stream and can resume) and the producers carry
on. While its writer is inside a socket write, an ending connection is watched by the reaper
(:mod:`.reaper`), which cuts the TCP connection of a write blocked past the write deadline.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from .._parking import ParkingSpot

if TYPE_CHECKING:
    from .reaper import Reaper

__all__ = ["Connection"]

log = logging.getLogger("trio_mcp_http.stream")


class Connection(ParkingSpot):
    """One HTTP response carrying an SSE stream: a bounded queue read by :func:`write_sse`.

    Producers call :meth:`push` (never waits); the writer takes everything queued at once with
    :meth:`take` and parks in :meth:`wait` when the queue is empty. A queue holding
    ``capacity`` frames means the client stopped reading: the connection is aborted.

    Attributes:
        aborted: The connection was cut (client gone or not reading); no terminating chunk.
        peer: The ASGI ``(server, client)`` addresses, to find the socket if it must be cut.
        send_started: When the writer entered the write it is in now (``None``: not in one).
    """

    __slots__ = (
        "_capacity",
        "_closed",
        "_frames",
        "_keepalive",
        "_reaper",
        "_writer_scope",
        "aborted",
        "peer",
        "send_started",
    )

    def __init__(
        self, capacity: int, peer: tuple[Any, Any] = (None, None), reaper: Reaper | None = None
    ) -> None:
        super().__init__()
        self._capacity = capacity
        self._frames: list[bytes] = []
        self._keepalive = False
        self._writer_scope: trio.CancelScope | None = None
        self._closed = False
        self.aborted = False
        self.peer = peer
        self.send_started: float | None = None
        self._reaper = reaper

    def before_send(self) -> None:
        """Called by the writer as it enters ``send()``; an ending connection gets a deadline."""
        self.send_started = trio.current_time()
        if self._closed and self._reaper is not None:
            self._reaper.watch(self)

    def after_send(self) -> None:
        """Called by the writer as ``send()`` returns."""
        self.send_started = None
        if self._reaper is not None:
            self._reaper.forget(self)

    def bind_writer(self, scope: trio.CancelScope) -> None:
        """The writer waits for frames in ``scope``: an abort cancels it (now, if aborted)."""
        self._writer_scope = scope
        if self.aborted:
            scope.cancel()

    @property
    def open(self) -> bool:
        """Whether frames can still be queued."""
        return not self._closed

    def push(self, frame: bytes) -> bool:
        """Queue one encoded frame without waiting; a full queue aborts the connection."""
        if self._closed:
            return False
        if len(self._frames) >= self._capacity:
            log.warning("SSE client is not reading: cutting the connection")
            self.abort()
            return False
        self._frames.append(frame)
        self._wake()
        return True

    def take(self) -> tuple[list[bytes], bool]:
        """Return the frames queued so far and whether the response has ended after them."""
        frames, self._frames = self._frames, []
        return frames, self._closed

    def keepalive_due(self) -> None:
        """The stream has been silent for the keep-alive interval (see :mod:`.keepalive`)."""
        self._keepalive = True
        self._wake()

    def take_keepalive(self) -> bool:
        """Whether a keep-alive comment is due (clearing it)."""
        due, self._keepalive = self._keepalive, False
        return due

    async def wait(self) -> None:
        """Wait until a frame is queued, a keep-alive is due, or the connection closes.

        The writer parks itself (no event object per wait: a long-lived stream's waits would
        otherwise each leave garbage for the collector's oldest generation).
        """
        if self._frames or self._closed or self._keepalive:
            await trio.lowlevel.checkpoint()
            return
        await self._park()

    def close(self) -> None:
        """End the response cleanly after the frames already queued."""
        self._closed = True
        self._wake()
        if self.send_started is not None and self._reaper is not None:
            self._reaper.watch(self)

    def abort(self) -> None:
        """Cut the response now: queued frames are dropped, no terminating chunk is sent."""
        self.aborted = self._closed = True
        self._frames = []
        self._wake()
        if self.send_started is not None and self._reaper is not None:
            self._reaper.watch(self)
        if self._writer_scope is not None:
            self._writer_scope.cancel()
