"""An MCP server that is an OAuth 2.1 resource server, with JWT access tokens.

The authorization server (not part of this package) issues JWTs whose ``aud`` is this server's
resource URL and whose ``scope`` lists the granted scopes. Needs PyJWT (``pip install pyjwt``;
``pyjwt[crypto]`` for RS256/ES256 keys).
"""

from collections.abc import Sequence

import jwt

from trio_mcp_http import AccessToken, AuthConfig, ServerConfig
from trio_mcp_http.server import Context, McpServer

RESOURCE = "https://mcp.example.com/mcp"
ISSUER = "https://auth.example.com"


class JwtVerifier:
    """A :class:`~trio_mcp_http.TokenVerifier` for JWT access tokens.

    Args:
        key: The issuer's verification key (a public key, or a shared secret for HS256).
        issuer: The expected ``iss`` claim.
        audience: The expected ``aud`` claim: this server's resource URL (RFC 8707).
        algorithms: The signature algorithms accepted.
    """

    def __init__(
        self,
        key: str | bytes,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = ("RS256",),
    ) -> None:
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._algorithms = list(algorithms)

    async def verify(self, token: str) -> AccessToken | None:
        """Return the token's principal and scopes, or ``None`` if it is not valid for us."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError:
            return None
        scopes = frozenset(str(claims.get("scope", "")).split())
        # The principal binds sessions: qualify the subject with its issuer.
        return AccessToken(principal=f"{claims['iss']}#{claims['sub']}", scopes=scopes)


def build_config(
    verification_key: str | bytes,
    *,
    algorithms: Sequence[str] = ("RS256",),
    allowed_hosts: Sequence[str] = ("mcp.example.com",),
) -> ServerConfig:
    """The transport configuration: every request needs a token with the ``mcp`` scope."""
    auth = AuthConfig(
        verifier=JwtVerifier(
            verification_key, issuer=ISSUER, audience=RESOURCE, algorithms=algorithms
        ),
        resource=RESOURCE,
        authorization_servers=[ISSUER],
        required_scopes=["mcp"],
        resource_name="Example MCP server",
    )
    return ServerConfig(auth=auth, allowed_hosts=allowed_hosts)


server = McpServer("protected")


@server.tool()
def whoami(ctx: Context) -> str:
    """Return the session id the caller is bound to."""
    return f"session {ctx.session_id}"
