"""The standalone GET stream of a session: the server's unrelated messages, kept connected.

The stream is reconnected whenever it ends, after the server's ``retry`` time, resuming with
``Last-Event-ID``, with exponential backoff on failures; it stops when the client closes, when
the server answers 405, or after :attr:`ReconnectPolicy.max_attempts` failed attempts in a row.
When the session is replaced, the stream of the old one is cut and a new one opened at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from .._core.jsonrpc import JsonRpcError
from ._errors import McpClientError, McpConnectionError, McpHttpError, SessionNotFound

if TYPE_CHECKING:
    from ._handshake import HandshakeSession

__all__ = ["StandaloneListener"]

log = logging.getLogger("trio_mcp_http.client")


class StandaloneListener:
    """Keeps one session's standalone stream connected.

    Args:
        session: The session whose stream it is.
        nursery: Where the stream's task runs.
    """

    def __init__(self, session: HandshakeSession, nursery: trio.Nursery) -> None:
        self._session = session
        self._nursery = nursery
        self._running = False
        self.listening = False
        """Whether the stream is connected right now."""
        self._stream_scope: trio.CancelScope | None = None

    async def listen(self) -> bool:
        """Start the stream (once); ``True`` once connected, ``False`` if it cannot be."""
        if self._running:
            return self.listening
        self._running = True
        try:
            started: bool = await self._nursery.start(self._loop)
        except BaseException:
            self._running = False
            raise
        return started

    def session_replaced(self) -> None:
        """The stream belongs to the old session: cut it (the loop opens the new one)."""
        if self._stream_scope is not None:
            self._stream_scope.cancel()

    async def _loop(self, *, task_status: trio.TaskStatus[bool]) -> None:
        reported = False

        def report(value: bool) -> None:
            nonlocal reported
            if not reported:
                reported = True
                task_status.started(value)

        transport, reconnect = self._session.transport, self._session.reconnect
        session, last_id, retry, failures = transport.session_id, "", None, 0
        try:
            while True:
                if transport.session_id != session:  # a new session: its own event ids
                    session, last_id = transport.session_id, ""
                try:
                    last_id, new_retry = await self._once(last_id, report)
                    retry, failures = new_retry if new_retry is not None else retry, 0
                    if transport.session_id != session:
                        continue  # the session was replaced: listen on the new one at once
                except SessionNotFound as exc:
                    try:
                        await self._session.restart(exc.session_id)
                        continue
                    except (McpClientError, JsonRpcError) as restart_error:
                        log.warning("could not start a new session: %s", restart_error)
                        failures += 1
                except McpHttpError as exc:
                    if exc.status == 405:
                        log.info("the server offers no standalone stream (405)")
                        report(False)
                        return
                    if last_id and exc.status in (400, 410):
                        # The server cannot replay from there (events gone, or the session
                        # restored by another process): listen afresh, not resume.
                        log.info(
                            "cannot resume after event %s (%d): listening anew", last_id, exc.status
                        )
                        last_id = ""
                        continue
                    log.debug("standalone stream refused: %s", exc)
                    failures += 1
                except McpClientError as exc:
                    log.debug("standalone stream failed: %s", exc)
                    failures += 1
                if failures >= reconnect.max_attempts:
                    log.warning("giving up the standalone stream after %d attempts", failures)
                    report(False)
                    return
                await trio.sleep(reconnect.delay(failures, retry))
        finally:
            self.listening = False
            self._running = False
            self._stream_scope = None

    async def _once(self, last_id: str, report: Callable[[bool], None]) -> tuple[str, int | None]:
        """Run one GET stream until it ends; return its last event id and ``retry``."""
        retry: int | None = None
        try:
            with trio.CancelScope() as self._stream_scope:
                async with self._session.transport.get(last_id or None) as reply:
                    self.listening = True
                    report(True)
                    stream = reply.events(last_id)
                    try:
                        await self._session.consume(stream, None)
                    except McpConnectionError as exc:
                        log.debug("standalone stream dropped: %s", exc)
                    finally:
                        self.listening = False
                        last_id, retry = stream.last_event_id, stream.retry
            return last_id, retry
        finally:
            self._stream_scope = None
