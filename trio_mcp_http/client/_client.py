"""The typed face of an MCP client: what an application calls.

:class:`McpClient` turns MCP methods into typed calls and results, and leaves the wire to the
session behind it: :class:`~._handshake.HandshakeSession` (the handshake era: ``initialize``
and a session) or :class:`~._per_request.PerRequestSession` (2026-07-28: every request
whole). The same calls work on both; :attr:`McpClient.era` tells which one is in use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from .._core.per_request import SERVER_INFO
from ._errors import McpClientError
from ._per_request import PerRequestSession, Subscription
from ._types import (
    CallToolResult,
    CompleteResult,
    GetPromptResult,
    Implementation,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    ReadResourceResult,
    validate,
)

if TYPE_CHECKING:
    from .._core.levels import LogLevel
    from ._handshake import HandshakeSession
    from ._types import InitializeResult, ProgressCallback

__all__ = ["McpClient"]


def _paged(cursor: str | None) -> dict[str, Any] | None:
    return None if cursor is None else {"cursor": cursor}


class McpClient:
    """A connected MCP client; get one from :func:`~trio_mcp_http.client.open_client`.

    Args:
        session: The session on the wire.
    """

    def __init__(self, session: HandshakeSession | PerRequestSession) -> None:
        self._session = session

    # -- what the server told us ------------------------------------------------------------

    @property
    def era(self) -> str:
        """``"handshake"`` (a session, 2025 revisions) or ``"per-request"`` (2026-07-28)."""
        return "per-request" if isinstance(self._session, PerRequestSession) else "handshake"

    @property
    def initialize_result(self) -> InitializeResult:
        """The server's answer to ``initialize`` (handshake era only)."""
        session = self._session
        if isinstance(session, PerRequestSession) or session.initialize_result is None:
            raise RuntimeError("there is no initialize result (not a handshake-era session)")
        return session.initialize_result

    @property
    def discover_result(self) -> dict[str, Any] | None:
        """The server's ``server/discover`` result, when the client asked (per-request era)."""
        session = self._session
        return session.discover_result if isinstance(session, PerRequestSession) else None

    @property
    def server_info(self) -> Implementation | None:
        """The server's name and version (``None`` when the server did not say)."""
        if isinstance(self._session, PerRequestSession):
            info = ((self.discover_result or {}).get("_meta") or {}).get(SERVER_INFO)
            return None if not isinstance(info, dict) else Implementation.model_validate(info)
        return self.initialize_result.server_info

    @property
    def server_capabilities(self) -> dict[str, Any]:
        """The capabilities the server announced."""
        if isinstance(self._session, PerRequestSession):
            return dict((self.discover_result or {}).get("capabilities") or {})
        return self.initialize_result.capabilities

    @property
    def protocol_version(self) -> str:
        """The protocol version in use."""
        if isinstance(self._session, PerRequestSession):
            return self._session.version
        return self.initialize_result.protocol_version

    @property
    def instructions(self) -> str | None:
        """The server's usage instructions, if it gave any."""
        if isinstance(self._session, PerRequestSession):
            text = (self.discover_result or {}).get("instructions")
            return text if isinstance(text, str) else None
        return self.initialize_result.instructions

    @property
    def session_id(self) -> str | None:
        """The current ``Mcp-Session-Id``; ``None`` when the server does not use sessions."""
        return self._session.transport.session_id

    @property
    def session_resets(self) -> int:
        """How many times the server lost the session and the client started a new one.

        That is after HTTP 404 to a request carrying the session id.
        """
        return self._session.session_resets

    @property
    def listening(self) -> bool:
        """Whether the standalone GET stream is connected right now (handshake era)."""
        session = self._session
        return not isinstance(session, PerRequestSession) and session.listener.listening

    @property
    def connections_opened(self) -> int:
        """How many HTTP connections the client has opened (kept-alive ones are reused)."""
        return self._session.transport.pool.connections_opened

    # -- requests and notifications --------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        progress_callback: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Send a request and return the ``result`` of its response.

        Wrap the call in a cancel scope to bound it; a cancelled request (or one whose response
        stream was lost) is announced to the server with ``notifications/cancelled``.

        Args:
            method: The JSON-RPC method.
            params: The request's params.
            progress_callback: Receives the request's progress notifications (a
                ``progressToken`` is added to ``params._meta``).

        Returns:
            The result object.

        Raises:
            JsonRpcError: The server answered with a JSON-RPC error.
            McpHttpError: The server answered with an HTTP error status.
            ResponseStreamLost: The response stream broke and could not be resumed.
            McpConnectionError: The server could not be reached.
            McpProtocolError: The server's answer was not valid Streamable HTTP.
        """
        return await self._session.request(method, params, progress_callback)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (answered by the server with 202 Accepted).

        Args:
            method: The JSON-RPC method.
            params: The notification's params.

        Raises:
            McpHttpError: The server refused it.
            McpConnectionError: The server could not be reached.
        """
        await self._session.notify(method, params)

    async def listen(self) -> bool:
        """Open the standalone GET stream for the server's unrelated messages.

        Its notifications and requests go to the callbacks. The stream is reconnected whenever
        it ends, after the server's ``retry`` time, resuming with ``Last-Event-ID``, with
        exponential backoff on failures; it stops when the client closes, when the server
        answers 405, or after :attr:`ReconnectPolicy.max_attempts` failed attempts in a row.
        Calling it again while the stream runs does nothing.

        Returns:
            ``True`` once the stream is connected; ``False`` if the server offers none (405)
            or it could not be connected within the allowed attempts (or, in the per-request
            era, where there is no such stream: use :meth:`subscribe`).
        """
        if isinstance(self._session, PerRequestSession):
            return False
        return await self._session.listener.listen()

    def subscribe(
        self,
        *,
        tools: bool = False,
        prompts: bool = False,
        resources: bool = False,
        resource_uris: Sequence[str] = (),
    ) -> AbstractAsyncContextManager[Subscription]:
        """Listen for changes (``subscriptions/listen``, per-request era).

        Use as ``async with client.subscribe(tools=True) as changes: async for n in changes``;
        each item is a notification (``notifications/tools/list_changed``, ...,
        ``notifications/resources/updated`` for ``resource_uris``). Leaving the block closes
        the stream, which ends the subscription.

        Args:
            tools: Tool list changes.
            prompts: Prompt list changes.
            resources: Resource list changes.
            resource_uris: Updates of these resources.

        Raises:
            McpClientError: The client is on the handshake era (use :meth:`listen`, the
                notification callback and :meth:`subscribe_resource` there).
        """
        session = self._session
        if not isinstance(session, PerRequestSession):
            raise McpClientError("subscribe() is the per-request era's; use listen() here")
        wanted: dict[str, Any] = {}
        for flag, on in (
            ("toolsListChanged", tools),
            ("promptsListChanged", prompts),
            ("resourcesListChanged", resources),
        ):
            if on:
                wanted[flag] = True
        if resource_uris:
            wanted["resourceSubscriptions"] = list(resource_uris)
        return session.listen(wanted)

    # -- typed MCP methods -----------------------------------------------------------------

    async def ping(self) -> None:
        """Check that the server is alive (``ping``)."""
        await self.request("ping")

    async def list_tools(self, cursor: str | None = None) -> ListToolsResult:
        """List the server's tools, one page at a time.

        Args:
            cursor: The ``next_cursor`` of the previous page.
        """
        result = await self.request("tools/list", _paged(cursor))
        if isinstance(self._session, PerRequestSession):  # learn the Mcp-Param-* headers
            result = {**result, "tools": self._session.remember_tools(result)}
        return validate(ListToolsResult, result)

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        progress_callback: ProgressCallback | None = None,
    ) -> CallToolResult:
        """Call a tool.

        A tool that fails returns a result with ``is_error`` set; a JSON-RPC error (unknown
        tool, bad arguments) raises ``JsonRpcError``.

        Args:
            name: The tool's name.
            arguments: The tool's arguments.
            progress_callback: Receives the call's progress notifications.
        """
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        result = await self.request("tools/call", params, progress_callback=progress_callback)
        return validate(CallToolResult, result)

    async def list_resources(self, cursor: str | None = None) -> ListResourcesResult:
        """List the server's resources, one page at a time.

        Args:
            cursor: The ``next_cursor`` of the previous page.
        """
        return validate(ListResourcesResult, await self.request("resources/list", _paged(cursor)))

    async def list_resource_templates(
        self, cursor: str | None = None
    ) -> ListResourceTemplatesResult:
        """List the server's resource templates, one page at a time.

        Args:
            cursor: The ``next_cursor`` of the previous page.
        """
        result = await self.request("resources/templates/list", _paged(cursor))
        return validate(ListResourceTemplatesResult, result)

    async def read_resource(self, uri: str) -> ReadResourceResult:
        """Read a resource.

        Args:
            uri: The resource's URI.
        """
        return validate(ReadResourceResult, await self.request("resources/read", {"uri": uri}))

    async def subscribe_resource(self, uri: str) -> None:
        """Ask for ``notifications/resources/updated`` about a resource.

        Args:
            uri: The resource's URI.
        """
        await self.request("resources/subscribe", {"uri": uri})

    async def unsubscribe_resource(self, uri: str) -> None:
        """Stop the update notifications of a resource.

        Args:
            uri: The resource's URI.
        """
        await self.request("resources/unsubscribe", {"uri": uri})

    async def list_prompts(self, cursor: str | None = None) -> ListPromptsResult:
        """List the server's prompts, one page at a time.

        Args:
            cursor: The ``next_cursor`` of the previous page.
        """
        return validate(ListPromptsResult, await self.request("prompts/list", _paged(cursor)))

    async def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None
    ) -> GetPromptResult:
        """Get a prompt's messages.

        Args:
            name: The prompt's name.
            arguments: Values of the prompt's arguments.
        """
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        return validate(GetPromptResult, await self.request("prompts/get", params))

    async def complete(
        self,
        ref: Mapping[str, Any],
        argument: Mapping[str, str],
        *,
        context_arguments: Mapping[str, str] | None = None,
    ) -> CompleteResult:
        """Ask for completions of an argument value (``completion/complete``).

        Args:
            ref: What is completed: ``{"type": "ref/prompt", "name": ...}`` or
                ``{"type": "ref/resource", "uri": ...}``.
            argument: ``{"name": ..., "value": ...}``, the argument and its partial value.
            context_arguments: Values of the other arguments already known (2025-06-18+).
        """
        params: dict[str, Any] = {"ref": dict(ref), "argument": dict(argument)}
        if context_arguments is not None:
            params["context"] = {"arguments": dict(context_arguments)}
        return validate(CompleteResult, await self.request("completion/complete", params))

    async def set_logging_level(self, level: LogLevel) -> None:
        """Set the lowest severity of the log messages the server sends.

        Args:
            level: The syslog severity.
        """
        if isinstance(self._session, PerRequestSession):
            self._session.log_level = level  # sent with every later request
            return
        await self.request("logging/setLevel", {"level": level})
