"""The client against scripted servers: exact bytes, dropped streams, ids, retry, statuses."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing

from tests.client.servers import Exchange, Handler, ScriptedServer, answer_lifecycle
from trio_mcp_http import JsonRpcError, Notification, Request
from trio_mcp_http.client import (
    McpConnectionError,
    McpHttpError,
    McpProtocolError,
    ReconnectPolicy,
    ResponseStreamLost,
    SessionNotFound,
    UnsupportedProtocolVersion,
    open_client,
)

#: These tests are about sessions (the handshake era): no era probe first.
open_legacy = partial(open_client, mode="legacy")

URL = "http://127.0.0.1:8000/mcp"
Clock = trio.testing.MockClock


@asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[ScriptedServer]:
    async with trio.open_nursery() as nursery:
        yield ScriptedServer(handler, nursery)
        nursery.cancel_scope.cancel()


def note(i: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "notifications/message", "params": {"i": i}}


def result(request_id: Any, value: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "result": value if value is not None else {"ok": True},
    }


class Recorder:
    """A notification callback that records the ``i`` of each notification."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.notifications: list[Notification] = []

    async def __call__(self, notification: Notification) -> None:
        self.notifications.append(notification)
        self.seen.append((notification.params or {}).get("i"))


# -- resuming a request's stream -------------------------------------------------------------


async def test_dropped_post_stream_is_resumed_without_loss_or_duplicates(
    autojump_clock: Clock,
) -> None:
    state: dict[str, Any] = {}

    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        if ex.request.method == "POST":
            state["id"] = ex.request.json["id"]
            await ex.start_sse()
            await ex.event(id="e0", retry=250)  # priming event: id, empty data, retry
            for i in range(3):
                await ex.event(note(i), id=f"e{i + 1}")
            await ex.data(b'id: e4\ndata: {"jsonrpc": "2.0", "meth')  # half an event
            state["dropped_at"] = trio.current_time()
            await ex.drop()
        else:
            assert ex.request.method == "GET"
            state["resumed_at"] = trio.current_time()
            assert ex.request.headers["last-event-id"] == "e3"
            await ex.start_sse()
            for i in range(3, 6):
                await ex.event(note(i), id=f"e{i + 1}")
            await ex.event(result(state["id"]), id="e7")
            await ex.end()

    recorder = Recorder()
    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, on_notification=recorder) as client,
    ):
        assert await client.request("work") == {"ok": True}
    assert recorder.seen == [0, 1, 2, 3, 4, 5]
    assert state["resumed_at"] - state["dropped_at"] == pytest.approx(0.25)
    [get] = server.of("GET")
    assert get.headers["mcp-session-id"] == "s1"
    assert get.headers["accept"] == "text/event-stream"


async def test_polling_stream_closed_cleanly_is_polled_until_the_response(
    autojump_clock: Clock,
) -> None:
    """2025-11-25: the server may end the connection after any event that has an id."""
    state: dict[str, Any] = {"gets": []}

    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        if ex.request.method == "POST":
            state["id"] = ex.request.json["id"]
            await ex.start_sse()
            await ex.event(id="p0", retry=1000)
            await ex.end()
            return
        state["gets"].append((ex.request.headers.get("last-event-id"), trio.current_time()))
        await ex.start_sse()
        if len(state["gets"]) == 1:
            await ex.event(note(1), id="p1", retry=2000)
        else:
            await ex.event(result(state["id"]), id="p2")
        await ex.end()

    recorder = Recorder()
    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, on_notification=recorder) as client,
    ):
        started = trio.current_time()
        assert await client.request("work") == {"ok": True}
    (first_id, first_at), (second_id, second_at) = state["gets"]
    assert (first_id, second_id) == ("p0", "p1")
    assert first_at - started == pytest.approx(1.0)
    assert second_at - first_at == pytest.approx(2.0)  # the latest retry value wins
    assert recorder.seen == [1]


