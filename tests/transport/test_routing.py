"""Routing, request ids, streams, cancellation, caps and stateless mode (in-process ASGI)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing

from tests.helpers import (
    ACCEPT_BOTH,
    JSON_CT,
    call,
    initialize,
    post,
    read_messages,
    rpc,
    running_app,
)
from trio_mcp_http import McpApp, ServerConfig
from trio_mcp_http.testing import AsgiResponse, asgi_request

SSE_ACCEPT = ("accept", "text/event-stream")


async def next_message(response: AsgiResponse) -> dict[str, Any]:
    while True:
        event = await response.next_event()
        if event.data:
            return json.loads(event.data)  # type: ignore[no-any-return]


async def test_ids_1_and_string_1_are_different_requests(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app() as (mcp, tiny), trio.open_nursery() as nursery:
        sid = await initialize(mcp)
        results: dict[Any, Any] = {}

        async def slow() -> None:
            results["slow"] = await call(mcp, rpc("sleep", {"seconds": 5}, id=1), sid)

        nursery.start_soon(slow)
        await tiny.started.wait()
        status, body = await call(mcp, rpc("echo", {"text": "str"}, id="1"), sid)
        assert (status, body[0]["id"], body[0]["result"]) == (200, "1", {"echo": "str"})
        status, body = await call(mcp, rpc("echo", {"text": "dup"}, id=1), sid)
        assert (status, body[0]["error"]["code"]) == (400, -32600)
        assert "in flight" in body[0]["error"]["message"]
        await trio.sleep(10)
        assert results["slow"][1][-1] == {"jsonrpc": "2.0", "id": 1, "result": {"slept": 5}}
        # Once answered, the id may be used again.
        assert (await call(mcp, rpc("echo", id=1), sid))[0] == 200


async def test_racing_gets_one_200_one_409() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        statuses: list[int] = []
        headers = [SSE_ACCEPT, ("mcp-session-id", sid)]
        async with trio.open_nursery() as nursery:

            async def get() -> None:
                async with asgi_request(mcp, "GET", headers=headers) as response:
                    statuses.append(response.status)
                    if response.status == 409:
                        body = json.loads(await response.body())
                        assert body["error"]["code"] == -32600
                        nursery.cancel_scope.cancel()
                    else:
                        await trio.sleep_forever()

            nursery.start_soon(get)
            nursery.start_soon(get)
        assert sorted(statuses) == [200, 409]
        await trio.testing.wait_all_tasks_blocked()
        # The first stream closed: a new GET is allowed again.
        async with asgi_request(mcp, "GET", headers=headers) as response:
            assert response.status == 200


async def test_get_requires_session_and_event_stream_accept() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        async with asgi_request(mcp, "GET", headers=[SSE_ACCEPT]) as response:
            assert response.status == 400
        async with asgi_request(
            mcp, "GET", headers=[("accept", "application/json"), ("mcp-session-id", sid)]
        ) as response:
            assert response.status == 406
        async with asgi_request(
            mcp, "GET", headers=[SSE_ACCEPT, ("mcp-session-id", "unknown")]
        ) as response:
            assert response.status == 404


async def test_unrelated_notification_goes_to_get_stream_only() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        async with asgi_request(
            mcp, "GET", headers=[SSE_ACCEPT, ("mcp-session-id", sid)]
        ) as stream:
            status, body = await call(mcp, rpc("broadcast", {"data": "hello"}, id=4), sid)
            assert status == 200
            assert body == [{"jsonrpc": "2.0", "id": 4, "result": {}}]  # not on the POST stream
            message = await next_message(stream)
            assert message == {
                "jsonrpc": "2.0",
                "method": "notifications/message",
                "params": {"data": "hello"},
            }


async def test_related_notifications_precede_the_response_on_the_post_stream() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        _, messages = await call(mcp, rpc("progress", {"count": 3}, id=9), sid)
        assert [m.get("method") for m in messages] == ["notifications/progress"] * 3 + [None]
        assert messages[-1] == {"jsonrpc": "2.0", "id": 9, "result": {"done": True}}


async def test_server_to_client_request_round_trip() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        async with post(mcp, rpc("ask", {"q": "why"}, id="outer"), sid) as response:
            asked = await next_message(response)
            assert asked["method"] == "sampling/createMessage"
            assert asked["params"] == {"q": "why"}
            answer = {"jsonrpc": "2.0", "id": asked["id"], "result": {"text": "because"}}
            async with post(mcp, json.dumps(answer).encode(), sid) as posted:
                assert posted.status == 202
            assert await next_message(response) == {
                "jsonrpc": "2.0",
                "id": "outer",
                "result": {"text": "because"},
            }


async def test_client_error_answer_becomes_handler_error() -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        async with post(mcp, rpc("ask", id=2), sid) as response:
            asked = await next_message(response)
            answer = {
                "jsonrpc": "2.0",
                "id": asked["id"],
                "error": {"code": -1, "message": "user declined"},
            }
            async with post(mcp, json.dumps(answer).encode(), sid):
                pass
            final = await next_message(response)
            assert final["error"] == {"code": -1, "message": "user declined"}


async def test_related_request_fails_clearly_in_json_mode() -> None:
    async with running_app(ServerConfig(json_response=True)) as (mcp, _):
        sid = await initialize(mcp)
        _, body = await call(mcp, rpc("ask"), sid)
        assert body[0]["error"]["code"] == -32603
        assert "JSON response mode" in body[0]["error"]["message"]


async def test_cancelled_notification_stops_the_handler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        async with post(mcp, rpc("sleep", {"seconds": 1000}, id=11), sid) as response:
            await tiny.started.wait()
            cancel = rpc("notifications/cancelled", {"requestId": 11, "reason": "user"}, id=None)
            async with post(mcp, cancel, sid) as posted:
                assert posted.status == 202
            # Spec: no response for a cancelled request; the stream simply ends.
            assert await read_messages(response) == []
            assert response.complete
        assert tiny.cancelled == [11]
        assert trio.current_time() < 1000


async def json_call_in_background(
    nursery: trio.Nursery, mcp: McpApp, body: bytes, sid: str
) -> list[Any]:
    """Start a POST whose JSON answer only arrives when the handler ends; return its box."""
    box: list[Any] = []

    async def run() -> None:
        box.append(await call(mcp, body, sid))

    nursery.start_soon(run)
    return box


async def test_cancellation_matches_the_exact_id_type(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app(ServerConfig(json_response=True)) as (mcp, tiny):
        sid = await initialize(mcp)
        async with trio.open_nursery() as nursery:
            box = await json_call_in_background(
                nursery, mcp, rpc("sleep", {"seconds": 50}, id=11), sid
            )
            await tiny.started.wait()
            await call(mcp, rpc("notifications/cancelled", {"requestId": "11"}, id=None), sid)
        assert box == [(200, [{"jsonrpc": "2.0", "id": 11, "result": {"slept": 50}}])]
        assert tiny.cancelled == []


async def test_cancelled_request_in_json_mode_gets_cancelled_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app(ServerConfig(json_response=True)) as (mcp, tiny):
        sid = await initialize(mcp)
        async with trio.open_nursery() as nursery:
            box = await json_call_in_background(
                nursery, mcp, rpc("sleep", {"seconds": 50}, id=5), sid
            )
            await tiny.started.wait()
            await call(mcp, rpc("notifications/cancelled", {"requestId": 5}, id=None), sid)
        ((status, (body,)),) = box
        assert (status, body["id"], body["error"]["code"]) == (200, 5, -32800)
        assert tiny.cancelled == [5]
        assert trio.current_time() < 50


async def test_delete_during_request_answers_it_with_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        async with post(mcp, rpc("sleep", {"seconds": 50}, id=5), sid) as response:
            await tiny.started.wait()
            async with asgi_request(mcp, "DELETE", headers=[("mcp-session-id", sid)]) as deleted:
                assert deleted.status == 200
            (message,) = await read_messages(response)
            assert response.complete
        assert message["id"] == 5 and message["error"]["code"] == -32800
        assert "session closed" in message["error"]["message"]
        assert tiny.cancelled == [5]


async def test_slow_consumer_stream_is_cut_and_nothing_else_waits() -> None:
    async with running_app(ServerConfig(stream_queue_size=4)) as (mcp, _):
        sid = await initialize(mcp)
        headers = [SSE_ACCEPT, ("mcp-session-id", sid)]
        async with asgi_request(mcp, "GET", headers=headers, send_buffer=0) as stalled:
            # The client reads nothing more: the writer is stuck in send() for good.
            for i in range(20):
                status, _ = await call(mcp, rpc("broadcast", {"data": i}, id=i), sid)
                assert status == 200  # the session keeps answering, without waiting
            other = await initialize(mcp)
            assert (await call(mcp, rpc("echo"), other))[0] == 200
            body = await stalled.body()
            assert not stalled.complete  # cut, not ended: the client knows it lost the stream
            assert body.count(b"notifications/message") <= 5
        # The cut stream is gone: a new GET stream may open.
        async with asgi_request(mcp, "GET", headers=headers) as again:
            assert again.status == 200


async def test_at_cap_least_recently_active_idle_session_is_evicted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app(ServerConfig(max_sessions=2)) as (mcp, _):
        first = await initialize(mcp)
        await trio.sleep(1)
        second = await initialize(mcp)
        await trio.sleep(1)
        assert (await call(mcp, rpc("echo"), first))[0] == 200  # first is now the most recent
        third = await initialize(mcp)
        assert (await call(mcp, rpc("echo"), second))[0] == 404
        assert (await call(mcp, rpc("echo"), first))[0] == 200
        assert (await call(mcp, rpc("echo"), third))[0] == 200
        assert mcp.statistics().sessions_closed == {"evicted": 1}


async def test_at_cap_with_every_session_busy_new_sessions_get_503() -> None:
    async with running_app(ServerConfig(max_sessions=1)) as (mcp, _):
        sid = await initialize(mcp)
        async with asgi_request(mcp, "GET", headers=[SSE_ACCEPT, ("mcp-session-id", sid)]):
            status, body = await call(
                mcp, rpc("initialize", {"protocolVersion": "2025-11-25"}, id=0), version=None
            )
            assert status == 503
            assert body[0]["error"]["code"] == -32600
        async with post(mcp, rpc("initialize", {}, id=0), version=None) as response:
            assert response.status == 200  # the GET ended: the idle session is evicted


async def test_retry_after_on_503() -> None:
    async with running_app(ServerConfig(max_sessions=1, retry_after=7)) as (mcp, _):
        sid = await initialize(mcp)
        async with (
            asgi_request(mcp, "GET", headers=[SSE_ACCEPT, ("mcp-session-id", sid)]),
            post(mcp, rpc("initialize", {}, id=0)) as response,
        ):
            assert (response.status, response.headers["retry-after"]) == (503, "7")


async def test_stateless_mode_serves_each_post_alone_and_leaks_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app(ServerConfig(stateless=True)) as (mcp, tiny):
        for i in range(50):
            async with post(mcp, rpc("echo", {"text": str(i)}, id=i)) as response:
                assert "mcp-session-id" not in response.headers
                assert (await read_messages(response))[-1]["result"] == {"echo": str(i)}
        assert (await call(mcp, rpc("notifications/x", id=None)))[0] == 202
        _, body = await call(mcp, rpc("ask", id=1))
        assert "stateless" in body[0]["error"]["message"]
        await trio.testing.wait_all_tasks_blocked()
        stats = mcp.statistics()
        assert (stats.sessions, stats.streams, stats.requests_in_flight, stats.session_tasks) == (
            0,
            0,
            0,
            0,
        )
        assert len(tiny.sessions) == 52
        for method in ("GET", "DELETE"):
            async with asgi_request(mcp, method) as response:
                assert (response.status, response.headers["allow"]) == (405, "POST")


async def test_stateless_ignores_session_header() -> None:
    async with running_app(ServerConfig(stateless=True)) as (mcp, _):
        assert (await call(mcp, rpc("echo"), "whatever"))[0] == 200


async def test_requests_before_manager_runs_get_503() -> None:
    from tests.helpers import TinyApp  # noqa: PLC0415

    mcp = McpApp(TinyApp())
    async with asgi_request(
        mcp, "POST", headers=[ACCEPT_BOTH, JSON_CT], body=rpc("initialize", {})
    ) as response:
        assert response.status == 503


async def test_unanswered_client_request_times_out_with_cancellation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app(ServerConfig(client_request_timeout=30)) as (mcp, _):
        sid = await initialize(mcp)
        async with post(mcp, rpc("ask", id="q"), sid) as response:
            asked = await next_message(response)
            start = trio.current_time()
            cancelled = await next_message(response)  # the client never answers
            assert trio.current_time() - start == 30
            assert cancelled == {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": asked["id"], "reason": "timed out"},
            }
            final = await next_message(response)
        assert final["id"] == "q"
        assert final["error"]["code"] == -32001
        assert mcp.statistics().requests_in_flight == 0


async def test_unrelated_request_pending_when_the_session_closes_fails_cleanly() -> None:
    from trio_mcp_http import BackChannelUnavailable  # noqa: PLC0415

    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        outcome: list[BaseException] = []
        async with (
            asgi_request(mcp, "GET", headers=[SSE_ACCEPT, ("mcp-session-id", sid)]) as stream,
            trio.open_nursery() as nursery,
        ):

            async def ask_from_outside() -> None:  # e.g. an application background task
                try:
                    await tiny.sessions[0].send_request("roots/list")
                except BackChannelUnavailable as exc:
                    outcome.append(exc)

            nursery.start_soon(ask_from_outside)
            asked = await next_message(stream)
            assert asked["method"] == "roots/list"
            async with asgi_request(mcp, "DELETE", headers=[("mcp-session-id", sid)]) as deleted:
                assert deleted.status == 200
        assert len(outcome) == 1
        assert "session closed" in str(outcome[0])


async def test_session_ids_start_with_the_configured_prefix() -> None:
    config = ServerConfig(session_id_prefix="w7.a_b-")
    async with running_app(config) as (mcp, _):
        ids = {await initialize(mcp) for _ in range(20)}
    assert len(ids) == 20
    assert all(sid.startswith("w7.a_b-") and len(sid) == len("w7.a_b-") + 32 for sid in ids)


def test_session_id_prefixes_are_short_and_plain() -> None:
    for bad in ("w 1", "w/1", "é", "x" * 33, "a:b"):
        with pytest.raises(ValueError, match="session_id_prefix"):
            ServerConfig(session_id_prefix=bad)
