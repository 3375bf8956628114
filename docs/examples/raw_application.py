"""The transport's application contract, without the server layer.

The transport knows nothing of MCP's methods: the application answers ``initialize`` and every
other request itself. :class:`~trio_mcp_http.server.McpServer` is such an application; this
one is the smallest useful one, with a single tool.
"""

from typing import Any

from trio_mcp_http import (
    JsonRpcError,
    Notification,
    Request,
    RequestContext,
    SessionContext,
)

METHOD_NOT_FOUND = -32601
TOOL = {
    "name": "count",
    "description": "Count the calls made in this session.",
    "inputSchema": {"type": "object", "properties": {}},
}


class CounterSession:
    """The handler of one session: its state lives as long as the session."""

    def __init__(self, session: SessionContext) -> None:
        self.session = session
        self.calls = 0

    async def handle_request(self, request: Request, context: RequestContext) -> dict[str, Any]:
        """Answer a request with its ``result`` object, or raise ``JsonRpcError``."""
        if request.method == "initialize":
            return {
                "protocolVersion": self.session.protocol_version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "counter", "version": "1.0"},
            }
        if request.method == "ping":
            return {}
        if request.method == "tools/list":
            return {"tools": [TOOL]}
        if request.method == "tools/call" and (request.params or {}).get("name") == "count":
            self.calls += 1
            # A notification related to this request: it travels on the request's SSE stream.
            await context.send_notification(
                "notifications/message", {"level": "info", "data": f"call {self.calls}"}
            )
            return {"content": [{"type": "text", "text": str(self.calls)}]}
        raise JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {request.method}")

    async def handle_notification(
        self, notification: Notification, session: SessionContext
    ) -> None:
        """Notifications from the client (``notifications/initialized``, ...): nothing to do."""


class CounterApplication:
    """The :class:`~trio_mcp_http.Application`: a factory of per-session handlers."""

    def open_session(self, session: SessionContext) -> CounterSession:
        """Called once per new session, without blocking."""
        return CounterSession(session)


application = CounterApplication()