async def test_dropped_stream_without_event_ids_fails_typed(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        await ex.start_sse()
        await ex.event(note(0))
        await ex.drop()

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        with pytest.raises(ResponseStreamLost) as info:
            await client.request("work")
        assert info.value.request_id == 2  # 1 was initialize
        assert isinstance(info.value.__cause__, McpConnectionError)
        assert server.of("GET") == []
        [cancel] = server.of("rpc:notifications/cancelled")
        assert cancel.json["params"]["requestId"] == 2


async def test_resume_refused_with_405_fails_typed(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        if ex.request.method == "GET":
            await ex.json(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "no GET"}},
                status=405,
            )
            return
        await ex.start_sse()
        await ex.event(id="x1")
        await ex.drop()

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        with pytest.raises(ResponseStreamLost) as info:
            await client.request("work")
        cause = info.value.__cause__
        assert isinstance(cause, McpHttpError)
        assert cause.status == 405
        assert len(server.of("GET")) == 1


async def test_resume_gives_up_after_bounded_backoff(autojump_clock: Clock) -> None:
    policy = ReconnectPolicy(initial_delay=1.0, max_delay=3.0, max_attempts=5)

    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        if ex.request.method == "GET":
            await ex.respond(503)
            return
        await ex.start_sse()
        await ex.event(id="x1")
        await ex.drop()

    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, reconnect=policy) as client,
    ):
        with pytest.raises(ResponseStreamLost, match="gave up"):
            await client.request("work")
        times = [r.time for r in server.of("GET")]
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times)]
    assert len(times) == 5
    assert gaps == [1.0, 2.0, 3.0, 3.0]  # doubling, capped at max_delay


async def test_resume_hitting_404_starts_a_new_session(autojump_clock: Clock) -> None:
    sessions = iter(["s1", "s2"])

    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        if isinstance(body, dict) and body.get("method") == "initialize":
            await answer_lifecycle(ex, session_id=next(sessions))
            return
        if await answer_lifecycle(ex):
            return
        if ex.request.method == "GET":
            await ex.respond(404)
            return
        await ex.start_sse()
        await ex.event(id="x1")
        await ex.drop()

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        with pytest.raises(ResponseStreamLost, match="session ended"):
            await client.request("work")
        assert client.session_resets == 1
        assert client.session_id == "s2"
    assert len(server.of("rpc:work")) == 1  # not sent again: it may have run


# -- the standalone stream ---------------------------------------------------------------------


async def test_standalone_stream_reconnects_with_last_event_id_and_retry(
    autojump_clock: Clock,
) -> None:
    gets: list[tuple[str | None, float]] = []
    done = trio.Event()

    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        assert ex.request.method == "GET"
        gets.append((ex.request.headers.get("last-event-id"), trio.current_time()))
        await ex.start_sse()
        if len(gets) == 1:
            await ex.event(note(0), id="g1", retry=500)
            await ex.event(note(1), id="g2")
            await ex.data(b'id: g3\ndata: {"jsonrpc"')  # cut inside an event
            await ex.drop()
        elif len(gets) == 2:
            await ex.event(note(2), id="g3")
            await ex.end()  # ends cleanly: reconnect after retry, too
        else:
            await ex.event(note(3), id="g4")
            done.set()
            await trio.sleep_forever()

    recorder = Recorder()
    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, on_notification=recorder, listen=True),
    ):
        with trio.fail_after(30):
            await done.wait()
        await trio.testing.wait_all_tasks_blocked()
    assert recorder.seen == [0, 1, 2, 3]
    assert [last for last, _ in gets] == [None, "g2", "g3"]
    assert gets[1][1] - gets[0][1] == pytest.approx(0.5)
    assert gets[2][1] - gets[1][1] == pytest.approx(0.5)
    assert len(server.of("DELETE")) == 1


@pytest.mark.parametrize("status", [400, 410])
async def test_standalone_stream_listens_anew_when_its_events_are_gone(
    status: int, autojump_clock: Clock
) -> None:
    """A server that cannot replay (events evicted, or a session restored elsewhere)."""
    gets: list[str | None] = []
    done = trio.Event()

    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        gets.append(ex.request.headers.get("last-event-id"))
        if len(gets) == 1:
            await ex.start_sse()
            await ex.event(note(0), id="g1", retry=100)
            await ex.drop()
        elif len(gets) == 2:
            await ex.respond(status)
        else:
            await ex.start_sse()
            await ex.event(note(1), id="n1")
            done.set()
            await trio.sleep_forever()

    recorder = Recorder()
    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, on_notification=recorder, listen=True),
    ):
        with trio.fail_after(30):
            await done.wait()
        await trio.testing.wait_all_tasks_blocked()
    assert gets == [None, "g1", None]
    assert recorder.seen == [0, 1]


