"""The MCP server layer: tools, resources, prompts and completions on the trio transport.

Example::

    import trio
    from trio_mcp_http import serve
    from trio_mcp_http.server import Context, McpServer

    server = McpServer("demo")

    @server.tool()
    async def add(a: float, b: float, ctx: Context) -> float:
        \"\"\"Add two numbers.\"\"\"
        await ctx.info(f"adding {a} and {b}")
        return a + b

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            running = await nursery.start(serve, server)
            print(running.url)

:class:`McpServer` is an :class:`~trio_mcp_http.Application`; each session gets a
:class:`McpSessionHandler` handler holding its state (negotiated version, client capabilities,
log level, subscriptions). Registered functions receive a :class:`Context` when they declare
a parameter annotated with it.
"""

from .._core.levels import DEFAULT_LOG_LEVEL, LOG_LEVELS
from ._bus import BusHealth, Change, LocalBus, NotificationBus, SubscriptionLost
from ._caching import CacheHints, CacheScope
from ._completion import Completer, RefType
from ._content import (
    AudioContent,
    BlobResourceContents,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    PromptMessage,
    ResourceContents,
    ResourceLink,
    Role,
    SamplingMessage,
    TextContent,
    TextResourceContents,
)
from ._context import Context
from ._errors import CapabilityNotNegotiated, McpError
from ._handler import McpSessionHandler
from ._input_required import InputRequired, MissingClientCapability
from ._prompts import Prompt
from ._redis_bus import RedisBus
from ._resources import Resource, ResourceTemplate
from ._results import (
    ElicitResult,
    InputRequiredResult,
    Root,
    SamplingResult,
    ToolAnnotations,
    ToolResult,
)
from ._server import McpServer
from ._tools import Tool
from ._uri_template import UriTemplate

__all__ = [
    "DEFAULT_LOG_LEVEL",
    "LOG_LEVELS",
    "AudioContent",
    "BlobResourceContents",
    "BusHealth",
    "CacheHints",
    "CacheScope",
    "CapabilityNotNegotiated",
    "Change",
    "Completer",
    "ContentBlock",
    "Context",
    "ElicitResult",
    "EmbeddedResource",
    "ImageContent",
    "InputRequired",
    "InputRequiredResult",
    "LocalBus",
    "McpError",
    "McpServer",
    "McpSessionHandler",
    "MissingClientCapability",
    "NotificationBus",
    "Prompt",
    "PromptMessage",
    "RedisBus",
    "RefType",
    "Resource",
    "ResourceContents",
    "ResourceLink",
    "ResourceTemplate",
    "Role",
    "Root",
    "SamplingMessage",
    "SamplingResult",
    "SubscriptionLost",
    "TextContent",
    "TextResourceContents",
    "Tool",
    "ToolAnnotations",
    "ToolResult",
    "UriTemplate",
]
