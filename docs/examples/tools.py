"""Tools in more detail: the context, structured output, errors."""

import trio
from pydantic import BaseModel

from trio_mcp_http.server import Context, McpServer, TextContent, ToolResult

server = McpServer("tools-example")


@server.tool()
async def countdown(seconds: int, ctx: Context) -> str:
    """Count down, reporting progress and logging to the client."""
    for left in range(seconds, 0, -1):
        await ctx.report_progress(seconds - left, seconds)
        await ctx.info(f"{left} seconds left")
        await trio.sleep(1)
    return "liftoff"


class Stats(BaseModel):
    """Summary statistics."""

    count: int
    mean: float


@server.tool(output_schema=True)
def stats(values: list[float]) -> Stats:
    """Count and average numbers (the result is also sent as structuredContent)."""
    if not values:
        raise ValueError("no values given")  # becomes an isError result
    return Stats(count=len(values), mean=sum(values) / len(values))


@server.tool()
def report(title: str) -> ToolResult:
    """Full control over the result."""
    return ToolResult(content=[TextContent(text=title.title())], meta={"source": "example"})