async def test_standalone_stream_backs_off_then_connects(autojump_clock: Clock) -> None:
    policy = ReconnectPolicy(initial_delay=1.0, max_delay=3.0, max_attempts=10)
    attempts: list[float] = []

    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        attempts.append(trio.current_time())
        if len(attempts) <= 4:
            await ex.respond(503)
            return
        await ex.start_sse()
        await trio.sleep_forever()

    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, reconnect=policy) as client,
    ):
        assert await client.listen() is True
        assert client.listening
        assert len(server.of("GET")) == 5
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(attempts)]
    assert gaps == [1.0, 2.0, 3.0, 3.0]


async def test_standalone_stream_gives_up_after_max_attempts(autojump_clock: Clock) -> None:
    policy = ReconnectPolicy(initial_delay=0.1, max_delay=0.1, max_attempts=3)

    async def handler(ex: Exchange) -> None:
        if not await answer_lifecycle(ex):
            await ex.respond(409)

    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, reconnect=policy) as client,
    ):
        assert await client.listen() is False
        assert not client.listening
        assert len(server.of("GET")) == 3


async def test_standalone_stream_404_starts_a_new_session(autojump_clock: Clock) -> None:
    sessions = iter(["s1", "s2"])
    connected = trio.Event()

    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        if isinstance(body, dict) and body.get("method") == "initialize":
            await answer_lifecycle(ex, session_id=next(sessions))
            return
        if await answer_lifecycle(ex):
            return
        if ex.request.headers["mcp-session-id"] == "s1":
            if ex.request.headers.get("last-event-id") is None:
                await ex.start_sse()
                await ex.event(note(0), id="old-1")
                await ex.drop()
            else:
                await ex.respond(404)
            return
        assert "last-event-id" not in ex.request.headers  # a new session starts from scratch
        await ex.start_sse()
        connected.set()
        await trio.sleep_forever()

    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, listen=True) as client,
    ):
        with trio.fail_after(30):
            await connected.wait()
        assert client.session_resets == 1
        assert client.session_id == "s2"
        assert len(server.of("rpc:initialize")) == 2


async def test_new_session_moves_the_standalone_stream_to_it(autojump_clock: Clock) -> None:
    sessions = iter(["s1", "s2"])
    on_new_session = trio.Event()

    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        if isinstance(body, dict) and body.get("method") == "initialize":
            await answer_lifecycle(ex, session_id=next(sessions))
            return
        if await answer_lifecycle(ex):
            return
        session = ex.request.headers["mcp-session-id"]
        if ex.request.method == "POST":
            if session == "s1":
                await ex.respond(404)
            else:
                await ex.json(result(body["id"]))
            return
        await ex.start_sse()  # the old session's GET stream stays open: the client must move
        if session == "s2":
            on_new_session.set()
        await trio.sleep_forever()

    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, listen=True) as client,
    ):
        assert await client.request("work") == {"ok": True}
        with trio.fail_after(30):
            await on_new_session.wait()
        assert [g.headers["mcp-session-id"] for g in server.of("GET")] == ["s1", "s2"]
        assert client.session_resets == 1


# -- lifecycle and errors --------------------------------------------------------------------


async def test_unsupported_server_version_raises_and_deletes_the_session(
    autojump_clock: Clock,
) -> None:
    async def handler(ex: Exchange) -> None:
        await answer_lifecycle(ex, version="2099-01-01")

    async with scripted(handler) as server:
        with pytest.raises(UnsupportedProtocolVersion) as info:
            async with open_legacy(URL, connect=server.connect):
                pass  # pragma: no cover
        assert (info.value.requested, info.value.offered) == ("2025-11-25", "2099-01-01")
        assert len(server.of("DELETE")) == 1
        assert server.of("rpc:notifications/initialized") == []


