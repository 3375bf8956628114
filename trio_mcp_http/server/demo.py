"""A small demonstration server: what ``trio-mcp-http serve`` runs when given no application.

No ``from __future__ import annotations`` here: the tools' annotations (``Context`` included)
are read at registration, so their names must be importable at run time.
"""

import trio

from ._context import Context
from ._server import McpServer

__all__ = ["build_demo_server"]


def build_demo_server() -> McpServer:
    """Build the demo server.

    Tools: ``echo(text)``, ``add(a, b)`` (with structured output), ``sleep(seconds)`` (reports
    progress once a second). Resource: ``demo://readme``. Prompt: ``greet(name)``.
    """
    server = McpServer(
        "trio-mcp-http-demo",
        instructions="A demonstration server: echo text, add numbers, or sleep a while.",
    )

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool(output_schema=True)
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @server.tool()
    async def sleep(seconds: float, ctx: Context) -> str:
        """Sleep for some seconds, reporting progress once a second."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        elapsed = 0.0
        while elapsed < seconds:
            step = min(1.0, seconds - elapsed)
            await trio.sleep(step)
            elapsed += step
            await ctx.report_progress(elapsed, seconds, f"slept {elapsed:g} of {seconds:g} s")
        return f"Slept {seconds:g} seconds"

    @server.resource("demo://readme", name="readme", mime_type="text/markdown")
    def readme() -> str:
        """What this server is."""
        return "# trio-mcp-http demo\n\nTools: echo, add, sleep. Prompt: greet.\n"

    @server.prompt()
    def greet(name: str) -> str:
        """Ask the model to greet someone."""
        return f"Please greet {name} warmly."

    return server
