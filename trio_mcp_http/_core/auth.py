"""The MCP server as an OAuth 2.1 resource server (bearer tokens, RFC 9728 metadata).

The transport checks a bearer token on every request to the endpoint (spec: "MCP servers that
implement authorization MUST verify all inbound requests"); verifying it is the job of a
pluggable :class:`TokenVerifier`. Tokens are only read from the ``Authorization`` header, never
from the query string. Each session is bound to the principal that created it: the same
session id presented with another principal's token gets 404, exactly like an unknown id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

__all__ = ["AccessToken", "AuthConfig", "TokenVerifier", "bearer_token"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A verified token.

    Attributes:
        principal: Who the token speaks for (subject or client id); sessions are bound to it.
        scopes: The scopes granted.
    """

    principal: str
    scopes: frozenset[str] = frozenset()


class TokenVerifier(Protocol):
    """Checks bearer tokens: signature, expiry, and that this server is the audience."""

    async def verify(self, token: str) -> AccessToken | None:
        """Return the token's grant, or ``None`` if it is invalid, expired or not for us."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthConfig:
    """Authorization settings.

    Attributes:
        verifier: Verifies bearer tokens.
        resource: This server's canonical resource URL (e.g. ``https://mcp.example.com/mcp``).
        authorization_servers: Issuer URLs of the authorization servers clients should use.
        required_scopes: Scopes every request needs; a token without them gets 403.
        scopes_supported: Scopes advertised in the metadata (default: ``required_scopes``).
        resource_name: A human-readable name for the metadata document.
    """

    verifier: TokenVerifier
    resource: str
    authorization_servers: Sequence[str]
    required_scopes: Sequence[str] = ()
    scopes_supported: Sequence[str] | None = None
    resource_name: str | None = None
    _metadata: bytes = field(init=False, repr=False, default=b"")

    def __post_init__(self) -> None:
        if not self.authorization_servers:
            raise ValueError("protected resource metadata MUST list an authorization server")
        parts = urlsplit(self.resource)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("resource must be an absolute http(s) URL")
        document: dict[str, object] = {
            "resource": self.resource,
            "authorization_servers": list(self.authorization_servers),
            "scopes_supported": list(
                self.scopes_supported if self.scopes_supported is not None else self.required_scopes
            ),
            "bearer_methods_supported": ["header"],
        }
        if self.resource_name is not None:
            document["resource_name"] = self.resource_name
        object.__setattr__(self, "_metadata", json.dumps(document).encode())

    @property
    def metadata_document(self) -> bytes:
        """The RFC 9728 protected resource metadata, as JSON bytes."""
        return self._metadata

    @property
    def metadata_url(self) -> str:
        """The URL the metadata is served at (the path-inserted well-known URL of the resource)."""
        parts = urlsplit(self.resource)
        path = parts.path.rstrip("/")
        return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{path}"

    def metadata_paths(self) -> frozenset[str]:
        """The request paths that serve the metadata (root and path-inserted forms)."""
        path = urlsplit(self.resource).path.rstrip("/")
        return frozenset({WELL_KNOWN, WELL_KNOWN + path})

    def challenge(self, *, error: str | None = None, scope: Sequence[str] = ()) -> bytes:
        """The ``WWW-Authenticate`` value for a 401 or 403 answer."""
        params = []
        if error is not None:
            params.append(f'error="{error}"')
        if scope:
            params.append(f'scope="{" ".join(scope)}"')
        params.append(f'resource_metadata="{self.metadata_url}"')
        return ("Bearer " + ", ".join(params)).encode()


def bearer_token(authorization: bytes | None) -> str | None:
    """Extract the token of an ``Authorization: Bearer <token>`` header (else ``None``)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.decode("latin-1").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token
