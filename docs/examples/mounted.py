"""Mount the MCP endpoint in a larger ASGI application served with ``hypercorn.trio.serve``.

The program runs the session manager itself, so it decides when sessions drain.
"""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from trio_mcp_http import McpApp, ServerConfig
from trio_mcp_http.server import McpServer

server = McpServer("mounted")


@server.tool()
def hello(name: str) -> str:
    """Greet someone."""
    return f"Hello, {name}!"


mcp = McpApp(server, ServerConfig())
manager = mcp.manager  # run by this program, so it decides when sessions drain

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The program's ASGI app: ``/health`` here, everything else (lifespan too) to MCP."""
    if scope["type"] == "http" and scope["path"] == "/health":
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await mcp(scope, receive, send)


async def main(
    bind: str,
    shutdown_trigger: Callable[[], Awaitable[object]],
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``bind`` until ``shutdown_trigger`` returns; report the base URL."""
    hypercorn_config = Config()
    hypercorn_config.bind = [bind]
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)  # hosts every session task

        async def drain_on_trigger() -> None:  # hypercorn stops accepting once it returns
            await shutdown_trigger()
            await manager.drain(grace=2.0)  # refuse new sessions, close streams, wait, cancel

        async def run_hypercorn(*, task_status: trio.TaskStatus[list[str]]) -> None:
            await hypercorn_serve(
                app,  # type: ignore[arg-type]
                hypercorn_config,
                shutdown_trigger=drain_on_trigger,
                task_status=task_status,
            )
            nursery.cancel_scope.cancel()  # hypercorn is done: stop the session manager

        binds: list[str] = await nursery.start(run_hypercorn)
        task_status.started(binds[0])


if __name__ == "__main__":
    trio.run(partial(main, "127.0.0.1:8000", trio.sleep_forever))
