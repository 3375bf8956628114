"""Endpoint semantics of the 2025 revisions, one test per spec rule (in-process ASGI)."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing

from tests.helpers import (
    ACCEPT_BOTH,
    JSON_CT,
    LATEST,
    call,
    init_body,
    initialize,
    post,
    read_messages,
    rpc,
    running_app,
)
from trio_mcp_http import ServerConfig
from trio_mcp_http.testing import asgi_request


async def test_initialize_creates_session_with_visible_ascii_id() -> None:
    async with running_app() as (mcp, _):
        async with post(mcp, init_body(), version=None) as response:
            assert response.status == 200
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            session_id = response.headers["mcp-session-id"]
            (message,) = await read_messages(response)
        assert message["result"]["protocolVersion"] == LATEST
        assert len(session_id) >= 22 and all(0x21 <= ord(c) <= 0x7E for c in session_id)


async def test_request_without_session_id_gets_400() -> None:
    async with running_app() as (mcp, _):
        await initialize(mcp)
        status, body = await call(mcp, rpc("echo", {"text": "x"}))
        assert status == 400
        assert body[0]["id"] is None and body[0]["error"]["code"] == -32600


async def test_unknown_session_id_gets_404() -> None:
    async with running_app() as (mcp, _):
        status, body = await call(mcp, rpc("echo"), "never-issued")
        assert (status, body[0]["error"]["message"]) == (404, "Session not found")


async def test_malformed_session_id_gets_400() -> None:
    async with running_app() as (mcp, _):
        status, _ = await call(mcp, rpc("echo"), "bad id with spaces")
        assert status == 400


async def test_delete_terminates_and_later_requests_get_404() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        async with asgi_request(mcp, "DELETE", headers=[("mcp-session-id", sid)]) as response:
            assert response.status == 200
        assert mcp.statistics().sessions == 0
        assert (await call(mcp, rpc("echo"), sid))[0] == 404
        async with asgi_request(mcp, "DELETE", headers=[("mcp-session-id", sid)]) as response:
            assert response.status == 404


async def test_delete_without_session_id_gets_400() -> None:
    async with running_app() as (mcp, _), asgi_request(mcp, "DELETE") as response:
        assert response.status == 400


async def test_notification_and_response_get_202_with_no_body() -> None:
    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        async with post(mcp, rpc("notifications/roots/list_changed", id=None), sid) as response:
            assert response.status == 202
            assert await response.body() == b""
        response_body = json.dumps({"jsonrpc": "2.0", "id": 99, "result": {}}).encode()
        async with post(mcp, response_body, sid) as response:
            assert response.status == 202
        await trio.testing.wait_all_tasks_blocked()
        assert tiny.notifications == [
            "notifications/initialized",
            "notifications/roots/list_changed",
        ]


async def test_json_response_mode_returns_one_json_body() -> None:
    async with running_app(ServerConfig(json_response=True)) as (mcp, _):
        sid = await initialize(mcp)
        async with post(mcp, rpc("echo", {"text": "hi"}, id=7), sid) as response:
            assert response.status == 200
            assert response.headers["content-type"] == "application/json"
            assert json.loads(await response.body()) == {
                "jsonrpc": "2.0",
                "id": 7,
                "result": {"echo": "hi"},
            }


async def test_client_accepting_only_json_gets_json_even_in_sse_mode() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        headers = (("accept", "application/json"), JSON_CT)
        async with post(mcp, rpc("echo", {"text": "hi"}), sid, headers=headers) as response:
            assert response.headers["content-type"] == "application/json"


async def test_accept_ruling_out_both_types_gets_406() -> None:
    async with running_app() as (mcp, _):
        headers = (("accept", "text/html"), JSON_CT)
        async with post(mcp, init_body(), headers=headers) as response:
            assert response.status == 406


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=latin-1", None])
async def test_wrong_content_type_gets_415(content_type: str | None) -> None:
    headers = (
        (ACCEPT_BOTH,) if content_type is None else (ACCEPT_BOTH, ("content-type", content_type))
    )
    async with running_app() as (mcp, _), post(mcp, init_body(), headers=headers) as response:
        assert response.status == 415


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b""])
async def test_unparseable_body_gets_400_parse_error(body: bytes) -> None:
    async with running_app() as (mcp, _):
        status, messages = await call(mcp, body)
        assert (status, messages[0]["error"]["code"]) == (400, -32700)


@pytest.mark.parametrize(
    "body",
    [
        b"42",
        b'{"jsonrpc":"1.0","id":1,"method":"x"}',
        b'{"jsonrpc":"2.0","id":null,"method":"x"}',
        b"[]",
    ],
)
async def test_invalid_message_gets_400_invalid_request(body: bytes) -> None:
    async with running_app() as (mcp, _):
        status, messages = await call(mcp, body)
        assert (status, messages[0]["error"]["code"]) == (400, -32600)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "HEAD", "OPTIONS"])
async def test_other_methods_get_405_with_allow(method: str) -> None:
    async with running_app() as (mcp, _), asgi_request(mcp, method) as response:
        assert response.status == 405
        assert response.headers["allow"] == "GET, POST, DELETE"
        assert json.loads(await response.body())["error"]["code"] == -32600


async def test_other_paths_get_404() -> None:
    async with (
        running_app() as (mcp, _),
        asgi_request(mcp, "POST", "/other", body=init_body()) as response,
    ):
        assert response.status == 404


async def test_body_over_limit_gets_413_before_reading_it_all() -> None:
    async with running_app(ServerConfig(max_body_bytes=1000)) as (mcp, _):
        big = rpc("echo", {"text": "x" * 5000})
        headers = [ACCEPT_BOTH, JSON_CT, ("content-length", str(len(big)))]
        async with asgi_request(mcp, "POST", headers=headers, body=big) as response:
            assert response.status == 413
        async with asgi_request(
            mcp, "POST", headers=[ACCEPT_BOTH, JSON_CT], body=big, chunk_size=100
        ) as response:
            assert response.status == 413


@pytest.mark.parametrize("version", ["invalid-protocol-version", "2000-01-01", "2099-01-01"])
async def test_unsupported_protocol_version_gets_400(version: str) -> None:
    async with running_app() as (mcp, _):
        status, body = await call(mcp, init_body(), version=version)
        assert status == 400
        served = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"]
        assert body[0]["error"]["data"] == {"supported": served, "requested": version}
        sid = await initialize(mcp)
        assert (await call(mcp, rpc("echo"), sid, version=version))[0] == 400


async def test_a_handshake_request_under_the_per_request_version_is_told_what_it_lacks() -> None:
    async with running_app() as (mcp, _):
        status, body = await call(mcp, init_body(), version="2026-07-28")
        assert (status, body[0]["id"], body[0]["error"]["code"]) == (400, 0, -32602)
        sid = await initialize(mcp)
        assert (await call(mcp, rpc("echo"), sid, version="2026-07-28"))[0] == 400


async def test_a_legacy_only_server_refuses_the_per_request_version() -> None:
    config = ServerConfig(versions=["2025-06-18", "2025-11-25"])
    async with running_app(config) as (mcp, _):
        status, body = await call(mcp, init_body(), version="2026-07-28")
        assert status == 400
        assert body[0]["error"]["data"]["supported"] == ["2025-06-18", "2025-11-25"]


async def test_missing_protocol_version_assumes_2025_03_26_and_any_supported_is_accepted() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        for version in (None, "2025-03-26", "2025-06-18", "2025-11-25"):
            assert (await call(mcp, rpc("echo"), sid, version=version))[0] == 200


async def test_batch_accepted_on_2025_03_26_session() -> None:
    async with running_app(ServerConfig(json_response=True)) as (mcp, tiny):
        sid = await initialize(mcp, "2025-03-26")
        batch = json.dumps(
            [
                {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"text": "a"}},
                {"jsonrpc": "2.0", "method": "notifications/x"},
                {"jsonrpc": "2.0", "id": "1", "method": "echo", "params": {"text": "b"}},
                {"jsonrpc": "2.0", "id": 3, "method": 5},
            ]
        ).encode()
        status, messages = await call(mcp, batch, sid, version="2025-03-26")
        assert status == 200
        by_id = {(type(m["id"]), m["id"]): m for m in messages}
        assert by_id[(int, 1)]["result"] == {"echo": "a"}
        assert by_id[(str, "1")]["result"] == {"echo": "b"}
        assert by_id[(int, 3)]["error"]["code"] == -32600
        assert len(messages) == 3
        assert "notifications/x" in tiny.notifications


async def test_batch_of_notifications_gets_202() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp, "2025-03-26")
        batch = b'[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]'
        assert (await call(mcp, batch, sid, version="2025-03-26"))[0] == 202


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
async def test_batch_rejected_after_2025_03_26(version: str) -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp, version)
        status, body = await call(
            mcp, b'[{"jsonrpc":"2.0","id":1,"method":"echo"}]', sid, version=version
        )
        assert (status, body[0]["error"]["code"]) == (400, -32600)


async def test_initialize_on_existing_session_gets_400() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        assert (await call(mcp, init_body(), sid))[0] == 400


async def test_failed_initialize_leaves_no_session() -> None:
    async with running_app() as (mcp, _):
        async with post(mcp, init_body(version="bad"), version=None) as response:
            sid = response.headers["mcp-session-id"]
            (message,) = await read_messages(response)
        assert message["error"]["code"] == -32602
        await trio.testing.wait_all_tasks_blocked()
        assert mcp.statistics().sessions == 0
        assert (await call(mcp, rpc("echo"), sid))[0] == 404


async def test_handler_exception_is_an_internal_error_and_session_survives() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        status, body = await call(mcp, rpc("crash"), sid)
        assert (status, body[0]["error"]["code"]) == (200, -32603)
        assert (await call(mcp, rpc("echo"), sid))[0] == 200


async def test_unknown_method_error_from_handler_is_passed_through() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        _, body = await call(mcp, rpc("nope"), sid)
        assert body[0]["error"]["code"] == -32601
