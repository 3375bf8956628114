"""The per-session handler: MCP lifecycle, state, and the dispatch of every MCP method."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._core.jsonrpc import INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, JsonRpcError
from .._core.levels import DEFAULT_LOG_LEVEL, LOG_LEVELS, LogLevel, is_log_level
from .._core.versions import Era, revision
from ._completion import complete as complete_values
from ._context import Context
from ._pagination import paginate
from ._per_request import handle_per_request

if TYPE_CHECKING:
    from .._application import RequestContext, SessionContext
    from .._core.jsonrpc import Notification, Request
    from ._server import McpServer

__all__ = ["McpSessionHandler"]

log = logging.getLogger("trio_mcp_http.server")


def _str_param(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str):
        raise JsonRpcError(INVALID_PARAMS, f"Invalid params: {key!r} must be a string")
    return value


def _obj_param(params: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = params.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JsonRpcError(INVALID_PARAMS, f"Invalid params: {key!r} must be an object")
    return value


class McpSessionHandler:
    """The :class:`~trio_mcp_http.SessionHandler` of one session of an :class:`McpServer`.

    In stateless mode (no session id) every exchange counts as initialized, since no
    ``initialize`` precedes it. The protocol version and whether the handshake is complete
    are the transport's (``session.protocol_version``, ``session.initialized``).

    Attributes:
        server: The server.
        session: The transport's session.
        client_capabilities: The capabilities the client declared.
        client_info: The ``clientInfo`` the client sent.
        log_level: The level below which ``ctx.log`` messages are dropped.
        subscriptions: The resource URIs the client subscribed to.
        handshake_done: ``initialize`` was answered: requests are served.
    """

    # Slots and a shared empty subscription set keep an idle session small.
    __slots__ = (
        "__weakref__",
        "client_capabilities",
        "client_info",
        "handshake_done",
        "log_level",
        "per_request",
        "server",
        "session",
        "subscriptions",
    )

    def __init__(self, server: McpServer, session: SessionContext) -> None:
        self.server = server
        self.session = session
        stateless = session.session_id is None
        self.client_capabilities: dict[str, Any] = {}
        self.client_info: dict[str, Any] = {}
        self.log_level: LogLevel = DEFAULT_LOG_LEVEL
        self.subscriptions: frozenset[str] = frozenset()
        self.handshake_done = stateless
        found = revision(session.protocol_version)
        #: The session is one exchange of the per-request era (2026-07-28).
        self.per_request = stateless and found is not None and found.era is Era.PER_REQUEST

    @property
    def protocol_version(self) -> str:
        """The protocol version of the session (negotiated by the transport)."""
        return self.session.protocol_version

    @property
    def initialized(self) -> bool:
        """Whether the handshake is complete (``notifications/initialized`` was received)."""
        return self.session.initialized

    # -- SessionHandler -------------------------------------------------------------------

    async def handle_request(self, request: Request, context: RequestContext) -> dict[str, Any]:
        """Answer one client request (see :class:`~trio_mcp_http.SessionHandler`)."""
        if self.per_request:
            return await handle_per_request(self, request, context)
        method = request.method
        params = request.params or {}
        if method == "ping":
            return {}
        if method == "initialize":
            return self._initialize(params)
        if not self.handshake_done:
            raise JsonRpcError(INVALID_REQUEST, "Session not initialized: send initialize first")
        meta = params.get("_meta")
        ctx = Context(self, context, meta if isinstance(meta, Mapping) else None)
        match method:
            case "tools/list":
                return self._list("tools", self.server.tools, params)
            case "tools/call":
                return await self.call_tool(params, ctx)
            case "resources/list":
                return self._list("resources", self.server.resources, params)
            case "resources/templates/list":
                templates = self.server.resource_templates
                return self._list("resourceTemplates", templates, params)
            case "resources/read":
                return await self.read_resource(params, ctx)
            case "resources/subscribe":
                self.subscriptions |= {_str_param(params, "uri")}
                return {}
            case "resources/unsubscribe":
                self.subscriptions -= {_str_param(params, "uri")}
                return {}
            case "prompts/list":
                return self._list("prompts", self.server.prompts, params)
            case "prompts/get":
                return await self.get_prompt(params, ctx)
            case "logging/setLevel":
                return self._set_level(params)
            case "completion/complete":
                return await self.complete(params)
        raise JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    async def handle_notification(
        self, notification: Notification, session: SessionContext
    ) -> None:
        """Take a client notification.

        ``notifications/initialized`` and ``notifications/cancelled`` need nothing here: the
        transport has already marked the session and cancelled the request's handler.
        """
        if notification.method not in ("notifications/initialized", "notifications/cancelled"):
            log.debug("notification %s ignored", notification.method)

    # -- lifecycle ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The session's state, for session restore.

        The client's declarations, log level and resource subscriptions: what ``initialize``
        and later requests set.
        """
        return {
            "capabilities": self.client_capabilities,
            "clientInfo": self.client_info,
            "logLevel": self.log_level,
            "subscriptions": sorted(self.subscriptions),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take over a session restored from the session store (see :meth:`snapshot`)."""
        self.client_capabilities = dict(_obj_param(state, "capabilities"))
        self.client_info = dict(_obj_param(state, "clientInfo"))
        level = state.get("logLevel")
        self.log_level = level if is_log_level(level) else DEFAULT_LOG_LEVEL  # type: ignore[assignment]
        uris = state.get("subscriptions")
        if isinstance(uris, list) and uris:
            self.subscriptions = frozenset(uri for uri in uris if isinstance(uri, str))
        self.handshake_done = True

    def _initialize(self, params: Mapping[str, Any]) -> dict[str, Any]:
        version = self.session.protocol_version  # negotiated by the transport
        self.client_capabilities = dict(_obj_param(params, "capabilities"))
        self.client_info = dict(_obj_param(params, "clientInfo"))
        self.handshake_done = True
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": self.server.capabilities(),
            "serverInfo": {"name": self.server.name, "version": self.server.version},
        }
        if self.server.instructions is not None:
            result["instructions"] = self.server.instructions
        return result

    def _set_level(self, params: Mapping[str, Any]) -> dict[str, Any]:
        level = params.get("level")
        if not is_log_level(level):
            raise JsonRpcError(
                INVALID_PARAMS,
                f"Invalid log level: {level!r}",
                {"supported": list(LOG_LEVELS)},
            )
        self.log_level = level  # type: ignore[assignment]  # checked just above
        return {}

    # -- lists ----------------------------------------------------------------------------

    def list_result(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The result of one of the ``*/list`` methods (a page of it)."""
        key, registry = self._registry(method)
        return self._list(key, registry, params)

    def _registry(self, method: str) -> tuple[str, Mapping[str, Any]]:
        server = self.server
        return {
            "tools/list": ("tools", server.tools),
            "resources/list": ("resources", server.resources),
            "resources/templates/list": ("resourceTemplates", server.resource_templates),
            "prompts/list": ("prompts", server.prompts),
        }[method]

    def _list(
        self, key: str, registry: Mapping[str, Any], params: Mapping[str, Any]
    ) -> dict[str, Any]:
        page, next_cursor = paginate(
            key, list(registry.values()), dict(params), self.server.page_size
        )
        result: dict[str, Any] = {key: [item.describe() for item in page]}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return result

    # -- tools, resources, prompts, completion ------------------------------------------

    async def call_tool(self, params: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
        """The result of ``tools/call``."""
        name = _str_param(params, "name")
        tool = self.server.tools.get(name)
        if tool is None:
            raise JsonRpcError(INVALID_PARAMS, f"Unknown tool: {name}", {"name": name})
        return await tool.call(_obj_param(params, "arguments"), ctx)

    async def read_resource(self, params: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
        """The result of ``resources/read``."""
        uri = _str_param(params, "uri")
        resource = self.server.resources.get(uri)
        if resource is not None:
            return {"contents": await resource.read(ctx)}
        for template in self.server.resource_templates.values():
            values = template.match(uri)
            if values is not None:
                return {"contents": await template.read(uri, values, ctx)}
        raise JsonRpcError(INVALID_PARAMS, f"Resource not found: {uri}", {"uri": uri})

    async def get_prompt(self, params: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
        """The result of ``prompts/get``."""
        name = _str_param(params, "name")
        prompt = self.server.prompts.get(name)
        if prompt is None:
            raise JsonRpcError(INVALID_PARAMS, f"Unknown prompt: {name}", {"name": name})
        return await prompt.render(_obj_param(params, "arguments"), ctx)

    async def complete(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The result of ``completion/complete``."""
        ref = _obj_param(params, "ref")
        argument = _obj_param(params, "argument")
        name, value = _str_param(argument, "name"), _str_param(argument, "value")
        resolved = _obj_param(_obj_param(params, "context"), "arguments")
        ref_type = ref.get("type")
        if ref_type == "ref/prompt":
            key = _str_param(ref, "name")
            known = key in self.server.prompts
        elif ref_type == "ref/resource":
            key = _str_param(ref, "uri")
            known = key in self.server.resource_templates or key in self.server.resources
        else:
            raise JsonRpcError(INVALID_PARAMS, f"Invalid params: unknown ref type {ref_type!r}")
        if not known:
            raise JsonRpcError(INVALID_PARAMS, f"Unknown reference: {ref_type} {key}")
        completer = self.server.completers.get((ref_type, key))
        resolved_strs = {k: str(v) for k, v in resolved.items()}
        return await complete_values(completer, name, value, resolved_strs)
