"""Embedding: serve an application with hypercorn inside the caller's ``trio.run``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from .app import McpApp
from .gc_tuning import tune_gc as _tune_gc

if TYPE_CHECKING:
    from .._application import Application
    from .config import ServerConfig
    from .manager import SessionManager, Statistics
    from .session import CloseReason

__all__ = ["RunningServer", "serve"]

log = logging.getLogger("trio_mcp_http.serve")


@dataclass(slots=True)
class RunningServer:
    """A server started by :func:`serve`, as handed back by ``nursery.start``.

    Attributes:
        host: The address it listens on.
        port: The bound port (the real one when port 0 was asked for).
        url: The MCP endpoint URL, e.g. ``http://127.0.0.1:8000/mcp``.
        app: The ASGI application being served.
    """

    host: str
    port: int
    url: str
    app: McpApp
    _stop: trio.Event = field(default_factory=trio.Event)

    @property
    def manager(self) -> SessionManager:
        """The session manager of :attr:`app`."""
        return self.app.manager

    def statistics(self) -> Statistics:
        """A snapshot of sessions, requests and streams (see :meth:`McpApp.statistics`)."""
        return self.app.statistics()

    def shutdown(self) -> None:
        """Ask the server to drain and stop; :func:`serve` returns once it has."""
        self._stop.set()


async def serve(
    application: Application,
    config: ServerConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    shutdown_trigger: Callable[[], Awaitable[object]] | None = None,
    grace: float = 2.0,
    hypercorn_config: HypercornConfig | None = None,
    on_session_closed: Callable[[str | None, CloseReason], None] | None = None,
    tune_gc: bool = False,
    task_status: trio.TaskStatus[RunningServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``application`` over HTTP until shut down.

    Use with ``running = await nursery.start(serve, app)``; ``running.url`` is then the
    endpoint. Shutdown begins when ``shutdown_trigger`` returns or ``running.shutdown()`` is
    called: new sessions are refused, standalone streams end cleanly, in-flight requests get
    ``grace`` seconds, then every session is cancelled and the listener closes.

    Resource handling: every session task lives in a nursery owned by this call, so when it
    returns (or is cancelled) nothing of the server is left running.

    Args:
        application: The MCP application to serve.
        config: Transport options.
        host: The address to bind (loopback by default, as the spec recommends).
        port: The port; 0 picks a free one.
        shutdown_trigger: An async callable whose return starts a graceful shutdown.
        grace: Seconds in-flight requests may take to finish during shutdown.
        hypercorn_config: A hypercorn config to start from (``bind`` is set from host/port,
            ``keep_alive_timeout`` from ``config.header_timeout``, ``read_timeout`` to none).
        on_session_closed: Called with the session id and the reason whenever one ends.
        tune_gc: Once listening, tune the process's garbage collector for serving (see
            :func:`~trio_mcp_http.tune_gc`: much lower tail latency; process-wide, hence off
            by default here and on in the ``trio-mcp-http`` command).
        task_status: Receives the :class:`RunningServer` once listening.
    """
    cfg = hypercorn_config if hypercorn_config is not None else HypercornConfig()
    cfg.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    app = McpApp(application, config, on_session_closed=on_session_closed)
    # No per-read timeout: it would make a quiet SSE stream look disconnected. Slow clients are
    # bounded instead by the header timeout (hypercorn's keep-alive timer runs until a request's
    # headers are complete), the app's body timeout, and its cap on concurrent requests.
    cfg.read_timeout = None
    cfg.keep_alive_timeout = app.config.header_timeout
    cfg.graceful_timeout = max(cfg.graceful_timeout, grace + 1.0)
    if hypercorn_config is None:
        cfg.accesslog = None
        cfg.errorlog = logging.getLogger("trio_mcp_http.hypercorn")
    async with trio.open_nursery() as nursery:
        manager = await nursery.start(app.manager.run)
        stop = trio.Event()

        async def trigger() -> None:
            async with trio.open_nursery() as waiters:
                if shutdown_trigger is not None:
                    waiters.start_soon(_then_set, shutdown_trigger, stop)
                await stop.wait()
                waiters.cancel_scope.cancel()
            await manager.drain(grace)

        async def run_hypercorn(*, task_status: trio.TaskStatus[list[str]]) -> None:
            await hypercorn_serve(
                app,  # type: ignore[arg-type]
                cfg,
                shutdown_trigger=trigger,
                task_status=task_status,
            )
            nursery.cancel_scope.cancel()  # the server is gone: end the sessions with it

        binds: list[str] = await nursery.start(run_hypercorn)
        bound = binds[0]
        bound_port = int(bound.rsplit(":", 1)[1])
        running = RunningServer(host, bound_port, f"{bound}{app.config.path}", app, stop)
        if tune_gc:
            _tune_gc()
        log.info("serving MCP at %s", running.url)
        task_status.started(running)


async def _then_set(trigger: Callable[[], Awaitable[object]], stop: trio.Event) -> None:
    await trigger()
    stop.set()
