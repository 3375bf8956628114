"""An ASGI app for the hypercorn command line.

Run it from this directory with ``hypercorn -k trio -b 127.0.0.1:8000 asgi_app:app``; the
ASGI lifespan starts the session manager, and hypercorn's shutdown drains it.
"""

from trio_mcp_http import McpApp, ServerConfig
from trio_mcp_http.server import McpServer

server = McpServer("asgi-example")


@server.tool()
def shout(text: str) -> str:
    """Return the text in capitals."""
    return text.upper()


app = McpApp(server, ServerConfig(idle_timeout=900))
