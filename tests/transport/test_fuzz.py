"""Hypothesis-generated HTTP traffic: never a 5xx, never a crash, nothing leaked."""

from __future__ import annotations

import json
from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import TinyApp, initialize
from trio_mcp_http import McpApp, MemoryEventStore, ServerConfig
from trio_mcp_http._core.per_request import http_status
from trio_mcp_http._core.rejections import REJECTIONS
from trio_mcp_http.testing import asgi_request

TABLE = {(rule.status, rule.code) for rule in REJECTIONS.values()}

good_ids = st.integers(-(2**40), 2**40) | st.text(max_size=8)
bad_ids = st.booleans() | st.none() | st.floats(allow_nan=False)
methods = st.sampled_from(
    [
        "initialize",
        "echo",
        "progress",
        "broadcast",
        "crash",
        "ask",
        "nope",
        "notifications/initialized",
        "notifications/cancelled",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8,
)


@st.composite
def messages(draw: st.DrawFn) -> Any:
    kind = draw(
        st.sampled_from(
            ["request", "request", "request", "notification", "response", "error", "junk"]
        )
    )
    message: dict[str, Any] = {"jsonrpc": draw(mostly("2.0", "1.0", 2))}
    if kind in ("request", "notification"):
        message["method"] = draw(methods)
        params = st.fixed_dictionaries(
            {
                "protocolVersion": st.sampled_from(["2025-03-26", "2025-11-25", "1999-01-01"]),
                "text": st.text(max_size=5),
                "count": st.integers(0, 3),
                "requestId": good_ids,
            }
        )
        message["params"] = (
            draw(params) if draw(st.sampled_from(range(10))) else draw(st.none() | json_values)
        )
    if kind in ("request", "response", "error"):
        message["id"] = draw(good_ids) if draw(st.sampled_from(range(10))) else draw(bad_ids)
    if kind == "response":
        message["result"] = draw(json_values)
    if kind == "error":
        message["error"] = {"code": draw(st.integers()), "message": draw(st.text(max_size=5))}
    if kind == "junk":
        return draw(json_values)
    return message


bodies = st.sampled_from(["one"] * 6 + ["batch", "binary", "truncated"]).flatmap(
    lambda kind: {
        "one": messages().map(lambda m: json.dumps(m).encode()),
        "batch": st.lists(messages(), max_size=4).map(lambda m: json.dumps(m).encode()),
        "binary": st.binary(max_size=40),
        "truncated": messages().map(lambda m: json.dumps(m).encode()[:-1]),
    }[kind]
)


@st.composite
def mostly(draw: st.DrawFn, valid: Any, *others: Any) -> Any:
    """``valid`` nine times in ten, else one of ``others`` or random printable text."""
    if draw(st.sampled_from(range(10))) > 0:
        return valid
    printable = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=12)
    return draw(st.sampled_from(others) | printable if others else printable)


@st.composite
def http_requests(draw: st.DrawFn) -> dict[str, Any]:
    headers: list[tuple[str, str]] = []
    for name, value in (
        (
            "accept",
            draw(
                mostly(
                    "application/json, text/event-stream",
                    "text/event-stream",
                    "application/json",
                    "*/*",
                    "text/html",
                    None,
                )
            ),
        ),
        (
            "content-type",
            draw(mostly("application/json", "application/json; charset=utf-8", "text/plain", None)),
        ),
        (
            "mcp-protocol-version",
            draw(mostly("2025-11-25", "2025-03-26", "2025-06-18", "2026-07-28", None)),
        ),
        ("origin", draw(mostly(None, "http://localhost:8000", "http://evil.example", "null"))),
        ("last-event-id", draw(mostly(None, "p1:1", "g:2", "p2:3"))),
    ):
        if value is not None:
            headers.append((name, value))
    return {
        "method": draw(mostly("POST", "GET", "GET", "DELETE", "PUT")),
        "path": draw(mostly("/mcp", "/other", "/")),
        "session": draw(mostly(0, 1, 2, 3, None)),
        "headers": headers,
        "body": draw(bodies),
        "wait": draw(st.sampled_from([0, 0, 0, 1, 40])),
    }


def check_rejection(status: int, error: Any, sent: bytes) -> None:
    """A refused POST: a transport rejection (no id), or a per-request one (the request's id)."""
    code = error["error"]["code"]
    if error["id"] is None:
        assert (status, code) in TABLE
        return
    # The 2026-07-28 ladder answers the request it refused, with the status its code maps to.
    assert error["id"] == json.loads(sent)["id"]
    assert status == http_status(code)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(traffic=st.lists(http_requests(), min_size=1, max_size=12), json_mode=st.booleans())
async def test_random_traffic_never_5xx_never_leaks(
    autojump_clock: trio.testing.MockClock, traffic: list[dict[str, Any]], json_mode: bool
) -> None:
    config = ServerConfig(
        idle_timeout=30,
        json_response=json_mode,
        event_store=MemoryEventStore(),
        max_sessions=3,
        max_uninitialized_sessions=2,
        initialize_timeout=20,
        keepalive_interval=10,
        client_request_timeout=10,
    )
    mcp = McpApp(TinyApp(), config)
    known: list[str] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(mcp.manager.run)
        known.append(await initialize(mcp))  # two real sessions for the traffic to aim at
        known.append(await initialize(mcp, "2025-03-26"))
        for request in traffic:
            headers = list(request["headers"])
            session = request["session"]
            if isinstance(session, int) and session < len(known):
                headers.append(("mcp-session-id", known[session]))
            elif isinstance(session, str) and session:
                headers.append(("mcp-session-id", session))
            async with asgi_request(
                mcp, request["method"], request["path"], headers=headers, body=request["body"]
            ) as response:
                assert response.status < 500, response.status
                if (
                    "mcp-session-id" in response.headers
                    and response.headers["mcp-session-id"] not in known
                ):
                    known.append(response.headers["mcp-session-id"])
                if response.headers.get("content-type") == "text/event-stream":
                    with trio.move_on_after(5):
                        await response.body()
                else:
                    body = await response.body()
                    if response.status >= 400:
                        check_rejection(response.status, json.loads(body), request["body"])
            await trio.sleep(request["wait"])
        await trio.sleep(100)  # past every idle and initialize timeout
        stats = mcp.statistics()
        assert (stats.sessions, stats.streams, stats.requests_in_flight, stats.session_tasks) == (
            0,
            0,
            0,
            0,
        )
        assert config.event_store is not None
        assert config.event_store.total_bytes == 0  # type: ignore[attr-defined]
        nursery.cancel_scope.cancel()
