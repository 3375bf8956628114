"""An ASGI app for ``hypercorn -k trio tests.e2e.lifespan_app:app`` (lifespan test)."""

from tests.helpers import TinyApp
from trio_mcp_http import McpApp

app = McpApp(TinyApp())
