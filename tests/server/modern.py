"""A tiny in-process client of the per-request wire (2026-07-28), for the server-layer tests."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from trio_mcp_http._core.jsonrpc import Request
from trio_mcp_http._core.per_request import (
    CLIENT_CAPABILITIES,
    CLIENT_INFO,
    PROTOCOL_VERSION,
    encode_header_value,
    name_of,
)
from trio_mcp_http.testing import AsgiResponse, asgi_request

if TYPE_CHECKING:
    from trio_mcp_http import McpApp

MODERN = "2026-07-28"
ALL_CAPABILITIES: dict[str, Any] = {"elicitation": {}, "sampling": {}, "roots": {}}


def modern_request(
    method: str,
    params: dict[str, Any] | None = None,
    request_id: Any = 1,
    *,
    capabilities: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers of a well-formed per-request-era request."""
    params = dict(params or {})
    params["_meta"] = {
        PROTOCOL_VERSION: MODERN,
        CLIENT_CAPABILITIES: ALL_CAPABILITIES if capabilities is None else capabilities,
        CLIENT_INFO: {"name": "test", "version": "1"},
        **(meta or {}),
    }
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    headers = [
        ("accept", "application/json, text/event-stream"),
        ("content-type", "application/json"),
        ("mcp-protocol-version", MODERN),
        ("mcp-method", method),
    ]
    name = name_of(Request(jsonrpc="2.0", id=1, method=method, params=params))
    if name is not None:
        headers.append(("mcp-name", encode_header_value(name)))
    return json.dumps(message).encode(), headers


@asynccontextmanager
async def open_modern(
    app: McpApp,
    method: str,
    params: dict[str, Any] | None = None,
    request_id: Any = 1,
    *,
    extra_headers: tuple[tuple[str, str], ...] = (),
    send_buffer: float = math.inf,
    **kwargs: Any,
) -> AsyncIterator[AsgiResponse]:
    """POST a per-request-era request; yield the response as soon as it starts.

    ``send_buffer=0`` makes a client that never reads the response.
    """
    body, headers = modern_request(method, params, request_id, **kwargs)
    async with asgi_request(
        app, "POST", headers=[*headers, *extra_headers], body=body, send_buffer=send_buffer
    ) as r:
        yield r


async def modern(
    app: McpApp, method: str, params: dict[str, Any] | None = None, request_id: Any = 1, **kw: Any
) -> tuple[int, list[dict[str, Any]]]:
    """Send one request; return the status and every message of the answer (JSON or SSE)."""
    async with open_modern(app, method, params, request_id, **kw) as response:
        if response.headers.get("content-type") == "text/event-stream":
            return response.status, [json.loads(e.data) for e in await response.events() if e.data]
        return response.status, [json.loads(await response.body())]


async def result_of(
    app: McpApp, method: str, params: dict[str, Any] | None = None, **kw: Any
) -> Any:
    """The result of a request that must succeed."""
    status, messages = await modern(app, method, params, **kw)
    assert status == 200, messages
    assert "result" in messages[-1], messages
    return messages[-1]["result"]
