"""The checks every request passes before any session or handler is touched.

DNS-rebinding protection (``Host`` and ``Origin`` against allow lists), bearer-token
authorization, and the header parses that repeat from request to request (``Accept``,
``Content-Type``, ``MCP-Protocol-Version``), memoized per header value. The rules themselves
are the core's pure functions; this module only applies them to a configuration.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .._core.auth import bearer_token
from .._core.headers import (
    Acceptable,
    ProtocolVersionCheck,
    check_protocol_version,
    host_allowed,
    is_json_content_type,
    is_loopback_host,
    loopback_allow_lists,
    origin_allowed,
    parse_accept,
)
from .._core.rejections import Rejection
from .http_request import HeaderMemo, Refused, text

if TYPE_CHECKING:
    from .config import ServerConfig
    from .http_request import HttpRequest

__all__ = ["Guards"]

log = logging.getLogger("trio_mcp_http.asgi")


class Guards:
    """The request checks of one endpoint, configured once.

    Args:
        config: The server options (allow lists, authorization, client address header).
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._loopback_hosts, self._loopback_origins = loopback_allow_lists()
        self._host_and_origin = HeaderMemo(self._host_and_origin_verdict)
        self.accept: HeaderMemo[bytes | None, Acceptable] = HeaderMemo(
            lambda value: parse_accept(text(value))
        )
        self.json_body: HeaderMemo[bytes | None, bool] = HeaderMemo(
            lambda value: is_json_content_type(text(value))
        )
        self.version: HeaderMemo[bytes | None, ProtocolVersionCheck] = HeaderMemo(
            lambda value: check_protocol_version(text(value))
        )
        header = config.client_address_header
        self._address_header = None if header is None else header.lower().encode("latin-1")

    def check_host_and_origin(self, server: Any, headers: dict[bytes, bytes]) -> None:
        """Refuse (403) a ``Host`` or ``Origin`` that the allow lists rule out.

        Args:
            server: The ASGI ``server`` address the request came in on (or ``None``).
            headers: The request's headers.
        """
        server_host = None if server is None else server[0]
        verdict = self._host_and_origin((server_host, headers.get(b"host"), headers.get(b"origin")))
        if verdict is not None:
            raise Refused(verdict)

    def _host_and_origin_verdict(
        self, key: tuple[object, bytes | None, bytes | None]
    ) -> Rejection | None:
        server_host, host, origin = key
        hosts, origins = self.config.allowed_hosts, self.config.allowed_origins
        loopback = server_host is not None and is_loopback_host(str(server_host))
        if hosts is None and loopback:
            hosts = self._loopback_hosts
        if origins is None and loopback:
            origins = self._loopback_origins
        if origins is not None and not origin_allowed(text(origin), origins):
            return Rejection.FORBIDDEN_ORIGIN
        if hosts is not None and not host_allowed(text(host), hosts):
            return Rejection.FORBIDDEN_HOST
        return None

    def client_address(self, client: Any, headers: dict[bytes, bytes]) -> str | None:
        """Who sent the request, for the per-client quotas (see ``client_address_header``)."""
        if self._address_header is not None:
            forwarded = headers.get(self._address_header)
            if forwarded is None:
                return None
            return forwarded.rpartition(b",")[2].strip().decode("latin-1") or None
        return None if not client else str(client[0])

    async def authenticate(self, request: HttpRequest) -> None:
        """Verify the bearer token (from the header only) and record its principal.

        Raises:
            Refused: 401 without a valid token, 403 without the required scopes, 500 when the
                verifier itself fails.
        """
        auth = self.config.auth
        if auth is None:
            return
        token = bearer_token(request.headers.get(b"authorization"))
        if token is None:
            raise Refused(Rejection.UNAUTHORIZED, www_authenticate=auth.challenge())
        try:
            grant = await auth.verifier.verify(token)
        except Exception:
            log.exception("token verifier raised")
            raise Refused(Rejection.INTERNAL_ERROR) from None
        if grant is None:
            raise Refused(
                Rejection.UNAUTHORIZED,
                message="Unauthorized: invalid or expired token",
                www_authenticate=auth.challenge(error="invalid_token"),
            )
        if any(scope not in grant.scopes for scope in auth.required_scopes):
            raise Refused(
                Rejection.INSUFFICIENT_SCOPE,
                www_authenticate=auth.challenge(
                    error="insufficient_scope", scope=auth.required_scopes
                ),
            )
        request.principal = grant.principal
