"""Finding a server's era: ``server/discover`` at the newest per-request version.

The answer decides (versioning.mdx): a result naming the version means the per-request era; a
-32022 error whose ``supported`` list holds handshake versions only, a 4xx whose body is not a
modern error, 404 and 405 mean an older server (``initialize`` next). A -32022 listing only
versions this client does not speak is raised. Authorization failures (401, 403), server
errors (5xx), a broken connection and anything unexpected are raised too: they say nothing
about the era.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .._core.jsonrpc import ErrorResponse, Response, make_request
from .._core.per_request import (
    CLIENT_CAPABILITIES,
    CLIENT_INFO,
    HEADER_MISMATCH,
    MISSING_CLIENT_CAPABILITY,
    PROTOCOL_VERSION,
    UNSUPPORTED_PROTOCOL_VERSION,
)
from .._core.versions import HANDSHAKE_VERSIONS, VERSIONS
from ._errors import McpHttpError, McpProtocolError, UnsupportedProtocolVersion

if TYPE_CHECKING:
    from .._core.jsonrpc import ErrorObject
    from ._transport import Transport
    from ._types import Implementation

__all__ = ["probe"]

log = logging.getLogger("trio_mcp_http.client")

#: The errors only a per-request-era server sends: not a sign of an older server.
_MODERN_ERRORS = frozenset({HEADER_MISMATCH, MISSING_CLIENT_CAPABILITY})


async def probe(
    transport: Transport,
    version: str,
    client_info: Implementation,
    capabilities: dict[str, Any],
) -> dict[str, Any] | None:
    """Ask ``server/discover``; the result when the server speaks ``version``, else ``None``.

    Raises:
        McpHttpError: 401, 403 or 5xx, or a modern error that is no verdict on the era.
        UnsupportedProtocolVersion: The server speaks only versions this client lacks.
        McpConnectionError: The server could not be reached.
    """
    meta = {
        PROTOCOL_VERSION: version,
        CLIENT_CAPABILITIES: capabilities,
        CLIENT_INFO: client_info.model_dump(by_alias=True, exclude_none=True),
    }
    request = make_request(0, "server/discover", {"_meta": meta})
    transport.protocol_version = version
    try:
        async with transport.post(request, extra=[("Mcp-Method", "server/discover")]) as reply:
            messages = await reply.json_messages() if not reply.is_sse else []
            if reply.is_sse:
                async for message in reply.events():
                    messages.append(message)
                    if isinstance(message, Response | ErrorResponse):
                        break
    except McpHttpError as exc:
        return _verdict_on_refusal(exc, version)
    except McpProtocolError as exc:
        log.debug("server/discover answered oddly (%s): an older server", exc)
        return None
    for message in messages:
        if isinstance(message, Response):
            versions = message.result.get("supportedVersions")
            if isinstance(versions, list) and version in versions:
                return message.result
            return None
        if isinstance(message, ErrorResponse):
            return _verdict_on_error(message.error, version, None)
    return None


def _verdict_on_refusal(exc: McpHttpError, version: str) -> dict[str, Any] | None:
    if exc.status in (401, 403) or exc.status >= 500:
        raise exc
    if exc.error is not None:
        return _verdict_on_error(exc.error, version, exc)
    log.debug("server/discover got HTTP %d without a JSON-RPC error: an older server", exc.status)
    return None


def _verdict_on_error(
    error: ErrorObject, version: str, exc: McpHttpError | None
) -> dict[str, Any] | None:
    if error.code == UNSUPPORTED_PROTOCOL_VERSION and isinstance(error.data, dict):
        supported = error.data.get("supported")
        if isinstance(supported, list) and supported:
            if any(v in HANDSHAKE_VERSIONS for v in supported):
                return None  # an older (or dual) server that does not speak ours
            if not any(v in VERSIONS for v in supported):
                raise UnsupportedProtocolVersion(version, supported)
        return None
    if error.code in _MODERN_ERRORS:
        if exc is not None:
            raise exc
        raise McpHttpError(400, error)
    return None  # a 4xx with another error: an older server
