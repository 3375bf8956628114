"""A trio-native MCP client over Streamable HTTP (h11 on trio streams).

Open a session with :func:`open_client` and use the :class:`McpClient` it yields::

    async with open_client("http://127.0.0.1:8000/mcp") as client:
        tools = await client.list_tools()
        result = await client.call_tool("add", {"a": 1, "b": 2})

Bound any call with a trio cancel scope; a cancelled request is announced to the server with
``notifications/cancelled``. JSON-RPC error responses raise :class:`trio_mcp_http.JsonRpcError`;
transport failures raise the :class:`McpClientError` subclasses below.
"""

from ._client import McpClient
from ._errors import (
    McpClientError,
    McpConnectionError,
    McpHttpError,
    McpProtocolError,
    ResponseStreamLost,
    SessionNotFound,
    UnsupportedProtocolVersion,
)
from ._http import StreamFactory
from ._open import SUPPORTED_PROTOCOL_VERSIONS, Mode, forget_eras, open_client
from ._per_request import Subscription
from ._types import (
    CallToolResult,
    CompleteResult,
    Completion,
    ElicitationCallback,
    GetPromptResult,
    Implementation,
    InitializeResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListRootsCallback,
    ListToolsResult,
    NotificationCallback,
    ProgressCallback,
    PromptArgument,
    PromptInfo,
    ReadResourceResult,
    ReconnectPolicy,
    RequestCallback,
    ResourceInfo,
    ResourceTemplateInfo,
    SamplingCallback,
    SessionResetCallback,
    ToolInfo,
)

__all__ = [
    "SUPPORTED_PROTOCOL_VERSIONS",
    "CallToolResult",
    "CompleteResult",
    "Completion",
    "ElicitationCallback",
    "GetPromptResult",
    "Implementation",
    "InitializeResult",
    "ListPromptsResult",
    "ListResourceTemplatesResult",
    "ListResourcesResult",
    "ListRootsCallback",
    "ListToolsResult",
    "McpClient",
    "McpClientError",
    "McpConnectionError",
    "McpHttpError",
    "McpProtocolError",
    "Mode",
    "NotificationCallback",
    "ProgressCallback",
    "PromptArgument",
    "PromptInfo",
    "ReadResourceResult",
    "ReconnectPolicy",
    "RequestCallback",
    "ResourceInfo",
    "ResourceTemplateInfo",
    "ResponseStreamLost",
    "SamplingCallback",
    "SessionNotFound",
    "SessionResetCallback",
    "StreamFactory",
    "Subscription",
    "ToolInfo",
    "UnsupportedProtocolVersion",
    "forget_eras",
    "open_client",
]
