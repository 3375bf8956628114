"""A stateless deployment: no sessions, so any worker can answer any request.

Run several workers with ``hypercorn -k trio -w 4 -b 0.0.0.0:8000 stateless_app:app``. Without
sessions there is no server-to-client channel: tools cannot sample, elicit or list roots, and
the standalone GET stream (server notifications) does not exist (GET gets 405).
"""

from trio_mcp_http import McpApp, ServerConfig
from trio_mcp_http.server import McpServer

server = McpServer("stateless-example")


@server.tool()
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


app = McpApp(server, ServerConfig(stateless=True, json_response=True))
