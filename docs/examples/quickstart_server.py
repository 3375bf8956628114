"""The quickstart server: one tool.

Serve it from this directory with ``python -m trio_mcp_http serve quickstart_server:server``.
"""

from trio_mcp_http.server import McpServer

server = McpServer("quickstart", instructions="Adds numbers.")


@server.tool()
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b