async def test_older_server_version_is_accepted(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if not await answer_lifecycle(ex, version="2025-03-26"):
            await ex.json(result(ex.request.json["id"]))

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        assert client.protocol_version == "2025-03-26"
        await client.request("x")
        assert server.requests[-1].headers["mcp-protocol-version"] == "2025-03-26"


async def test_initialize_error_is_raised_unwrapped(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        await ex.json(
            {
                "jsonrpc": "2.0",
                "id": body["id"],
                "error": {
                    "code": -32602,
                    "message": "Unsupported protocol version",
                    "data": {"supported": ["x"]},
                },
            }
        )

    async with scripted(handler) as server:
        with pytest.raises(JsonRpcError) as info:
            async with open_legacy(URL, connect=server.connect):
                pass  # pragma: no cover
        assert info.value.code == -32602
        assert info.value.data == {"supported": ["x"]}
        assert server.of("DELETE") == []  # no session id was assigned


async def test_http_errors_are_typed(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        method = ex.request.json["method"]
        if method == "json-error":
            await ex.json(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": "kaput"}},
                status=500,
            )
        elif method == "text-error":
            await ex.respond(400, b"bad things", [("content-type", "text/plain")])
        elif method == "accepted":
            await ex.accepted()
        elif method == "wrong-answer":
            await ex.json(result(12345))
        elif method == "html":
            await ex.respond(200, b"<html></html>", [("content-type", "text/html")])

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        with pytest.raises(McpHttpError) as info:
            await client.request("json-error")
        assert info.value.status == 500
        assert info.value.error is not None
        assert (info.value.error.code, info.value.error.message) == (-32603, "kaput")
        assert str(info.value) == "HTTP 500: kaput"
        with pytest.raises(McpHttpError) as info:
            await client.request("text-error")
        assert (info.value.status, info.value.error, info.value.body) == (400, None, b"bad things")
        with pytest.raises(McpProtocolError, match="202"):
            await client.request("accepted")
        with pytest.raises(McpProtocolError, match="does not answer"):
            await client.request("wrong-answer")
        with pytest.raises(McpProtocolError, match="text/html"):
            await client.request("html")


async def test_persistent_404_raises_session_not_found_after_one_retry(
    autojump_clock: Clock,
) -> None:
    counter = iter(range(100))

    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        if isinstance(body, dict) and body.get("method") == "initialize":
            await answer_lifecycle(ex, session_id=f"s{next(counter)}")
            return
        if body and body.get("method") == "work":
            await ex.respond(404)
            return
        await answer_lifecycle(ex)

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        with pytest.raises(SessionNotFound) as info:
            await client.request("work")
        assert info.value.session_id == "s1"
        assert client.session_resets == 1
        assert len(server.of("rpc:work")) == 2


async def test_invalid_session_id_is_a_protocol_error(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        await answer_lifecycle(ex, session_id="has space")

    async with scripted(handler) as server:
        with pytest.raises(McpProtocolError, match="Mcp-Session-Id"):
            async with open_legacy(URL, connect=server.connect):
                pass  # pragma: no cover


async def test_unreachable_server_raises_connection_error(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        raise AssertionError("never called")  # pragma: no cover

    async with scripted(handler) as server:
        server.refuse = True
        with pytest.raises(McpConnectionError, match="cannot connect"):
            async with open_legacy(URL, connect=server.connect):
                pass  # pragma: no cover


async def test_extra_headers_go_with_every_request(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if not await answer_lifecycle(ex):
            await ex.json(result(ex.request.json["id"]))

    async with scripted(handler) as server:
        async with open_legacy(
            URL, connect=server.connect, headers={"Authorization": "Bearer t0ken"}
        ) as client:
            await client.request("x")
        assert len(server.requests) == 4
        assert all(r.headers["authorization"] == "Bearer t0ken" for r in server.requests)
        assert all(r.headers["host"] == "127.0.0.1:8000" for r in server.requests)


# -- server-to-client requests -----------------------------------------------------------------


async def test_server_requests_are_answered_without_blocking_the_stream(
    autojump_clock: Clock,
) -> None:
    """The callback waits for a notification that comes after its request on the same stream."""
    answered = trio.Event()
    both_answered = trio.Event()
    answers: list[Any] = []
    notified = trio.Event()

    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        if (
            isinstance(body, dict)
            and ("result" in body or "error" in body)
            and "method" not in body
        ):
            answers.append(body)
            await ex.accepted()
            answered.set()
            if len(answers) == 2:
                both_answered.set()
            return
        if await answer_lifecycle(ex):
            return
        await ex.start_sse()
        await ex.event(
            {
                "jsonrpc": "2.0",
                "id": "srv-1",
                "method": "sampling/createMessage",
                "params": {"n": 1},
            }
        )
        await ex.event({"jsonrpc": "2.0", "id": "srv-2", "method": "ping"})
        await ex.event(note(7))
        await answered.wait()
        await ex.event(result(body["id"]))
        await ex.end()

    async def on_notification(notification: Notification) -> None:
        notified.set()

    async def sampling(params: dict[str, Any]) -> dict[str, Any]:
        await notified.wait()
        return {"got": params}

    async with (
        scripted(handler) as server,
        open_legacy(
            URL, connect=server.connect, sampling_callback=sampling, on_notification=on_notification
        ) as client,
    ):
        with trio.fail_after(10):
            assert await client.request("work") == {"ok": True}
        with trio.fail_after(10):
            await both_answered.wait()
    assert sorted(answers, key=lambda a: a["id"]) == [
        {"jsonrpc": "2.0", "id": "srv-1", "result": {"got": {"n": 1}}},
        {"jsonrpc": "2.0", "id": "srv-2", "result": {}},
    ]


async def test_server_cancelling_its_request_cancels_the_callback(autojump_clock: Clock) -> None:
    callback_cancelled = trio.Event()
    callback_started = trio.Event()

    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        body = ex.request.json
        await ex.start_sse()
        await ex.event({"jsonrpc": "2.0", "id": 99, "method": "elicitation/create", "params": {}})
        await callback_started.wait()
        await ex.event(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}}
        )
        await callback_cancelled.wait()
        await ex.event(result(body["id"]))
        await ex.end()

    async def elicitation(params: dict[str, Any]) -> dict[str, Any]:
        callback_started.set()
        try:
            await trio.sleep_forever()
        finally:
            callback_cancelled.set()

    async with scripted(handler) as server:
        async with open_legacy(
            URL, connect=server.connect, elicitation_callback=elicitation
        ) as client:
            assert await client.request("work") == {"ok": True}
            await trio.testing.wait_all_tasks_blocked()
        # no response was posted for the cancelled request
        assert [r for r in server.requests if r.json and r.json.get("id") == 99] == []
        assert server.requests[0].json["params"]["capabilities"] == {"elicitation": {}}


async def test_roots_and_failing_callbacks(autojump_clock: Clock) -> None:
    answers: dict[Any, Any] = {}
    got_all = trio.Event()

    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        if isinstance(body, dict) and "method" not in body and "id" in body:
            answers[body["id"]] = body
            if len(answers) == 3:
                got_all.set()
            await ex.accepted()
            return
        if await answer_lifecycle(ex):
            return
        await ex.start_sse()
        await ex.event({"jsonrpc": "2.0", "id": 1, "method": "roots/list"})
        await ex.event({"jsonrpc": "2.0", "id": 2, "method": "sampling/createMessage"})
        await ex.event({"jsonrpc": "2.0", "id": 3, "method": "unknown/thing"})
        await got_all.wait()
        await ex.event(result(body["id"]))
        await ex.end()

    async def roots() -> list[dict[str, Any]]:
        return [{"uri": "file:///tmp", "name": "tmp"}]

    async def sampling(params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the model is down")

    async with scripted(handler) as server:
        async with open_legacy(
            URL, connect=server.connect, list_roots_callback=roots, sampling_callback=sampling
        ) as client:
            assert await client.request("work") == {"ok": True}
        assert server.requests[0].json["params"]["capabilities"] == {"sampling": {}, "roots": {}}
    assert answers[1]["result"] == {"roots": [{"uri": "file:///tmp", "name": "tmp"}]}
    assert answers[2]["error"]["code"] == -32603
    assert answers[3]["error"]["code"] == -32601


async def test_request_callback_gets_typed_request(autojump_clock: Clock) -> None:
    seen: list[Request] = []
    answered = trio.Event()

    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        if isinstance(body, dict) and "result" in body:
            answered.set()
            await ex.accepted()
            return
        if await answer_lifecycle(ex):
            return
        await ex.start_sse()
        await ex.event({"jsonrpc": "2.0", "id": "r", "method": "custom/ask", "params": {"a": 1}})
        await answered.wait()
        await ex.event(result(body["id"]))
        await ex.end()

    async def on_request(request: Request) -> dict[str, Any]:
        seen.append(request)
        return {}

    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, on_request=on_request) as client,
    ):
        await client.request("work")
    assert [(r.id, r.method, r.params) for r in seen] == [("r", "custom/ask", {"a": 1})]


# -- progress and cancellation ---------------------------------------------------------------


async def test_progress_callback_receives_the_requests_progress(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        body = ex.request.json
        token = body["params"]["_meta"]["progressToken"]
        await ex.start_sse()
        await ex.event(
            {
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progressToken": token, "progress": 1, "total": 2},
            }
        )
        await ex.event(
            {
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progressToken": token, "progress": 2, "total": 2, "message": "done"},
            }
        )
        await ex.event(
            {
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progressToken": "other", "progress": 5},
            }
        )
        await ex.event(result(body["id"], {"content": [{"type": "text", "text": "hi"}]}))
        await ex.end()

    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    other = Recorder()
    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, on_notification=other) as client,
    ):
        call = await client.call_tool("t", {"x": 1}, progress_callback=on_progress)
        assert call.content == [{"type": "text", "text": "hi"}]
        assert call.is_error is False
        sent = server.of("rpc:tools/call")[0].json["params"]
        assert sent["name"] == "t"
        assert sent["arguments"] == {"x": 1}
    assert progress == [(1.0, 2.0, None), (2.0, 2.0, "done")]
    assert [n.params for n in other.notifications] == [{"progressToken": "other", "progress": 5}]


async def test_cancellation_notifies_the_server(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        await ex.start_sse()
        await trio.sleep_forever()

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        with trio.move_on_after(1):
            await client.request("slow")
        [slow] = server.of("rpc:slow")
        [cancel] = server.of("rpc:notifications/cancelled")
        assert cancel.json["params"]["requestId"] == slow.json["id"]
        assert cancel.headers["mcp-session-id"] == "s1"


async def test_cancellation_notice_is_bounded_when_the_server_hangs(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if ex.request.rpc_method in ("slow", "notifications/cancelled"):
            await trio.sleep_forever()  # never answers, not even the cancellation
        await answer_lifecycle(ex)

    async with (
        scripted(handler) as server,
        open_legacy(URL, connect=server.connect, delete_on_close=False) as client,
    ):
        start = trio.current_time()
        with trio.move_on_after(1):
            await client.request("slow")
        assert trio.current_time() - start == pytest.approx(3.0)  # 1 s + the 2 s bound
        assert len(server.of("rpc:notifications/cancelled")) == 1


# -- typed methods ---------------------------------------------------------------------------

CANNED: dict[str, dict[str, Any]] = {
    "ping": {},
    "tools/list": {
        "tools": [
            {
                "name": "add",
                "inputSchema": {"type": "object"},
                "annotations": {"readOnlyHint": True},
            }
        ],
        "nextCursor": "c2",
    },
    "resources/list": {"resources": [{"uri": "file:///a", "name": "a", "mimeType": "text/plain"}]},
    "resources/templates/list": {
        "resourceTemplates": [{"uriTemplate": "file:///{x}", "name": "x"}]
    },
    "resources/read": {"contents": [{"uri": "file:///a", "text": "hello"}]},
    "resources/subscribe": {},
    "resources/unsubscribe": {},
    "prompts/list": {"prompts": [{"name": "p", "arguments": [{"name": "who", "required": True}]}]},
    "prompts/get": {
        "description": "d",
        "messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
    },
    "completion/complete": {"completion": {"values": ["a", "b"], "total": 2, "hasMore": False}},
    "logging/setLevel": {},
    "tools/call": {
        "content": [],
        "structuredContent": {"sum": 3},
        "isError": True,
        "_meta": {"x": 1},
    },
}


async def test_typed_methods(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if not await answer_lifecycle(ex):
            body = ex.request.json
            await ex.json(result(body["id"], CANNED[body["method"]]))

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        await client.ping()
        tools = await client.list_tools(cursor="c1")
        assert tools.next_cursor == "c2"
        assert tools.tools[0].name == "add"
        assert tools.tools[0].input_schema == {"type": "object"}
        assert tools.tools[0].annotations == {"readOnlyHint": True}
        resources = await client.list_resources()
        assert resources.resources[0].mime_type == "text/plain"
        assert resources.next_cursor is None
        templates = await client.list_resource_templates()
        assert templates.resource_templates[0].uri_template == "file:///{x}"
        read = await client.read_resource("file:///a")
        assert read.contents == [{"uri": "file:///a", "text": "hello"}]
        await client.subscribe_resource("file:///a")
        await client.unsubscribe_resource("file:///a")
        prompts = await client.list_prompts()
        assert prompts.prompts[0].arguments is not None
        assert prompts.prompts[0].arguments[0].required is True
        prompt = await client.get_prompt("p", {"who": "me"})
        assert prompt.description == "d"
        completion = await client.complete(
            {"type": "ref/prompt", "name": "p"},
            {"name": "who", "value": "m"},
            context_arguments={"x": "y"},
        )
        assert completion.completion.values == ["a", "b"]
        assert completion.completion.has_more is False
        await client.set_logging_level("warning")
        call = await client.call_tool("add")
        assert call.structured_content == {"sum": 3}
        assert call.is_error is True
        assert call.model_extra == {"_meta": {"x": 1}}
    params = {r.rpc_method: r.json.get("params") for r in server.requests if r.rpc_method}
    assert params["tools/list"] == {"cursor": "c1"}
    assert params["resources/list"] is None
    assert params["resources/read"] == {"uri": "file:///a"}
    assert params["prompts/get"] == {"name": "p", "arguments": {"who": "me"}}
    assert params["completion/complete"] == {
        "ref": {"type": "ref/prompt", "name": "p"},
        "argument": {"name": "who", "value": "m"},
        "context": {"arguments": {"x": "y"}},
    }
    assert params["logging/setLevel"] == {"level": "warning"}
    assert params["tools/call"] == {"name": "add"}


async def test_invalid_result_shape_is_a_protocol_error(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        if not await answer_lifecycle(ex):
            await ex.json(result(ex.request.json["id"], {"tools": "not a list"}))

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        with pytest.raises(McpProtocolError, match="ListToolsResult"):
            await client.list_tools()


async def test_server_info_and_instructions(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        body = ex.request.json
        if body and body.get("method") == "initialize":
            init = {
                "protocolVersion": "2025-06-18",
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "s", "version": "9", "title": "S"},
                "instructions": "be nice",
            }
            await ex.json(result(body["id"], init))  # no session id: a sessionless server
            return
        await answer_lifecycle(ex)

    async with scripted(handler) as server:
        async with open_legacy(
            URL, connect=server.connect, client_info={"name": "me", "version": "1"}
        ) as client:
            assert client.session_id is None
            assert client.instructions == "be nice"
            info = client.server_info
            assert info is not None
            assert info.title == "S"
            assert client.server_capabilities == {"tools": {"listChanged": True}}
            assert client.initialize_result.protocol_version == "2025-06-18"
        assert server.requests[0].json["params"]["clientInfo"] == {"name": "me", "version": "1"}
        assert server.of("DELETE") == []


async def test_stream_left_open_after_the_response_costs_only_the_drain_grace(
    autojump_clock: Clock,
) -> None:
    async def handler(ex: Exchange) -> None:
        if await answer_lifecycle(ex):
            return
        await ex.start_sse()
        await ex.event(result(ex.request.json["id"]))
        await trio.sleep_forever()  # never ends the stream

    async with scripted(handler) as server, open_legacy(URL, connect=server.connect) as client:
        for _ in range(2):
            start = trio.current_time()
            assert await client.request("work") == {"ok": True}
            assert trio.current_time() - start == pytest.approx(0.5)
        # the held-open connection was closed, not reused: each "work" ran on its own
        assert [r.connection for r in server.of("rpc:work")] == [1, 2]


async def test_requests_after_close_fail_cleanly(autojump_clock: Clock) -> None:
    async def handler(ex: Exchange) -> None:
        await answer_lifecycle(ex)

    async with scripted(handler) as server:
        async with open_legacy(URL, connect=server.connect) as client:
            pass
        with pytest.raises(McpConnectionError, match="closed"):
            await client.request("late")


def test_reconnect_policy() -> None:
    policy = ReconnectPolicy(initial_delay=0.5, max_delay=4.0, max_attempts=3)
    assert [policy.delay(n, None) for n in range(6)] == [0.5, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert [policy.delay(n, 100) for n in (0, 1, 2, 3)] == [0.1, 0.1, 0.2, 0.4]
    assert policy.delay(5, 10_000) == 10.0  # the server's retry is never cut by max_delay
    with pytest.raises(ValueError, match="max_attempts"):
        ReconnectPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        ReconnectPolicy(initial_delay=-1)
