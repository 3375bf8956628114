"""The official MCP SDK clients (TypeScript and Python) against our servers on a real socket.

Each test runs one client in a subprocess (``interop/ts_client.mjs`` on Node 22 with the
TypeScript SDK v1 or v2, or ``interop/py_client.py`` in the interop venv with PyPI ``mcp``)
against a server bound to 127.0.0.1 on a free port: the demo server served in-process with
:func:`trio_mcp_http.serve`, or ``examples/everything_server.py`` run as its own process. In
a session (every client's legacy mode) the client lists and calls tools, collects progress and
logging notifications, answers sampling requests and ends the session with DELETE; on the
2026-07-28 wire (the v2 and Python clients in ``auto`` or pinned mode) it answers
input-required rounds and listens for changes. The test then checks what the client saw and
what the server did.

Skipped only when ``interop/.cache`` is missing (``interop/setup.sh`` was not run).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

import trio_mcp_http
from trio_mcp_http import RunningServer, ServerConfig
from trio_mcp_http.server.demo import build_demo_server

from ._harness import (
    CLIENTS,
    MODERN_CLIENTS,
    ClientKind,
    everything_server,
    http_status,
    requires_setup,
    run_client,
    step,
    texts,
)

pytestmark = requires_setup

LATEST = "2025-11-25"

DEMO_PLAN: list[dict[str, Any]] = [
    {"op": "listTools"},
    {"op": "callTool", "name": "echo", "arguments": {"text": "héllo, wörld"}},
    {"op": "callTool", "name": "add", "arguments": {"a": 2, "b": 3.5}},
    {"op": "callTool", "name": "sleep", "arguments": {"seconds": 1.2}, "progress": True},
    {"op": "ping"},
    {"op": "terminate"},
]

EVERYTHING_PLAN: list[dict[str, Any]] = [
    {"op": "listTools"},
    {"op": "setLoggingLevel", "level": "debug"},
    {"op": "callTool", "name": "test_tool_with_logging"},
    {"op": "callTool", "name": "test_tool_with_progress", "progress": True},
    {"op": "callTool", "name": "test_sampling", "arguments": {"prompt": "What is 2+2?"}},
    {"op": "callTool", "name": "test_simple_text"},
    {"op": "callTool", "name": "test_error_handling"},
    {"op": "callTool", "name": "test_reconnection"},
    {"op": "terminate"},
]


@pytest.fixture
async def demo(nursery: trio.Nursery) -> AsyncIterator[RunningServer]:
    """The demo server, served in-process on 127.0.0.1, port 0."""
    running: RunningServer = await nursery.start(trio_mcp_http.serve, build_demo_server())
    yield running
    running.shutdown()


def check_http_log(report: dict[str, Any]) -> None:
    """Checks common to every run: one session, its id on every later request, DELETE 2xx."""
    http = report["http"]
    session_id = report["sessionId"]
    assert session_id, report
    assert all(32 < ord(c) < 127 for c in session_id)
    initialize = [e for e in http if e["rpc"] == ["initialize"]]
    assert len(initialize) == 1, http
    assert initialize[0]["status"] == 200
    assert initialize[0]["sessionId"] == session_id
    after = http[http.index(initialize[0]) + 1 :]
    assert after, http
    assert all(e["requestSessionId"] == session_id for e in after), after
    assert all(e["requestProtocolVersion"] == LATEST for e in after), after
    initialized = [e for e in after if e["rpc"] == ["notifications/initialized"]]
    assert [e["status"] for e in initialized] == [202]
    deletes = [e for e in http if e["method"] == "DELETE"]
    assert len(deletes) == 1, http
    assert 200 <= deletes[0]["status"] < 300, deletes
    assert report["protocolVersion"] == LATEST
    assert not report["errors"], report["errors"]


@pytest.mark.parametrize("kind", CLIENTS)
async def test_demo_server(kind: ClientKind, demo: RunningServer) -> None:
    report = await run_client(kind, demo.url, DEMO_PLAN)
    check_http_log(report)
    assert report["serverInfo"]["name"] == "trio-mcp-http-demo"

    tools = {tool["name"]: tool for tool in step(report, 0, "listTools")["tools"]}
    assert {"echo", "add", "sleep"} <= tools.keys()
    assert tools["echo"]["inputSchema"]["properties"]["text"]["type"] == "string"
    assert tools["echo"]["description"]

    echo = step(report, 1, "callTool")["result"]
    assert texts(echo) == ["héllo, wörld"]
    assert not echo.get("isError")

    add = step(report, 2, "callTool")["result"]
    assert add["structuredContent"] == {"result": 5.5}
    assert texts(add) == ["5.5"]

    sleep = step(report, 3, "callTool")
    assert texts(sleep["result"]) == ["Slept 1.2 seconds"]
    progress = sleep["progress"]
    assert progress, "no notifications/progress reached the client"
    values = [p["progress"] for p in progress]
    assert values == sorted(values)
    assert values[-1] == pytest.approx(1.2)
    assert all(p["total"] == pytest.approx(1.2) for p in progress)

    assert step(report, 4, "ping") == {}
    step(report, 5, "terminate")

    # The DELETE ended the session on the server, and nothing of it is left.
    with trio.fail_after(5):
        await trio.testing.wait_all_tasks_blocked()
    stats = demo.statistics()
    assert stats.sessions == 0
    assert stats.sessions_opened == 1
    assert stats.sessions_closed == {"deleted": 1}
    assert stats.streams == 0
    assert stats.requests_in_flight == 0


@pytest.mark.parametrize("kind", CLIENTS)
async def test_client_cancellation(kind: ClientKind, demo: RunningServer) -> None:
    """A client that gives up on a call sends notifications/cancelled: the handler stops."""
    plan: list[dict[str, Any]] = [
        {"op": "callTool", "name": "sleep", "arguments": {"seconds": 60}, "timeoutMs": 1000},
        {"op": "callTool", "name": "echo", "arguments": {"text": "still here"}},
    ]
    report = await run_client(kind, demo.url, plan)
    http = report["http"]
    cancel = [e for e in http if e["rpc"] == ["notifications/cancelled"]]
    assert [e["status"] for e in cancel] == [202], http
    assert not report["steps"][0]["ok"]
    assert texts(step(report, 1, "callTool")["result"]) == ["still here"]
    # No DELETE was sent: the session lives on, but the 60 s handler is gone.
    assert [e for e in http if e["method"] == "DELETE"] == []
    with trio.fail_after(5):
        await trio.testing.wait_all_tasks_blocked()
    stats = demo.statistics()
    assert stats.requests_in_flight == 0
    assert stats.sessions == 1
    assert stats.sessions_closed == {}


MODES_PLAN: list[dict[str, Any]] = [
    {"op": "listTools"},
    {"op": "callTool", "name": "echo", "arguments": {"text": "plain"}},
    {"op": "callTool", "name": "add", "arguments": {"a": -1, "b": 1}},
    {"op": "terminate"},
]


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize(
    "config",
    [ServerConfig(json_response=True), ServerConfig(stateless=True)],
    ids=["json-response", "stateless"],
)
async def test_demo_server_modes(
    kind: ClientKind, config: ServerConfig, nursery: trio.Nursery
) -> None:
    running: RunningServer = await nursery.start(trio_mcp_http.serve, build_demo_server(), config)
    report = await run_client(kind, running.url, MODES_PLAN)
    assert not report["errors"], report["errors"]
    assert report["protocolVersion"] == LATEST
    names = {tool["name"] for tool in step(report, 0, "listTools")["tools"]}
    assert {"echo", "add", "sleep"} <= names
    assert texts(step(report, 1, "callTool")["result"]) == ["plain"]
    assert step(report, 2, "callTool")["result"]["structuredContent"] == {"result": 0}
    step(report, 3, "terminate")
    requests = [e for e in report["http"] if e["method"] == "POST" and e["status"] == 200]
    if config.json_response:
        assert {e["contentType"] for e in requests} == {"application/json"}
        assert report["sessionId"]
        assert [e["status"] for e in report["http"] if e["method"] == "DELETE"] == [200]
    else:
        # No session: no id issued, none sent, nothing to DELETE (GET and DELETE get 405).
        assert report["sessionId"] is None
        assert all(e["sessionId"] is None for e in report["http"])
        assert all(e["requestSessionId"] is None for e in report["http"])
        assert [e for e in report["http"] if e["method"] == "DELETE"] == []
    running.shutdown()


@pytest.mark.parametrize("kind", CLIENTS)
async def test_everything_server(kind: ClientKind) -> None:
    async with everything_server() as url:
        report = await run_client(kind, url, EVERYTHING_PLAN)
        check_http_log(report)

        names = {tool["name"] for tool in step(report, 0, "listTools")["tools"]}
        assert {"test_tool_with_logging", "test_tool_with_progress", "test_sampling"} <= names

        assert step(report, 1, "setLoggingLevel") == {}
        logged = step(report, 2, "callTool")["result"]
        assert texts(logged), logged
        messages = [m["data"] for m in report["logging"]]
        assert messages[:3] == [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ], report["logging"]
        assert {m["level"] for m in report["logging"]} == {"info"}

        progress = step(report, 3, "callTool")
        assert texts(progress["result"])
        assert [(p["progress"], p["total"]) for p in progress["progress"]] == [
            (0, 100),
            (50, 100),
            (100, 100),
        ]

        sampled = step(report, 4, "callTool")["result"]
        assert texts(sampled) == ["LLM response: sampled: What is 2+2?"]
        [sampling] = report["samplingRequests"]
        assert sampling["maxTokens"] == 100
        assert sampling["messages"] == [
            {"role": "user", "content": {"type": "text", "text": "What is 2+2?"}}
        ]

        assert texts(step(report, 5, "callTool")["result"]) == [
            "This is a simple text response for testing."
        ]
        error = step(report, 6, "callTool")["result"]
        assert error["isError"] is True
        assert texts(error) == ["This tool intentionally returns an error for testing"]

        # SEP-1699: the server closes the call's stream after the priming event; the client
        # resumes with GET + Last-Event-ID and gets the result from the event store.
        resumed = step(report, 7, "callTool")["result"]
        assert texts(resumed) == ["Reconnection test completed"]
        resumes = [e for e in report["http"] if e["method"] == "GET" and e["lastEventId"]]
        assert resumes, report["http"]
        assert all(e["status"] == 200 for e in resumes), resumes

        step(report, 8, "terminate")
        # The deleted session is gone: a request that names it gets 404.
        status = await http_status(
            url,
            "POST",
            [
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("mcp-session-id", report["sessionId"]),
                ("mcp-protocol-version", LATEST),
            ],
            b'{"jsonrpc":"2.0","id":1,"method":"ping"}',
        )
        assert status == 404


MODERN_PLAN: list[dict[str, Any]] = [
    {"op": "listTools"},
    {"op": "callTool", "name": "echo", "arguments": {"text": "héllo"}},
    {"op": "callTool", "name": "sleep", "arguments": {"seconds": 1.2}, "progress": True},
    {"op": "callTool", "name": "sleep", "arguments": {"seconds": 60}, "timeoutMs": 1000},
    {"op": "callTool", "name": "add", "arguments": {"a": 2, "b": 3.5}},
    {"op": "terminate"},
]


def check_modern_http_log(report: dict[str, Any], *, probed: bool = True) -> None:
    """Checks common to every 2026-07-28 run: no session, POST only (the probe answered)."""
    assert not report["errors"], report["errors"]
    assert report["protocolVersion"] == "2026-07-28"
    http = report["http"]
    if probed:
        assert report["discovered"]
        assert http[0]["rpc"] == ["server/discover"] and http[0]["status"] == 200
    assert all(e["requestProtocolVersion"] == "2026-07-28" for e in http), http
    assert all(e["requestSessionId"] is None and e["sessionId"] is None for e in http), http
    assert not [e for e in http if e["method"] != "POST"], http  # no GET, no DELETE
    # Answered 200 or 202; a request the client gave up on may have been aborted unanswered.
    assert all(e["status"] in (200, 202, None) for e in http), http


@pytest.mark.parametrize("kind", MODERN_CLIENTS)
async def test_clients_in_auto_mode_take_the_2026_wire(
    kind: ClientKind, demo: RunningServer
) -> None:
    """``mode="auto"`` (the Python SDK's default) probes ``server/discover``: no session."""
    report = await run_client(kind, demo.url, MODERN_PLAN, mode="auto")
    check_modern_http_log(report)
    tools = {t["name"] for t in step(report, 0, "listTools")["tools"]}
    assert {"echo", "add", "sleep"} <= tools
    assert texts(step(report, 1, "callTool")["result"]) == ["héllo"]
    sleep = step(report, 2, "callTool")
    assert texts(sleep["result"]) == ["Slept 1.2 seconds"]
    assert [p["progress"] for p in sleep["progress"]] == pytest.approx([1.0, 1.2])
    # Giving up on a request closes its stream, which cancels it on the server.
    assert not report["steps"][3]["ok"]
    assert step(report, 4, "callTool")["result"]["structuredContent"] == {"result": 5.5}
    with trio.fail_after(5):
        await trio.testing.wait_all_tasks_blocked()
    stats = demo.statistics()
    assert (stats.sessions, stats.exchanges, stats.requests_in_flight) == (0, 0, 0)
    assert stats.sessions_opened == 0


MODERN_EVERYTHING_PLAN: list[dict[str, Any]] = [
    {"op": "callTool", "name": "test_input_required_result_elicitation"},
    # The same tool code as in a session: ctx.sample becomes an input-required round.
    {"op": "callTool", "name": "test_sampling", "arguments": {"prompt": "What is 2+2?"}},
    {"op": "callTool", "name": "test_tool_with_progress", "progress": True},
    {
        "op": "listen",
        "trigger": "test_trigger_tool_change",
        "expect": "notifications/tools/list_changed",
    },
]


@pytest.mark.parametrize("kind", MODERN_CLIENTS)
@pytest.mark.parametrize("mode", ["auto", "2026-07-28"])
async def test_everything_server_on_the_2026_wire(kind: ClientKind, mode: str) -> None:
    """Input-required rounds answered by the client's callbacks, and subscriptions/listen."""
    async with everything_server() as url:
        report = await run_client(kind, url, MODERN_EVERYTHING_PLAN, mode=mode)
    # Pinned, the TypeScript client still probes; the Python one goes straight to work.
    check_modern_http_log(report, probed=mode == "auto" or kind == "typescript-v2")
    assert texts(step(report, 0, "callTool")["result"]) == ["Hello, interop!"]
    [elicitation] = report["elicitations"]
    assert elicitation["message"] == "What is your name?"
    assert texts(step(report, 1, "callTool")["result"]) == ["LLM response: sampled: What is 2+2?"]
    [sampling] = report["samplingRequests"]
    assert sampling["messages"][0]["content"]["text"] == "What is 2+2?"
    # Each input-required call took two POSTs: the first answered with the question.
    calls = [e for e in report["http"] if e["rpc"] == ["tools/call"]]
    assert len(calls) == 2 + 2 + 1 + 1, calls
    progress = step(report, 2, "callTool")["progress"]
    assert [(p["progress"], p["total"]) for p in progress] == [(0, 100), (50, 100), (100, 100)]
    listened = step(report, 3, "listen")
    assert listened["honoredFilter"]["toolsListChanged"] is True
    assert listened["notification"]["method"] == "notifications/tools/list_changed"
    listens = [e for e in report["http"] if e["rpc"] == ["subscriptions/listen"]]
    assert [e["contentType"] for e in listens] == ["text/event-stream"]
