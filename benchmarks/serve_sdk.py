"""Serve the official Python SDK (PyPI ``mcp``) for the benchmarks.

    python benchmarks/serve_sdk.py --port 8100 --stats-port 8101 --server hypercorn|uvicorn
        [--json-response] [--idle-timeout S] [--max-seconds S]

An ``MCPServer`` (v2's name for FastMCP) with one
``async def echo(text) -> str`` tool (async: v2 runs sync tools in a worker thread), mounted
with ``streamable_http_app(json_response=..., session_idle_timeout=..., max_sessions=None)``
and served by hypercorn's trio worker (``hypercorn.trio.serve`` in ``trio.run``, one process)
or by uvicorn (one process; uvloop/httptools when installed). ``max_sessions=None`` so that the
10,000-session idle run is not refused. The number of live sessions
(``session_manager._server_instances``) and VmRSS are served as JSON on the side port.

For the other measurements: a ``bench://fanout`` resource; a ``confirm(text)`` tool that asks
one elicitation (the SDK's ``Resolve``/``Elicit``: an input-required result at 2026-07-28);
and ``watch()``, which a session-era fan-out listener calls once so that the server can
reach its session (SDK servers have no broadcast to sessions: ``ctx.session`` is kept and
``send_resource_updated`` is called on each). ``POST /notify`` on the side port publishes
``ResourceUpdated`` on the server's subscription bus (the ``subscriptions/listen`` streams)
and sends ``notifications/resources/updated`` to every watching session.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import Context, Elicit, MCPServer, Resolve
from mcp.server.subscriptions import ResourceUpdated
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import FANOUT_URI, start_stats_server

SDK_VERSION = importlib.metadata.version("mcp")


class Confirmation(BaseModel):
    """What ``confirm`` asks."""

    ok: bool


def ask_confirmation(text: str) -> Elicit[Confirmation]:
    """The resolver of ``confirm``: always asks (the answer comes with the retry)."""
    return Elicit(f"Echo {text}?", Confirmation)


WATCHERS: list[Any] = []  # the sessions of session-era fan-out listeners


def build(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """The ASGI app, its session manager, and ``raise_updates(count)`` (async)."""
    mcp = MCPServer("bench")

    @mcp.tool()
    async def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @mcp.tool()
    async def confirm(text: str, answer: Annotated[Confirmation, Resolve(ask_confirmation)]) -> str:
        """Ask the user to confirm, then echo the text."""
        return text if answer.ok else "declined"

    @mcp.tool()
    async def watch(ctx: Context) -> str:
        """Register this session for the fan-out notifications."""
        WATCHERS.append(ctx.session)
        return "watching"

    @mcp.resource(FANOUT_URI)
    def fanout() -> str:
        return "changes often"

    async def raise_updates(count: int) -> None:
        for _ in range(count):
            await mcp._subscriptions.publish(ResourceUpdated(uri=FANOUT_URI))
            for session in list(WATCHERS):
                try:
                    await session.send_resource_updated(FANOUT_URI)
                except Exception:  # a listener that went away
                    WATCHERS.remove(session)

    kwargs: dict[str, Any] = {
        "json_response": args.json_response,
        "session_idle_timeout": args.idle_timeout or None,
    }
    try:
        app = mcp.streamable_http_app(**kwargs, max_sessions=None)
    except TypeError:  # older SDKs: no max_sessions
        app = mcp.streamable_http_app(**kwargs)
    return app, mcp.session_manager, raise_updates


def sessions_of(manager: Any) -> int:
    return len(manager._server_instances)


def run_hypercorn(args: argparse.Namespace) -> None:
    import trio  # noqa: PLC0415
    from hypercorn.config import Config  # noqa: PLC0415
    from hypercorn.trio import serve  # noqa: PLC0415

    app, manager, raise_updates = build(args)
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.bench")
    config.read_timeout = None  # as trio_mcp_http.serve does (SSE streams stay open)

    async def main() -> None:
        token = trio.lowlevel.current_trio_token()

        def snapshot() -> dict[str, Any]:
            return {"sessions": trio.from_thread.run_sync(sessions_of, manager, trio_token=token)}

        async def shutdown_trigger() -> None:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    return

        with trio.move_on_after(args.max_seconds):
            async with trio.open_nursery() as nursery:
                await nursery.start(
                    lambda task_status: serve(
                        app, config, shutdown_trigger=shutdown_trigger, task_status=task_status
                    )
                )

                def notify(count: int) -> None:
                    trio.from_thread.run(raise_updates, count, trio_token=token)

                start_stats_server(args.stats_port, snapshot, notify)
                print(f"READY sdk {SDK_VERSION} hypercorn-trio", flush=True)

    trio.run(main)


def run_uvicorn(args: argparse.Namespace) -> None:
    import asyncio  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    app, manager, raise_updates = build(args)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def snapshot() -> dict[str, Any]:
            async def get() -> int:
                return sessions_of(manager)

            return {"sessions": asyncio.run_coroutine_threadsafe(get(), loop).result(5)}

        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110  (uvicorn offers no started event)
            await asyncio.sleep(0.05)

        def notify(count: int) -> None:
            asyncio.run_coroutine_threadsafe(raise_updates(count), loop).result(120)

        start_stats_server(args.stats_port, snapshot, notify)
        loop_name = type(loop).__module__.split(".")[0]
        print(f"READY sdk {SDK_VERSION} uvicorn loop={loop_name} http={config.http}", flush=True)
        try:
            await asyncio.wait_for(asyncio.shield(task), args.max_seconds)
        except TimeoutError:
            server.should_exit = True
            await task

    try:
        import uvloop  # noqa: PLC0415

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats-port", type=int, required=True)
    parser.add_argument("--server", choices=["hypercorn", "uvicorn"], required=True)
    parser.add_argument("--json-response", action="store_true")
    parser.add_argument("--idle-timeout", type=float, default=1800.0, help="0 = never")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="trace Python allocations (for the idle-memory profile)",
    )
    args = parser.parse_args()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(args.tracemalloc)
    (run_hypercorn if args.server == "hypercorn" else run_uvicorn)(args)
