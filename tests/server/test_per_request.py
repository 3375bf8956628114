"""The server layer on the per-request wire (2026-07-28), in-process under MockClock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from tests.server.modern import MODERN, modern, open_modern, result_of
from trio_mcp_http import CloseReason, McpApp, ServerConfig
from trio_mcp_http._core.per_request import LOG_LEVEL, SERVER_INFO, SUBSCRIPTION_ID
from trio_mcp_http.server import CacheHints, Context, McpServer


class Probe:
    def __init__(self) -> None:
        self.runs = 0
        self.cancelled = 0
        self.started = trio.Event()


def build(probe: Probe) -> McpServer:
    server = McpServer("modern", "2.0", instructions="be kind", cache=CacheHints(ttl_ms=5000))

    @server.tool()
    def echo(text: str) -> str:
        """Echo."""
        return text

    @server.tool()
    async def greet(ctx: Context) -> str:
        """Asks a name, then a colour, in two rounds."""
        probe.runs += 1
        name = await ctx.elicit("Name?", {"type": "object", "properties": {}}, key="name")
        colour = await ctx.elicit("Colour?", {"type": "object", "properties": {}})
        return f"{(name.content or {}).get('v')} likes {(colour.content or {}).get('v')}"

    @server.tool()
    async def chatty(ctx: Context) -> str:
        """Logs and reports progress."""
        await ctx.debug("debug line")
        await ctx.warning("warning line")
        await ctx.report_progress(1, 2)
        return "done"

    @server.tool()
    async def forever(ctx: Context) -> None:
        """Runs until cancelled."""
        probe.started.set()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            probe.cancelled += 1
            raise

    @server.tool(
        input_schema={
            "type": "object",
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
        }
    )
    def where(region: str | None = None) -> str:
        """Mirrors its region into a header."""
        return f"region={region}"

    @server.resource("mem://a", ttl_ms=60_000)
    def a() -> str:
        """A resource."""
        return "A"

    @server.prompt()
    def hello(name: str) -> str:
        """A prompt."""
        return f"hello {name}"

    return server


@asynccontextmanager
async def serving(
    config: ServerConfig | None = None,
) -> AsyncIterator[tuple[McpApp, McpServer, Probe]]:
    probe = Probe()
    server = build(probe)
    app = McpApp(server, config)
    async with trio.open_nursery() as nursery:
        await nursery.start(app.manager.run)
        yield app, server, probe
        nursery.cancel_scope.cancel()


async def test_discover_lists_versions_capabilities_and_hints(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with serving() as (app, _, _):
        result = await result_of(app, "server/discover")
    assert result["supportedVersions"] == ["2025-03-26", "2025-06-18", "2025-11-25", MODERN]
    assert set(result["capabilities"]) >= {"tools", "resources", "prompts", "logging"}
    assert (result["instructions"], result["resultType"]) == ("be kind", "complete")
    assert (result["ttlMs"], result["cacheScope"]) == (5000, "public")
    assert result["_meta"][SERVER_INFO] == {"name": "modern", "version": "2.0"}


async def test_every_result_is_stamped_and_cacheable_ones_carry_hints(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with serving() as (app, _, _):
        tools = await result_of(app, "tools/list")
        call = await result_of(app, "tools/call", {"name": "echo", "arguments": {"text": "x"}})
        read = await result_of(app, "resources/read", {"uri": "mem://a"})
        prompt = await result_of(app, "prompts/get", {"name": "hello", "arguments": {"name": "y"}})
    assert (tools["ttlMs"], tools["cacheScope"], tools["resultType"]) == (
        5000,
        "public",
        "complete",
    )
    assert (read["ttlMs"], read["cacheScope"]) == (60_000, "private")
    assert "ttlMs" not in call and call["resultType"] == "complete"
    assert call["content"] == [{"type": "text", "text": "x"}]
    assert prompt["messages"][0]["content"]["text"] == "hello y"
    for result in (tools, call, read, prompt):
        assert result["_meta"][SERVER_INFO]["name"] == "modern"


async def test_unknown_tool_and_resource_are_400_with_the_id(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with serving() as (app, _, _):
        status, [body] = await modern(app, "resources/read", {"uri": "mem://zz"}, 7)
        assert (status, body["id"], body["error"]["code"]) == (400, 7, -32602)
        assert body["error"]["data"] == {"uri": "mem://zz"}
        status, [body] = await modern(app, "nope/nope", {}, 8)
        assert (status, body["id"], body["error"]["code"]) == (404, 8, -32601)


async def retry(app: McpApp, params: dict[str, Any], answers: dict[str, Any], state: Any) -> Any:
    again = {**params, "inputResponses": answers}
    if state is not None:
        again["requestState"] = state
    return await result_of(app, "tools/call", again)


async def test_input_required_rounds_carry_answers_in_the_state(
    autojump_clock: trio.testing.MockClock,
) -> None:
    params: dict[str, Any] = {"name": "greet", "arguments": {}}
    async with serving() as (app, _, probe):
        first = await result_of(app, "tools/call", params)
        assert first["resultType"] == "input_required"
        assert list(first["inputRequests"]) == ["name"]
        assert first["inputRequests"]["name"]["method"] == "elicitation/create"
        name = {"action": "accept", "content": {"v": "Ada"}}
        second = await retry(app, params, {"name": name}, first["requestState"])
        assert list(second["inputRequests"]) == ["elicitation-2"]
        colour = {"action": "accept", "content": {"v": "red"}}
        third = await retry(app, params, {"elicitation-2": colour}, second["requestState"])
        assert third["content"][0]["text"] == "Ada likes red"
        assert probe.runs == 3
        # A retry that lacks an answer is asked again, not failed; extra answers are ignored.
        again = await retry(app, params, {"unrelated": {"x": 1}}, second["requestState"])
        assert list(again["inputRequests"]) == ["elicitation-2"]


@pytest.mark.parametrize("change", ["tamper", "other-request", "expired"])
async def test_request_state_is_verified(
    autojump_clock: trio.testing.MockClock, change: str
) -> None:
    params: dict[str, Any] = {"name": "greet", "arguments": {}}
    async with serving() as (app, server, _):
        first = await result_of(app, "tools/call", params)
        state = first["requestState"]
        if change == "tamper":
            state = state[:-2] + ("A" if state[-2] != "A" else "B") + state[-1]
        elif change == "other-request":
            params = {"name": "greet", "arguments": {"x": 1}}
        else:
            server.request_state._clock = lambda: 10**12
        answer = {"name": {"action": "accept", "content": {"v": "x"}}}
        status, [body] = await modern(
            app, "tools/call", {**params, "inputResponses": answer, "requestState": state}
        )
    assert (status, body["error"]["code"]) == (400, -32602)
    assert "requestState" in body["error"]["message"]


async def test_input_needs_the_client_capability(autojump_clock: trio.testing.MockClock) -> None:
    async with serving() as (app, _, _):
        status, [body] = await modern(
            app, "tools/call", {"name": "greet", "arguments": {}}, capabilities={}
        )
    assert (status, body["error"]["code"]) == (400, -32021)
    assert body["error"]["data"] == {"requiredCapabilities": {"elicitation": {}}}


async def test_logging_only_when_asked_and_on_the_request_stream(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with serving() as (app, _, _):
        status, messages = await modern(app, "tools/call", {"name": "chatty", "arguments": {}})
        assert status == 200
        assert [m.get("method") for m in messages] == [None]  # no log, no progress token
        meta = {LOG_LEVEL: "warning", "progressToken": "t"}
        status, messages = await modern(
            app, "tools/call", {"name": "chatty", "arguments": {}}, meta=meta
        )
    assert [m.get("method") for m in messages] == [
        "notifications/message",
        "notifications/progress",
        None,
    ]
    assert messages[0]["params"]["data"] == "warning line"


async def test_mirrored_arguments_must_match_their_headers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    params = {"name": "where", "arguments": {"region": "Hello"}}
    async with serving() as (app, _, _):
        for header, status in [("Hello", 200), ("=?base64?SGVsbG8=?=", 200), ("Bye", 400)]:
            got, [body] = await modern(
                app, "tools/call", params, extra_headers=(("mcp-param-region", header),)
            )
            assert got == status, body
        got, [body] = await modern(app, "tools/call", params)  # the header is missing
        assert (got, body["error"]["code"]) == (400, -32020)


async def test_closing_the_response_cancels_the_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with serving() as (app, _, probe):
        async with open_modern(app, "tools/call", {"name": "forever", "arguments": {}}) as r:
            assert r.headers["content-type"] == "text/event-stream"  # a long request streams
            assert probe.started.is_set()
            r.disconnect()
        await trio.testing.wait_all_tasks_blocked()
        assert probe.cancelled == 1
        stats = app.statistics()
        assert (stats.exchanges, stats.requests_in_flight, stats.session_tasks) == (0, 0, 0)


async def test_an_exchange_runs_no_task_of_its_own_and_ends_with_its_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    closed: list[tuple[str | None, CloseReason]] = []
    app = McpApp(build(Probe()), on_session_closed=lambda sid, why: closed.append((sid, why)))
    async with trio.open_nursery() as nursery:
        await nursery.start(app.manager.run)
        async with open_modern(app, "tools/call", {"name": "forever", "arguments": {}}) as r:
            stats = app.statistics()
            assert (stats.exchanges, stats.session_tasks) == (1, 1)  # the handler's task only
            assert closed == []
            r.disconnect()
            await trio.testing.wait_all_tasks_blocked()
            assert closed == [(None, CloseReason.CANCELLED)]
        assert (await modern(app, "tools/call", {"name": "echo", "arguments": {"text": "x"}}))[
            0
        ] == 200
        assert closed[1:] == [(None, CloseReason.COMPLETED)]
        async with open_modern(app, "tools/call", {"name": "forever", "arguments": {}}):
            nursery.cancel_scope.cancel()  # the manager stops from outside, mid-request
            await trio.testing.wait_all_tasks_blocked()
    assert closed[2:] == [(None, CloseReason.SHUTDOWN)]
    assert app.statistics().exchanges == 0


async def test_a_long_request_gets_keepalive_comments(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = ServerConfig(keepalive_interval=5)
    forever = {"name": "forever", "arguments": {}}
    async with serving(config) as (app, _, _), open_modern(app, "tools/call", forever) as r:
        assert b": keep-alive" in (await r.next_chunk() or b"")
        r.disconnect()


async def test_listen_acknowledges_filters_tags_and_ends_on_drain(
    autojump_clock: trio.testing.MockClock,
) -> None:
    wanted = {
        "toolsListChanged": True,
        "promptsListChanged": False,
        "resourceSubscriptions": ["mem://a"],
        "unknown": True,
    }
    listen = {"notifications": wanted}
    async with (
        serving() as (app, server, _),
        open_modern(app, "subscriptions/listen", listen, "L1") as r,
    ):
        ack = json.loads((await r.next_event()).data)
        assert ack["method"] == "notifications/subscriptions/acknowledged"
        assert ack["params"] == {
            "_meta": {SUBSCRIPTION_ID: "L1"},
            "notifications": {"toolsListChanged": True, "resourceSubscriptions": ["mem://a"]},
        }
        await server.notify_prompts_changed()  # not asked for
        await server.notify_resource_updated("mem://other")  # not subscribed
        await server.notify_tools_changed()
        await server.notify_resource_updated("mem://a")
        changed = json.loads((await r.next_event()).data)
        updated = json.loads((await r.next_event()).data)
        assert changed == {
            "jsonrpc": "2.0",
            "method": "notifications/tools/list_changed",
            "params": {"_meta": {SUBSCRIPTION_ID: "L1"}},
        }
        assert updated["params"] == {"_meta": {SUBSCRIPTION_ID: "L1"}, "uri": "mem://a"}
        await app.manager.drain(grace=1)
        end = json.loads((await r.next_event()).data)
        assert end["id"] == "L1"
        assert end["result"]["resultType"] == "complete"
        assert end["result"]["_meta"][SUBSCRIPTION_ID] == "L1"
        assert await r.body() == b""
        assert r.complete


async def test_a_stalled_listener_never_blocks_the_others(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = ServerConfig(stream_queue_size=4)
    wanted = {"toolsListChanged": True}
    async with serving(config) as (app, server, _):
        listen = {"notifications": wanted}
        async with (
            open_modern(app, "subscriptions/listen", listen, 1, send_buffer=0) as slow,
            open_modern(app, "subscriptions/listen", listen, 2) as live,
        ):
            await slow.next_event()  # it read its acknowledgment, then stops reading
            await live.next_event()
            for _ in range(20):  # the slow one never reads: its queue fills, it is cut
                await server.notify_tools_changed()
                event = await live.next_event()
                assert json.loads(event.data)["method"] == "notifications/tools/list_changed"
            del slow
        await trio.testing.wait_all_tasks_blocked()
        assert app.statistics().exchanges == 0
