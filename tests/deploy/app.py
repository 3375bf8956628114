"""The MCP server each worker process of the deployment tests runs (``trio-mcp-http serve``).

Configured by environment: ``TMH_WORKER`` (its name, also its session id prefix on the
command line), ``TMH_REDIS_URL`` (a RedisBus when set) and ``TMH_STATE_KEYS`` (hex
``requestState`` keys shared by every worker).
"""

from __future__ import annotations

import os

from trio_mcp_http import McpApp
from trio_mcp_http.server import Context, McpServer, RedisBus

WORKER = os.environ.get("TMH_WORKER", "solo")
_redis = os.environ.get("TMH_REDIS_URL")
_keys = os.environ.get("TMH_STATE_KEYS")

server = McpServer(
    "deploy-test",
    request_state_keys=[bytes.fromhex(key) for key in _keys.split(",")] if _keys else None,
    bus=RedisBus(_redis, timeout=1.0, max_reconnect_interval=0.5) if _redis else None,
)


@server.tool()
def whoami(ctx: Context) -> dict[str, str | None]:
    """The worker that answers, and the session it saw."""
    return {"worker": WORKER, "session": ctx.session_id}


@server.tool()
async def nudge(ctx: Context) -> str:
    """Sends an unrelated notification: it travels on the session's GET stream."""
    await ctx.session.send_notification(
        "notifications/message", {"level": "info", "logger": "nudge", "data": {"worker": WORKER}}
    )
    return WORKER


@server.tool()
async def greet(ctx: Context) -> dict[str, str | int]:
    """Asks the user's name (an input-required round on the 2026-07-28 wire)."""
    answer = await ctx.elicit(f"Name? (asked by {WORKER})", {"type": "object", "properties": {}})
    name = str((answer.content or {}).get("name"))
    return {"hello": name, "worker": WORKER, "pid": os.getpid()}


@server.tool()
async def touch(uri: str) -> str:
    """Raises an update of ``uri`` (every listener of every worker should hear it)."""
    await server.notify_resource_updated(uri)
    return WORKER


@server.tool()
def bus_health() -> dict[str, object]:
    """This worker's bus health."""
    health = server.bus.health()
    return {
        "worker": WORKER,
        "connected": health.connected,
        "sent": health.sent,
        "received": health.received,
        "reconnects": health.reconnects,
    }


@server.resource("mem://doc/{n}")
def doc(n: str) -> str:
    """Documents that can be updated."""
    return f"doc {n}"


#: For ``hypercorn -k trio -w N tests.deploy.app:app`` (the lifespan runs the manager).
app = McpApp(server)
