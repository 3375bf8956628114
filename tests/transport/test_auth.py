"""OAuth 2.1 resource server: bearer tokens, RFC 9728 metadata, sessions bound to principals."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ACCEPT_BOTH, JSON_CT, LATEST, init_body, rpc, running_app
from trio_mcp_http import AccessToken, AuthConfig, McpApp, ServerConfig
from trio_mcp_http.testing import AsgiResponse, asgi_request

TOKENS = {
    "alice-token": AccessToken("alice", frozenset({"mcp"})),
    "bob-token": AccessToken("bob", frozenset({"mcp"})),
    "weak-token": AccessToken("carol", frozenset()),
}


class DictVerifier:
    async def verify(self, token: str) -> AccessToken | None:
        if token == "explode":
            raise RuntimeError("verifier bug")
        return TOKENS.get(token)


AUTH = AuthConfig(
    verifier=DictVerifier(),
    resource="https://mcp.example.com/mcp",
    authorization_servers=["https://auth.example.com"],
    required_scopes=["mcp"],
)
METADATA_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"


async def send(
    mcp: McpApp, token: str | None, body: bytes, sid: str | None = None, path: str = "/mcp"
) -> tuple[AsgiResponse, bytes]:
    headers = [ACCEPT_BOTH, JSON_CT, ("mcp-protocol-version", LATEST)]
    if token is not None:
        headers.append(("authorization", f"Bearer {token}"))
    if sid is not None:
        headers.append(("mcp-session-id", sid))
    async with asgi_request(mcp, "POST", path, headers=headers, body=body) as response:
        return response, await response.body()


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
)
async def test_protected_resource_metadata_is_served(path: str) -> None:
    async with (
        running_app(ServerConfig(auth=AUTH)) as (mcp, _),
        asgi_request(mcp, "GET", path) as response,
    ):
        assert response.status == 200
        document = json.loads(await response.body())
    assert document == {
        "resource": "https://mcp.example.com/mcp",
        "authorization_servers": ["https://auth.example.com"],
        "scopes_supported": ["mcp"],
        "bearer_methods_supported": ["header"],
    }


async def test_missing_token_gets_401_with_resource_metadata() -> None:
    async with running_app(ServerConfig(auth=AUTH)) as (mcp, _):
        response, body = await send(mcp, None, init_body())
    assert response.status == 401
    assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA_URL}"'
    assert json.loads(body)["error"]["code"] == -32600


async def test_invalid_token_gets_401_invalid_token() -> None:
    async with running_app(ServerConfig(auth=AUTH)) as (mcp, _):
        response, _ = await send(mcp, "forged", init_body())
    assert response.status == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_token_in_query_string_is_never_used() -> None:
    async with running_app(ServerConfig(auth=AUTH)) as (mcp, _):
        response, _ = await send(mcp, None, init_body(), path="/mcp?access_token=alice-token")
    assert response.status == 401


async def test_insufficient_scope_gets_403() -> None:
    async with running_app(ServerConfig(auth=AUTH)) as (mcp, _):
        response, _ = await send(mcp, "weak-token", init_body())
    assert response.status == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="mcp"' in challenge
    assert f'resource_metadata="{METADATA_URL}"' in challenge


async def test_verifier_failure_is_a_server_error_not_a_pass() -> None:
    async with running_app(ServerConfig(auth=AUTH)) as (mcp, _):
        response, _ = await send(mcp, "explode", init_body())
    assert response.status == 500


async def test_session_is_bound_to_the_principal_that_created_it() -> None:
    async with running_app(ServerConfig(auth=AUTH)) as (mcp, _):
        response, _ = await send(mcp, "alice-token", init_body())
        assert response.status == 200
        sid = response.headers["mcp-session-id"]
        response, _ = await send(mcp, "alice-token", rpc("echo", {"text": "mine"}), sid)
        assert response.status == 200
        # Bob holds a valid token and Alice's session id: to him it does not exist.
        response, body = await send(mcp, "bob-token", rpc("echo"), sid)
        assert response.status == 404
        assert json.loads(body)["error"]["message"] == "Session not found"
        async with asgi_request(
            mcp, "DELETE", headers=[("authorization", "Bearer bob-token"), ("mcp-session-id", sid)]
        ) as deleted:
            assert deleted.status == 404
        assert mcp.manager._find(sid) is not None


def test_auth_config_requires_an_authorization_server() -> None:
    with pytest.raises(ValueError, match="authorization server"):
        AuthConfig(verifier=DictVerifier(), resource="https://x/mcp", authorization_servers=[])
    with pytest.raises(ValueError, match="absolute"):
        AuthConfig(verifier=DictVerifier(), resource="/mcp", authorization_servers=["https://a"])
