"""Resumable streams: an event store, and a tool that closes its SSE connection on purpose.

With an event store every SSE event gets an id and is stored before it is written; a client
that loses the connection (or is asked to reconnect, as here) resumes with ``GET`` and
``Last-Event-ID`` and misses nothing.
"""

import trio

from trio_mcp_http import MemoryEventStore, ServerConfig
from trio_mcp_http.server import Context, McpServer

config = ServerConfig(
    event_store=MemoryEventStore(
        max_session_bytes=256 * 1024,  # per session: a long stream keeps its newest events
        max_total_bytes=32 * 1024 * 1024,  # for the whole process
    ),
    retry_interval=0.5,  # the SSE "retry" hint: how soon clients come back
)

server = McpServer("resumable")


@server.tool()
async def long_job(steps: int, ctx: Context) -> str:
    """Work in steps, reporting progress; hang up the connection after the first step."""
    for step in range(1, steps + 1):
        await trio.sleep(0.1)
        await ctx.report_progress(step, steps, f"step {step} of {steps}")
        if step == 1:
            ctx.close_sse_stream()  # SSE polling: the client resumes with Last-Event-ID
    return f"{steps} steps done"
