"""Exceptions of the server layer; all are JSON-RPC errors, so they can answer a request."""

from __future__ import annotations

from typing import Any

from .._core.jsonrpc import INVALID_REQUEST, JsonRpcError

__all__ = ["CapabilityNotNegotiated", "McpError"]


class McpError(JsonRpcError):
    """An MCP-level error.

    Raised from a resource, prompt or completion handler it answers the request with this
    JSON-RPC error; raised from a tool it becomes an ``isError`` tool result.

    Args:
        code: The JSON-RPC error code.
        message: A short human-readable description.
        data: Optional JSON-serialisable detail.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(code, message, data)


class CapabilityNotNegotiated(McpError):
    """The client did not declare the capability a server-to-client request needs.

    Nothing was sent to the client.

    Args:
        capability: The missing client capability (``sampling``, ``elicitation``, ``roots``).
        method: The request that needed it.
    """

    def __init__(self, capability: str, method: str) -> None:
        super().__init__(
            INVALID_REQUEST,
            f"The client did not declare the {capability!r} capability: cannot send {method}",
            {"capability": capability, "method": method},
        )
        self.capability = capability
        self.method = method
