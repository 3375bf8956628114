"""Hostile and malformed input: every refusal is a 4xx from the table, never a crash or a 500.

Regression tests for the defects found by hostile traffic (malformed ``Last-Event-ID``,
unhashable or mistyped ``requestId`` in ``notifications/cancelled``, non-finite numbers,
large batches over SSE, repeated singleton headers, floods of unfinished handshakes).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    start_session,
)
from trio_mcp_http import JsonRpcError, McpApp, MemoryEventStore, ServerConfig
from trio_mcp_http._core.rejections import REJECTIONS
from trio_mcp_http.testing import asgi_request

TABLE = {(rule.status, rule.code) for rule in REJECTIONS.values()}
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def strict_json(body: bytes) -> Any:
    """Parse as RFC 8259 JSON: NaN and infinities are refused, as strict clients do."""

    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    return json.loads(body, parse_constant=refuse)


async def rejection(response: Any) -> tuple[int, int, str]:
    body = strict_json(await response.body())
    assert body["id"] is None
    assert (response.status, body["error"]["code"]) in TABLE
    return response.status, body["error"]["code"], body["error"]["message"]


# -- Last-Event-ID ------------------------------------------------------------------------------


def resume_headers(sid: str, last_event_id: str) -> list[tuple[str, str]]:
    return [
        ("accept", "text/event-stream"),
        ("mcp-session-id", sid),
        ("mcp-protocol-version", LATEST),
        ("last-event-id", last_event_id),
    ]


@pytest.mark.parametrize(
    "last_event_id",
    ["p1:\xb2", "g:\xb3", "g:" + "1" * 5000, "p1:" + "9" * 19, "g:-1", ":1", "g:", "\xff:1"],
)
async def test_malformed_last_event_id_gets_400(
    autojump_clock: trio.testing.MockClock, last_event_id: str
) -> None:
    async with running_app(ServerConfig(event_store=MemoryEventStore())) as (mcp, _):
        sid = await initialize(mcp)
        async with asgi_request(mcp, "GET", headers=resume_headers(sid, last_event_id)) as response:
            assert (await rejection(response))[:2] == (400, -32600)


@SETTINGS
@given(raw=st.binary(max_size=60) | st.text(max_size=30).map(lambda t: t.encode("utf-8")))
async def test_any_last_event_id_bytes_get_a_table_answer(
    autojump_clock: trio.testing.MockClock, raw: bytes
) -> None:
    async with running_app(ServerConfig(event_store=MemoryEventStore())) as (mcp, _):
        sid = await initialize(mcp)
        headers = [
            (name.encode(), value.encode("latin-1")) for name, value in resume_headers(sid, "")[:3]
        ]
        app_headers = [(k.decode(), v.decode("latin-1")) for k, v in headers]
        app_headers.append(("last-event-id", raw.decode("latin-1")))
        async with asgi_request(mcp, "GET", headers=app_headers) as response:
            if response.status == 200:  # a well-formed id of this session: a stream
                response.disconnect()
            else:
                assert response.status in (400, 404, 410)
                await rejection(response)


# -- notifications/cancelled ----------------------------------------------------------------------


async def sleeping_request(mcp: McpApp, sid: str, request_id: Any) -> dict[str, Any]:
    """A request that sleeps 10 s, so that a cancellation can reach it meanwhile."""
    async with post(mcp, rpc("sleep", {"seconds": 10}, id=request_id), sid) as response:
        messages = await read_messages(response)
    return messages[-1] if messages else {}


@pytest.mark.parametrize("bad_id", [[1], {}, {"a": [1]}, None, True, 1.0, 1.5, "1"])
async def test_cancellation_names_a_request_by_its_exact_json_id(
    autojump_clock: trio.testing.MockClock, bad_id: Any
) -> None:
    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        async with trio.open_nursery() as nursery:
            answers: list[dict[str, Any]] = []

            async def run() -> None:
                answers.append(await sleeping_request(mcp, sid, 1))

            nursery.start_soon(run)
            await tiny.started.wait()
            cancel = rpc("notifications/cancelled", {"requestId": bad_id}, id=None)
            assert (await call(mcp, cancel, sid))[0] == 202
        # Nothing named the request whose id is the integer 1: it ran to its end.
        assert answers == [{"jsonrpc": "2.0", "id": 1, "result": {"slept": 10}}]
        assert tiny.cancelled == []
        assert (await call(mcp, rpc("echo", {"text": "alive"}), sid))[0] == 200


async def test_cancellation_with_the_exact_id_cancels(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sleeping_request, mcp, sid, 1)
            await tiny.started.wait()
            cancel = rpc("notifications/cancelled", {"requestId": 1}, id=None)
            assert (await call(mcp, cancel, sid))[0] == 202
        assert tiny.cancelled == [1]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)


@SETTINGS
@given(
    method=st.sampled_from(
        ["notifications/cancelled", "notifications/initialized", "notifications/progress", "x"]
    ),
    params=json_values,
    request_id=json_values,
)
async def test_any_notification_is_accepted_and_harms_nothing(
    autojump_clock: trio.testing.MockClock, method: str, params: Any, request_id: Any
) -> None:
    async with running_app() as (mcp, tiny):
        sid = await initialize(mcp)
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if isinstance(params, dict):
            params["requestId"] = request_id
            body["params"] = params
        elif params is not None:
            body["params"] = params  # not an object: an invalid message
        async with post(mcp, json.dumps(body).encode(), sid) as response:
            if response.status != 202:
                await rejection(response)
        status, messages = await call(mcp, rpc("echo", {"text": "ok"}, id=7), sid)
        assert (status, messages[0]["result"]) == (200, {"echo": "ok"})
        assert tiny.cancelled == []


# -- non-finite numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400 + ".0"]
)
async def test_non_finite_numbers_are_refused_on_input(
    autojump_clock: trio.testing.MockClock, number: str
) -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        body = b'{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":' + number.encode()
        async with post(mcp, body + b"}}", sid) as response:
            assert (await rejection(response))[:2] == (400, -32700)


class NonJsonHandler:
    """Answers with values JSON cannot carry, and tries to notify with them."""

    def __init__(self) -> None:
        self.notify_errors: list[str] = []

    async def handle_request(self, request: Any, context: Any) -> dict[str, Any]:
        if request.method == "initialize":
            return {"protocolVersion": LATEST, "capabilities": {}, "serverInfo": {}}
        if request.method == "notify":
            try:
                await context.send_notification("notifications/message", {"x": math.nan})
            except ValueError as exc:
                self.notify_errors.append(type(exc).__name__)
            return {"ok": True}
        values = {"inf": math.inf, "nan": math.nan, "object": object()}
        if request.method in values:
            return {"value": values[request.method]}
        raise JsonRpcError(-32601, "no")

    async def handle_notification(self, notification: Any, session: Any) -> None:
        return None


class NonJsonApp:
    def __init__(self) -> None:
        self.handler = NonJsonHandler()

    def open_session(self, session: Any) -> NonJsonHandler:
        return self.handler


@pytest.mark.parametrize("json_mode", [False, True])
async def test_results_that_are_not_json_become_internal_errors(
    autojump_clock: trio.testing.MockClock, json_mode: bool
) -> None:
    app = NonJsonApp()
    mcp = McpApp(app, ServerConfig(json_response=json_mode))
    async with trio.open_nursery() as nursery:
        await nursery.start(mcp.manager.run)
        sid = await initialize(mcp)
        for method in ("inf", "nan", "object"):
            async with post(mcp, rpc(method, id=method), sid) as response:
                assert response.status == 200
                body = await response.body()
                if not json_mode:
                    body = body.split(b"data: ", 1)[1].strip()
                message = strict_json(body)
                assert message["id"] == method
                assert message["error"]["code"] == -32603
        status, messages = await call(mcp, rpc("notify", id=9), sid)
        assert (status, messages[-1]["result"]) == (200, {"ok": True})
        assert app.handler.notify_errors == ["NotJson"]
        nursery.cancel_scope.cancel()


# -- batches over SSE -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [300, 1000])
async def test_every_request_of_a_large_batch_is_answered_over_sse(
    autojump_clock: trio.testing.MockClock, size: int
) -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp, "2025-03-26")
        batch = [
            {"jsonrpc": "2.0", "id": i, "method": "echo", "params": {"text": str(i)}}
            for i in range(size)
        ]
        async with post(mcp, json.dumps(batch).encode(), sid, version="2025-03-26") as response:
            assert response.headers["content-type"] == "text/event-stream"
            messages = await read_messages(response)
            assert response.complete
        assert sorted(m["id"] for m in messages) == list(range(size))
        assert all(m["result"] == {"echo": str(m["id"])} for m in messages)


async def test_a_batch_over_the_limit_is_refused_before_anything_runs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app(ServerConfig(max_batch_size=10)) as (mcp, tiny):
        sid = await initialize(mcp, "2025-03-26")
        batch = [
            {"jsonrpc": "2.0", "id": i, "method": "sleep", "params": {"seconds": 1}}
            for i in range(11)
        ]
        async with post(mcp, json.dumps(batch).encode(), sid, version="2025-03-26") as response:
            status, code, message = await rejection(response)
        assert (status, code) == (400, -32600)
        assert "11 messages exceeds the limit of 10" in message
        assert not tiny.started.is_set()


# -- repeated headers -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mcp-session-id", "mcp-protocol-version", "content-type"])
async def test_a_repeated_singleton_header_is_refused(
    autojump_clock: trio.testing.MockClock, name: str
) -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        other = await initialize(mcp)
        headers = [ACCEPT_BOTH, JSON_CT, ("mcp-session-id", sid), ("mcp-protocol-version", LATEST)]
        headers.append(
            {
                "mcp-session-id": ("mcp-session-id", other),
                "mcp-protocol-version": ("mcp-protocol-version", LATEST),
                "content-type": JSON_CT,
            }[name]
        )
        async with asgi_request(mcp, "POST", headers=headers, body=rpc("echo")) as response:
            status, code, message = await rejection(response)
        assert (status, code) == (400, -32600)
        assert name in message


async def test_repeated_accept_lines_are_joined(autojump_clock: trio.testing.MockClock) -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        headers = [
            ("accept", "application/json"),
            ("accept", "text/event-stream"),
            JSON_CT,
            ("mcp-session-id", sid),
            ("mcp-protocol-version", LATEST),
        ]
        async with asgi_request(mcp, "POST", headers=headers, body=rpc("echo")) as response:
            assert response.status == 200


async def test_an_absurd_content_length_is_413(autojump_clock: trio.testing.MockClock) -> None:
    async with running_app() as (mcp, _):
        sid = await initialize(mcp)
        headers = [ACCEPT_BOTH, JSON_CT, ("mcp-session-id", sid), ("content-length", "9" * 5000)]
        async with asgi_request(mcp, "POST", headers=headers, body=rpc("echo")) as response:
            assert (await rejection(response))[0] == 413
            assert response.headers["connection"] == "close"


# -- floods of unfinished handshakes ------------------------------------------------------------


async def test_a_flooder_never_evicts_another_clients_handshake(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The race from the issue: real clients between initialize and notifications/initialized.

    With ``max_uninitialized_sessions=10``, a flooder opening 20 handshakes in that moment evicted
    the real client's session (its notifications/initialized got 404) before the quota.
    """
    config = ServerConfig(max_uninitialized_sessions=10, initialize_timeout=30)
    async with running_app(config) as (mcp, _):
        failures = 0
        for i in range(200):
            real = ("10.0.0.1", 1000 + i)
            sid = await start_session(mcp, client=real)
            for _ in range(20):
                await start_session(mcp, client=("10.6.6.6", 666))
            done = rpc("notifications/initialized", id=None)
            status, _ = await call(mcp, done, sid, client=real)
            failures += status != 202
            status, _ = await call(mcp, rpc("echo", {"text": "x"}), sid, client=real)
            failures += status != 200
        assert failures == 0
        stats = mcp.statistics()
        assert stats.uninitialized_sessions == config.uninitialized_sessions_per_client == 4
        assert stats.sessions == 200 + 4


async def test_the_flooder_gets_503_when_all_its_handshakes_are_in_flight(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = ServerConfig(max_uninitialized_sessions=8, max_uninitialized_sessions_per_client=2)
    flooder = ("10.6.6.6", 666)
    async with running_app(config) as (mcp, tiny):
        sids = [await start_session(mcp, client=flooder) for _ in range(2)]
        async with trio.open_nursery() as nursery:
            for sid in sids:  # both handshakes busy with a long request
                nursery.start_soon(call, mcp, rpc("sleep", {"seconds": 5}), sid)
            await tiny.started.wait()
            await trio.testing.wait_all_tasks_blocked()
            async with post(mcp, init_body(), version=None, client=flooder) as r:
                status, _, _ = await rejection(r)
                assert status == 503
                assert r.headers["retry-after"] == "5"
            # Another client is served meanwhile.
            assert await start_session(mcp, client=("10.0.0.1", 1))
