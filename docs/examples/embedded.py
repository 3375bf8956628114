"""Embed the MCP server in a trio program that does other work too.

``python embedded.py`` serves on http://127.0.0.1:8000/mcp next to a background task, until
Ctrl-C or SIGTERM; then the server drains and the whole program stops.
"""

import signal
from collections.abc import Awaitable, Callable
from functools import partial

import trio

from trio_mcp_http import RunningServer, ServerConfig, serve
from trio_mcp_http.server import Context, McpServer

server = McpServer("embedded")
ticks = 0


@server.tool()
async def ticks_so_far(ctx: Context) -> int:
    """How many times the background task has ticked."""
    await ctx.info("reading the tick counter")
    return ticks


async def background_work() -> None:
    """Stands for whatever else the program does: it shares the nursery with the server."""
    global ticks  # noqa: PLW0603 - a module-level counter keeps the example short
    while True:
        await trio.sleep(1)
        ticks += 1


async def until_signalled() -> None:
    """Return at the first SIGINT or SIGTERM: the shutdown trigger."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


async def main(
    port: int = 8000,
    shutdown_trigger: Callable[[], Awaitable[object]] = until_signalled,
    *,
    task_status: trio.TaskStatus[RunningServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve next to the background work; stop everything once the server has drained."""
    config = ServerConfig(idle_timeout=600)
    async with trio.open_nursery() as nursery:

        async def serve_then_stop(*, task_status: trio.TaskStatus[RunningServer]) -> None:
            await serve(
                server,
                config,
                port=port,
                shutdown_trigger=shutdown_trigger,
                task_status=task_status,
            )
            nursery.cancel_scope.cancel()  # drained: stop the rest of the program too

        running: RunningServer = await nursery.start(serve_then_stop)
        print("serving MCP at", running.url, flush=True)
        nursery.start_soon(background_work)
        task_status.started(running)  # lets a caller (or a test) use nursery.start(main)


if __name__ == "__main__":
    trio.run(partial(main, 8000))
