"""Exceptions of the server layer; all are JSON-RPC errors, so they can answer a request."""

from __future__ import annotations

from typing import Any

from .._core.jsonrpc import INTERNAL_ERROR, INVALID_REQUEST, JsonRpcError

__all__ = ["CapabilityNotNegotiated", "ClientRequestTimeout", "McpError"]


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


class ClientRequestTimeout(McpError):
    """The client did not answer a server-to-client request in time.

    The request was cancelled (the transport sent ``notifications/cancelled`` for it).

    Args:
        method: The request that timed out.
        timeout: The seconds waited.
    """

    def __init__(self, method: str, timeout: float) -> None:
        super().__init__(
            INTERNAL_ERROR,
            f"The client did not answer {method} within {timeout:g} seconds",
            {"method": method, "timeout": timeout},
        )
        self.method = method
        self.timeout = timeout
