"""The MCP methods of the per-request era (2026-07-28), on the handshake era's registrations.

Every result says it is complete (``resultType``) and who answered (``_meta`` serverInfo);
``server/discover``, the lists and ``resources/read`` carry caching hints. ``tools/call``,
``resources/read`` and ``prompts/get`` may answer *input required* (see
:mod:`._input_required`): the function asked the client for something this round did not
bring. ``subscriptions/listen`` streams the changes the client asked for until it goes away,
and ends with a completion result when the server shuts down. Everything the transport
already checked (``_meta``, headers, version, removed methods) is not checked again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from .._core.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, JsonRpcError
from .._core.levels import is_log_level
from .._core.per_request import (
    HEADER_MISMATCH,
    LOG_LEVEL,
    SERVER_INFO,
    SUBSCRIPTION_ID,
    check_mirrored_headers,
)
from ._context import Context
from ._input_required import InputRequired, InputRound, input_responses_of
from ._request_state import InvalidRequestState, request_digest

if TYPE_CHECKING:
    from .._application import RequestContext
    from .._core.jsonrpc import Request
    from ._bus import Change
    from ._handler import McpSessionHandler

__all__ = ["handle_per_request"]

log = logging.getLogger("trio_mcp_http.server")

_LISTS = {
    "tools/list": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts",
}
_ASKING = frozenset({"tools/call", "resources/read", "prompts/get"})
#: The listen filter's flags and the change each one asks for.
_FLAGS = {
    "toolsListChanged": ("tools", "notifications/tools/list_changed"),
    "promptsListChanged": ("prompts", "notifications/prompts/list_changed"),
    "resourcesListChanged": ("resources", "notifications/resources/list_changed"),
}


async def handle_per_request(
    handler: McpSessionHandler, request: Request, context: RequestContext
) -> dict[str, Any]:
    """Answer one per-request-era request."""
    server = handler.server
    method, params = request.method, request.params or {}
    meta = params.get("_meta") if isinstance(params.get("_meta"), Mapping) else {}
    assert isinstance(meta, Mapping)
    if LOG_LEVEL in meta and not is_log_level(meta[LOG_LEVEL]):
        raise JsonRpcError(INVALID_PARAMS, f"Invalid params: unknown log level {meta[LOG_LEVEL]!r}")
    if method == "server/discover":
        result = server.discover_result()
        result.update(server.cache.hints())
    elif method in _LISTS:
        result = handler.list_result(method, params)
        result.update(server.cache.hints())
    elif method in _ASKING:
        result = await _with_inputs(handler, request, context, meta)
    elif method == "completion/complete":
        result = await handler.complete(params)
    elif method == "subscriptions/listen":
        result = await _listen(handler, request, context)
    else:
        raise JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
    return _stamp(result, server.server_info())


def _stamp(result: dict[str, Any], server_info: dict[str, Any]) -> dict[str, Any]:
    result.setdefault("resultType", "complete")
    existing = result.get("_meta")
    result["_meta"] = {**(existing if isinstance(existing, dict) else {}), SERVER_INFO: server_info}
    return result


async def _with_inputs(
    handler: McpSessionHandler,
    request: Request,
    context: RequestContext,
    meta: Mapping[str, Any],
) -> dict[str, Any]:
    """Run a method that may ask the client for input; answer input-required if it did."""
    server, method, params = handler.server, request.method, request.params or {}
    tool = server.tools.get(params.get("name")) if method == "tools/call" else None  # type: ignore[arg-type]
    manual = tool is not None and tool.own_request_state
    responses = input_responses_of(params)
    state = params.get("requestState")
    if state is not None and not isinstance(state, str):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: requestState must be a string")
    digest = request_digest(method, params)
    principal = context.session.principal
    carried: dict[str, Any] = {}
    if state is not None and not manual:
        try:
            carried = server.request_state.open(state, digest, principal)
        except InvalidRequestState as exc:
            raise JsonRpcError(INVALID_PARAMS, f"Invalid params: {exc}") from None
    inputs = InputRound({**carried, **responses}, state)
    ctx = Context(handler, context, meta, inputs)
    try:
        if method == "tools/call":
            if tool is not None:
                arguments = params.get("arguments")
                mismatch = check_mirrored_headers(
                    tool.mirrored, arguments if isinstance(arguments, dict) else {}, context.header
                )
                if mismatch is not None:
                    raise JsonRpcError(HEADER_MISMATCH, f"Header mismatch: {mismatch}")
            return await handler.call_tool(params, ctx)
        if method == "resources/read":
            result = await handler.read_resource(params, ctx)
            found = server.find_resource(params.get("uri"))
            ttl_ms, scope = (None, None) if found is None else (found.ttl_ms, found.cache_scope)
            result.update(server.cache.read_hints(ttl_ms, scope, retried=bool(responses)))
            return result
        return await handler.get_prompt(params, ctx)
    except InputRequired as needed:
        asked: dict[str, Any] = {"resultType": "input_required", "inputRequests": needed.requests}
        if not manual:
            asked["requestState"] = server.request_state.seal(digest, principal, inputs.answers)
        return asked


async def _listen(
    handler: McpSessionHandler, request: Request, context: RequestContext
) -> dict[str, Any]:
    """Stream the changes the client asked for, until it goes away or the server drains."""
    server, params = handler.server, request.params or {}
    wanted = params.get("notifications")
    if not isinstance(wanted, dict):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: notifications must be an object")
    served = {"tools": bool(server.tools), "prompts": bool(server.prompts)}
    served["resources"] = bool(server.resources or server.resource_templates)
    honoured: dict[str, Any] = {
        flag: True
        for flag, (kind, _) in _FLAGS.items()
        if wanted.get(flag) is True and served[kind]
    }
    uris = wanted.get("resourceSubscriptions")
    watched: frozenset[str] = frozenset()
    if isinstance(uris, list) and served["resources"]:
        watched = frozenset(uri for uri in uris if isinstance(uri, str))
        honoured["resourceSubscriptions"] = sorted(watched)
    tag = {SUBSCRIPTION_ID: request.id}
    kinds = {_FLAGS[flag][0]: _FLAGS[flag][1] for flag in honoured if flag in _FLAGS}
    async with server.bus.subscribe() as changes, trio.open_nursery() as nursery:
        await context.send_notification(
            "notifications/subscriptions/acknowledged", {"_meta": tag, "notifications": honoured}
        )

        async def end_when_draining() -> None:
            await context.wait_draining()
            nursery.cancel_scope.cancel()

        nursery.start_soon(end_when_draining)
        async for change in changes:
            await _forward(change, kinds, watched, tag, context)
    return {"_meta": tag}  # the server is shutting down: a graceful end


async def _forward(
    change: Change,
    kinds: Mapping[str, str],
    watched: frozenset[str],
    tag: dict[str, Any],
    context: RequestContext,
) -> None:
    if change.kind == "resource":
        if change.uri in watched:
            params = {"_meta": tag, "uri": change.uri}
            await context.send_notification("notifications/resources/updated", params)
    elif change.kind in kinds:
        await context.send_notification(kinds[change.kind], {"_meta": tag})
