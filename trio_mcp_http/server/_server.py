"""The :class:`McpServer`: registration API and broadcasts; an :class:`Application`."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import trio

from ._bus import Change, LocalBus, NotificationBus, SubscriptionLost
from ._caching import CacheHints, CacheScope
from ._completion import Completer, RefType
from ._handler import McpSessionHandler
from ._prompts import Prompt, make_prompt
from ._request_state import RequestStateSeal
from ._resources import Resource, ResourceTemplate, make_resource
from ._tools import Tool, make_tool

if TYPE_CHECKING:
    from .._application import SessionContext
    from ._results import ToolAnnotations

__all__ = ["McpServer"]

log = logging.getLogger("trio_mcp_http.server")

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=Completer)

_SESSION_NOTIFICATIONS = {
    "tools": "notifications/tools/list_changed",
    "prompts": "notifications/prompts/list_changed",
    "resources": "notifications/resources/list_changed",
    "resource": "notifications/resources/updated",
}


def _no_bare_decorator(name: object, what: str) -> None:
    if callable(name):
        raise TypeError(f"use @server.{what}(...) with parentheses")


class McpServer:
    """An MCP server: tools, resources, prompts and completions over the transport.

    It implements :class:`~trio_mcp_http.Application`: pass it to
    :func:`~trio_mcp_http.serve` or :class:`~trio_mcp_http.McpApp`. Register everything
    before serving; the capabilities a session sees are fixed when it initializes (only the
    kinds with something registered are advertised; ``logging`` always is).

    Registered functions may be sync or async. Sync functions run directly in the trio
    thread, so they must be quick: anything that blocks or takes time should be async (or
    use ``trio.to_thread.run_sync`` inside an async function).

    Args:
        name: The server name (``serverInfo.name``).
        version: The server version (``serverInfo.version``).
        instructions: Optional instructions for the client's model.
        page_size: The most items in one page of a ``*/list`` result.
        cache: Caching hints of per-request-era results (default: ``ttlMs`` 0).
        request_state_keys: HMAC keys of the ``requestState`` of input-required results,
            newest first (at least 16 bytes each; share them between the processes of one
            deployment so that any of them verifies any state); ``None``: a random key per
            process.
        request_state_ttl: Seconds an input-required request may take to be retried.
        bus: Carries ``notify_*`` changes to listen streams (default: in this process).

    How long requests to the client (sampling, elicitation, roots, ping) wait for the answer is
    the transport's ``ServerConfig.client_request_timeout``.
    """

    def __init__(
        self,
        name: str,
        version: str = "0.1.0",
        *,
        instructions: str | None = None,
        page_size: int = 50,
        cache: CacheHints | None = None,
        request_state_keys: Sequence[bytes] | None = None,
        request_state_ttl: float = 600.0,
        bus: NotificationBus | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.cache = cache if cache is not None else CacheHints()
        self.request_state = RequestStateSeal(request_state_keys, ttl=request_state_ttl)
        self.bus: NotificationBus = bus if bus is not None else LocalBus()
        self.name = name
        self.version = version
        self.instructions = instructions
        self.page_size = page_size
        self._tools: dict[str, Tool] = {}
        self._resources: dict[str, Resource] = {}
        self._templates: dict[str, ResourceTemplate] = {}
        self._prompts: dict[str, Prompt] = {}
        self._completers: dict[tuple[str, str], Completer] = {}
        self._sessions: weakref.WeakSet[McpSessionHandler] = weakref.WeakSet()

    # -- Application ----------------------------------------------------------------------

    def open_session(self, session: SessionContext) -> McpSessionHandler:
        """Return the handler of a new session (:meth:`trio_mcp_http.Application.open_session`)."""
        handler = McpSessionHandler(self, session)
        if session.session_id is not None:  # exchanges hear no broadcasts
            self._sessions.add(handler)
        return handler

    def server_info(self) -> dict[str, Any]:
        """``serverInfo``: the server's name and version."""
        return {"name": self.name, "version": self.version}

    def discover_result(self) -> dict[str, Any]:
        """The ``server/discover`` result (the transport adds ``supportedVersions``)."""
        result: dict[str, Any] = {"capabilities": self.capabilities()}
        if self.instructions is not None:
            result["instructions"] = self.instructions
        return result

    def find_resource(self, uri: object) -> Resource | ResourceTemplate | None:
        """The resource, or the first template, that serves ``uri``."""
        if not isinstance(uri, str):
            return None
        found = self._resources.get(uri)
        if found is not None:
            return found
        return next((t for t in self._templates.values() if t.match(uri) is not None), None)

    def capabilities(self) -> dict[str, Any]:
        """The server capabilities advertised in ``initialize`` results."""
        caps: dict[str, Any] = {}
        if self._tools:
            caps["tools"] = {"listChanged": True}
        if self._resources or self._templates:
            caps["resources"] = {"subscribe": True, "listChanged": True}
        if self._prompts:
            caps["prompts"] = {"listChanged": True}
        caps["logging"] = {}
        if self._completers:
            caps["completions"] = {}
        return caps

    @property
    def sessions(self) -> list[McpSessionHandler]:
        """The handlers of the sessions alive now (ended ones are dropped, weakly held)."""
        return list(self._sessions)

    # -- registries (read-only views) ------------------------------------------------------

    @property
    def tools(self) -> Mapping[str, Tool]:
        """The registered tools, by name, in registration order."""
        return MappingProxyType(self._tools)

    @property
    def resources(self) -> Mapping[str, Resource]:
        """The registered static resources, by URI."""
        return MappingProxyType(self._resources)

    @property
    def resource_templates(self) -> Mapping[str, ResourceTemplate]:
        """The registered resource templates, by URI template (matched in this order)."""
        return MappingProxyType(self._templates)

    @property
    def prompts(self) -> Mapping[str, Prompt]:
        """The registered prompts, by name."""
        return MappingProxyType(self._prompts)

    @property
    def completers(self) -> Mapping[tuple[str, str], Completer]:
        """The registered completers, by ``(ref type, prompt name or URI template)``."""
        return MappingProxyType(self._completers)

    # -- tools ----------------------------------------------------------------------------

    def tool(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        title: str | None = None,
        annotations: ToolAnnotations | Mapping[str, Any] | None = None,
        output_schema: Mapping[str, Any] | Literal[True] | None = None,
        input_schema: Mapping[str, Any] | None = None,
        own_request_state: bool = False,
    ) -> Callable[[F], F]:
        """Register a function as a tool (decorator; the function is returned unchanged).

        The input schema is derived from the signature with pydantic, and arguments are
        validated with it (invalid arguments give an ``isError`` result). A parameter
        annotated with :class:`Context` receives the request context and is not part of the
        schema. See :mod:`trio_mcp_http.server._tools` for how return values are converted.

        Args:
            name: The tool name (default: the function's name).
            description: The description (default: the docstring).
            title: An optional display title.
            annotations: Optional behaviour hints.
            output_schema: ``True`` derives an output schema from the return annotation
                (non-object types are wrapped as ``{"result": ...}``); a dict is used as it
                is (the return value, a dict or model, is then not validated against it).
            input_schema: List this schema instead of the derived one (arguments are still
                validated against the signature). ``x-mcp-header`` annotations in it mirror
                arguments into ``Mcp-Param-*`` headers (checked on per-request calls).
            own_request_state: The tool manages ``requestState`` itself (per-request era): it
                reads ``ctx.raw_request_state`` and may return an :class:`InputRequiredResult`;
                the server neither seals nor checks the state.

        Raises:
            ValueError: Invalid or duplicate name, or an output schema not of type object.
            TypeError: The signature cannot become an input schema.
        """
        _no_bare_decorator(name, "tool")

        def register(fn: F) -> F:
            self.add_tool(
                fn,
                name,
                description,
                title=title,
                annotations=annotations,
                output_schema=output_schema,
                input_schema=input_schema,
                own_request_state=own_request_state,
            )
            return fn

        return register

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        *,
        title: str | None = None,
        annotations: ToolAnnotations | Mapping[str, Any] | None = None,
        output_schema: Mapping[str, Any] | Literal[True] | None = None,
        input_schema: Mapping[str, Any] | None = None,
        own_request_state: bool = False,
    ) -> Tool:
        """Register a tool without decorating (arguments as for :meth:`tool`).

        After serving has started, call :meth:`notify_tools_changed` to tell the clients.
        """
        tool = make_tool(
            fn,
            name,
            description,
            title=title,
            annotations=annotations,
            output_schema=output_schema,
            input_schema=input_schema,
            own_request_state=own_request_state,
        )
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool
        return tool

    def remove_tool(self, name: str) -> None:
        """Unregister a tool (``KeyError`` if unknown); then :meth:`notify_tools_changed`."""
        del self._tools[name]

    # -- resources ------------------------------------------------------------------------

    def resource(
        self,
        uri: str,
        name: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        *,
        title: str | None = None,
        ttl_ms: int | None = None,
        cache_scope: CacheScope | None = None,
    ) -> Callable[[F], F]:
        """Register a resource, or a resource template when ``uri`` has ``{variables}``.

        For a template, the function's parameters are named after the variables; their
        values are validated (and converted) with the parameters' annotations. ``{var}``
        matches one path segment and ``{+var}`` any text. A parameter annotated with
        :class:`Context` receives the request context. The function returns ``str`` (text),
        ``bytes`` (a base64 blob), resource contents, or any JSON-serialisable value.

        Args:
            uri: The resource URI or URI template.
            name: The name (default: the function's name).
            description: The description (default: the docstring).
            mime_type: The MIME type (default when reading: ``text/plain`` for text,
                ``application/octet-stream`` for bytes).
            title: An optional display title.
            ttl_ms: How long its reads stay fresh in caches (per-request era; default: the
                server's ``cache.read_ttl_ms``).
            cache_scope: Who may reuse its cached reads (default: the server's).

        Raises:
            ValueError: The URI or template is already registered, or malformed.
            TypeError: The function's parameters do not fit the URI's variables.
        """
        _no_bare_decorator(uri, "resource")

        def register(fn: F) -> F:
            self.add_resource(
                fn,
                uri,
                name,
                description,
                mime_type,
                title=title,
                ttl_ms=ttl_ms,
                cache_scope=cache_scope,
            )
            return fn

        return register

    def add_resource(
        self,
        fn: Callable[..., Any],
        uri: str,
        name: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        *,
        title: str | None = None,
        ttl_ms: int | None = None,
        cache_scope: CacheScope | None = None,
    ) -> Resource | ResourceTemplate:
        """Register a resource or template without decorating (see :meth:`resource`)."""
        made = make_resource(
            fn,
            uri,
            name,
            description,
            mime_type,
            title=title,
            ttl_ms=ttl_ms,
            cache_scope=cache_scope,
        )
        if isinstance(made, ResourceTemplate):
            if uri in self._templates:
                raise ValueError(f"resource template {uri!r} is already registered")
            self._templates[uri] = made
        else:
            if uri in self._resources:
                raise ValueError(f"resource {uri!r} is already registered")
            self._resources[uri] = made
        return made

    def remove_resource(self, uri: str) -> None:
        """Unregister a resource or template by URI (``KeyError`` if unknown)."""
        if uri in self._resources:
            del self._resources[uri]
        else:
            del self._templates[uri]

    # -- prompts --------------------------------------------------------------------------

    def prompt(
        self, name: str | None = None, description: str | None = None, *, title: str | None = None
    ) -> Callable[[F], F]:
        """Register a prompt; its arguments are the function's parameters.

        A parameter is a required argument when it has no default. The function returns a
        ``str`` (one user message), a :class:`PromptMessage`, a content block, or a list of
        these. A parameter annotated with :class:`Context` receives the request context.

        Args:
            name: The prompt name (default: the function's name).
            description: The description (default: the docstring).
            title: An optional display title.

        Raises:
            ValueError: A prompt with that name is already registered.
            TypeError: The signature cannot be turned into prompt arguments.
        """
        _no_bare_decorator(name, "prompt")

        def register(fn: F) -> F:
            self.add_prompt(fn, name, description, title=title)
            return fn

        return register

    def add_prompt(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        *,
        title: str | None = None,
    ) -> Prompt:
        """Register a prompt without decorating (see :meth:`prompt`)."""
        made = make_prompt(fn, name, description, title)
        if made.name in self._prompts:
            raise ValueError(f"a prompt named {made.name!r} is already registered")
        self._prompts[made.name] = made
        return made

    def remove_prompt(self, name: str) -> None:
        """Unregister a prompt (``KeyError`` if unknown); then :meth:`notify_prompts_changed`."""
        del self._prompts[name]

    # -- completion -----------------------------------------------------------------------

    def completion(self, ref_type: RefType, name_or_uri: str) -> Callable[[C], C]:
        """Register the completer of a prompt's or a resource template's arguments.

        The completer is called as ``completer(argument, value, resolved)`` and returns the
        candidate values (sync or async); see :mod:`trio_mcp_http.server._completion`.

        Args:
            ref_type: ``"ref/prompt"`` or ``"ref/resource"``.
            name_or_uri: The prompt's name or the resource template's URI template.
        """
        if ref_type not in ("ref/prompt", "ref/resource"):
            raise ValueError(f"unknown ref type {ref_type!r}")

        def register(fn: C) -> C:
            self._completers[(ref_type, name_or_uri)] = fn
            return fn

        return register

    # -- serving and broadcasts ------------------------------------------------------------

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[McpServer]:
        """Run the bus while the transport serves (the session manager enters this).

        With a bus shared by several processes, changes raised in another process are relayed
        to the sessions here too, as they are to listen streams.
        """
        async with self.bus.serving(), trio.open_nursery() as nursery:
            if self.bus.health().shared:
                await nursery.start(self._relay_remote_changes)
            try:
                yield self
            finally:
                nursery.cancel_scope.cancel()

    def statistics(self) -> dict[str, object]:
        """What ``McpApp.statistics().application`` reports: ``bus``, its health."""
        return {"bus": self.bus.health()}

    async def _relay_remote_changes(self, *, task_status: trio.TaskStatus[None]) -> None:
        started = False
        while True:
            try:
                async with self.bus.subscribe() as changes:
                    if not started:
                        task_status.started()
                        started = True
                    async for change in changes:
                        if change.remote:
                            await self._broadcast(change)
                return
            except SubscriptionLost:
                log.warning("sessions missed changes from other processes (relay fell behind)")

    async def _broadcast(self, change: Change) -> None:
        """Send ``change`` to the initialized sessions of this process that want it."""
        method, params = _SESSION_NOTIFICATIONS[change.kind], None
        handlers = [handler for handler in list(self._sessions) if handler.initialized]
        if change.kind == "resource":
            params = {"uri": change.uri}
            handlers = [handler for handler in handlers if change.uri in handler.subscriptions]
        for handler in handlers:
            try:
                await handler.session.send_notification(method, params)
            except Exception:
                log.exception("could not send %s", method)

    async def _raise(self, change: Change) -> None:
        await self._broadcast(change)
        await self.bus.publish(change)

    async def notify_resource_updated(self, uri: str) -> None:
        """Tell every client subscribed to ``uri`` that it changed.

        Sessions subscribed with ``resources/subscribe`` get it on their standalone GET stream
        (dropped where none is open); listen streams whose ``resourceSubscriptions`` name it,
        through the bus (in every process that shares it).
        """
        await self._raise(Change("resource", uri))

    async def notify_tools_changed(self) -> None:
        """Send ``notifications/tools/list_changed`` to every initialized session and listener."""
        await self._raise(Change("tools"))

    async def notify_resources_changed(self) -> None:
        """Send ``notifications/resources/list_changed`` to every session and listener."""
        await self._raise(Change("resources"))

    async def notify_prompts_changed(self) -> None:
        """Send ``notifications/prompts/list_changed`` to every session and listener."""
        await self._raise(Change("prompts"))
