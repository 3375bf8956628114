"""Utilities: logging levels, progress, completion, list-changed broadcasts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.server.client import Client, connected, next_message, serving
from trio_mcp_http.server import LOG_LEVELS, Context, McpServer


def utility_server() -> McpServer:
    server = McpServer("utilities")

    @server.tool()
    async def log_all(ctx: Context) -> str:
        """Log once at every level."""
        for level in LOG_LEVELS:
            await ctx.log(level, {"level": level}, logger="test")
        await ctx.debug("d")
        await ctx.info("i")
        await ctx.warning("w")
        await ctx.error("e")
        return "logged"

    @server.tool()
    async def bad_level(ctx: Context) -> str:
        """Logs at a level that does not exist."""
        await ctx.log("verbose", "x")  # type: ignore[arg-type]
        return "unreachable"

    @server.tool()
    async def work(ctx: Context) -> str:
        """Reports progress."""
        await ctx.report_progress(1, 3)
        await ctx.report_progress(2, 3, "almost")
        await ctx.report_progress(3)
        return f"token={ctx.progress_token}"

    @server.prompt()
    def greet(name: str, greeting: str = "Hello") -> str:
        """Greets."""
        return f"{greeting}, {name}"

    @server.resource("test://users/{user}/files/{file}")
    def user_file(user: str, file: str) -> str:
        return f"{user}:{file}"

    names = ["alice", "albert", "bob"]

    @server.completion("ref/prompt", "greet")
    def complete_greet(argument: str, value: str, resolved: Mapping[str, str]) -> list[str]:
        if argument == "name":
            return [n for n in names if n.startswith(value)]
        return [f"{g} ({resolved.get('name', '?')})" for g in ("Hello", "Hi")]

    @server.completion("ref/resource", "test://users/{user}/files/{file}")
    async def complete_files(argument: str, value: str, resolved: Mapping[str, str]) -> list[str]:
        return [f"{value}{i}" for i in range(150)]

    return server


def log_messages(messages: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [
        (m["params"]["level"], m["params"]["data"])
        for m in messages
        if m.get("method") == "notifications/message"
    ]


async def test_default_level_is_info() -> None:
    async with connected(utility_server()) as client:
        messages = await client.exchange("tools/call", {"name": "log_all", "arguments": {}})
    levels = [level for level, _ in log_messages(messages)]
    assert levels == [
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
        "info",
        "warning",
        "error",
    ]
    first = messages[0]
    assert first == {
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": {"level": "info", "data": {"level": "info"}, "logger": "test"},
    }
    assert messages[-1]["result"]["content"][0]["text"] == "logged"


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        ("debug", [*LOG_LEVELS, "debug", "info", "warning", "error"]),
        ("warning", ["warning", "error", "critical", "alert", "emergency", "warning", "error"]),
        ("emergency", ["emergency"]),
    ],
)
async def test_set_level_filters_messages(threshold: str, expected: list[str]) -> None:
    async with connected(utility_server()) as client:
        assert await client.result("logging/setLevel", {"level": threshold}) == {}
        messages = await client.exchange("tools/call", {"name": "log_all", "arguments": {}})
    assert [level for level, _ in log_messages(messages)] == expected


@pytest.mark.parametrize("level", ["verbose", "INFO", None, 3])
async def test_invalid_level_is_invalid_params(level: object) -> None:
    async with connected(utility_server()) as client:
        error = await client.error("logging/setLevel", {"level": level})
    assert error["code"] == -32602
    assert error["data"]["supported"] == list(LOG_LEVELS)


async def test_logging_at_an_unknown_level_fails_the_tool() -> None:
    async with connected(utility_server()) as client:
        result = await client.call_tool("bad_level")
    assert result["isError"] is True
    assert "not a log level" in result["content"][0]["text"]


async def test_progress_is_sent_with_the_token() -> None:
    async with connected(utility_server()) as client:
        messages = await client.exchange(
            "tools/call", {"name": "work", "arguments": {}, "_meta": {"progressToken": "tok-1"}}
        )
    progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    assert progress == [
        {"progressToken": "tok-1", "progress": 1, "total": 3},
        {"progressToken": "tok-1", "progress": 2, "total": 3, "message": "almost"},
        {"progressToken": "tok-1", "progress": 3},
    ]
    assert messages[-1]["result"]["content"][0]["text"] == "token=tok-1"


async def test_numeric_progress_token_keeps_its_type() -> None:
    async with connected(utility_server()) as client:
        messages = await client.exchange(
            "tools/call", {"name": "work", "arguments": {}, "_meta": {"progressToken": 7}}
        )
    tokens = [
        m["params"]["progressToken"]
        for m in messages
        if m.get("method") == "notifications/progress"
    ]
    assert tokens == [7, 7, 7]


@pytest.mark.parametrize("meta", [None, {}, {"progressToken": True}, {"progressToken": 1.5}])
async def test_no_progress_without_a_token(meta: dict[str, Any] | None) -> None:
    params: dict[str, Any] = {"name": "work", "arguments": {}}
    if meta is not None:
        params["_meta"] = meta
    async with connected(utility_server()) as client:
        messages = await client.exchange("tools/call", params)
    assert len(messages) == 1
    assert messages[0]["result"]["content"][0]["text"] == "token=None"


def completion_params(
    ref: dict[str, str], argument: str, value: str, **context: str
) -> dict[str, Any]:
    params: dict[str, Any] = {"ref": ref, "argument": {"name": argument, "value": value}}
    if context:
        params["context"] = {"arguments": context}
    return params


async def test_completion_of_prompt_arguments() -> None:
    ref = {"type": "ref/prompt", "name": "greet"}
    async with connected(utility_server()) as client:
        names = await client.result("completion/complete", completion_params(ref, "name", "al"))
        greetings = await client.result(
            "completion/complete", completion_params(ref, "greeting", "", name="bob")
        )
    assert names == {"completion": {"values": ["alice", "albert"], "total": 2, "hasMore": False}}
    assert greetings["completion"]["values"] == ["Hello (bob)", "Hi (bob)"]


async def test_completion_of_template_arguments_is_capped_at_100() -> None:
    ref = {"type": "ref/resource", "uri": "test://users/{user}/files/{file}"}
    async with connected(utility_server()) as client:
        result = await client.result("completion/complete", completion_params(ref, "file", "f"))
    completion = result["completion"]
    assert completion["values"] == [f"f{i}" for i in range(100)]
    assert completion["total"] == 150
    assert completion["hasMore"] is True


async def test_completion_without_completer_is_empty() -> None:
    server = utility_server()

    @server.prompt()
    def other(x: str) -> str:
        """Other."""
        return x

    async with connected(server) as client:
        result = await client.result(
            "completion/complete",
            completion_params({"type": "ref/prompt", "name": "other"}, "x", ""),
        )
    assert result == {"completion": {"values": [], "total": 0, "hasMore": False}}


@pytest.mark.parametrize(
    "params",
    [
        completion_params({"type": "ref/prompt", "name": "missing"}, "x", ""),
        completion_params({"type": "ref/resource", "uri": "test://nothing/{x}"}, "x", ""),
        completion_params({"type": "ref/tool", "name": "greet"}, "x", ""),
        {"ref": {"type": "ref/prompt", "name": "greet"}},
        {"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name"}},
    ],
)
async def test_bad_completion_requests_are_invalid_params(params: dict[str, Any]) -> None:
    async with connected(utility_server()) as client:
        error = await client.error("completion/complete", params)
    assert error["code"] == -32602


def test_completion_rejects_unknown_ref_types() -> None:
    with pytest.raises(ValueError, match="ref type"):
        McpServer("s").completion("ref/tool", "x")  # type: ignore[arg-type]


async def test_list_changed_goes_to_initialized_sessions_only() -> None:
    server = utility_server()
    async with serving(server) as app:
        ready, pending = Client(app), Client(app)
        await ready.initialize()
        await pending.initialize(send_initialized=False)
        async with (
            ready.open_get_stream() as ready_stream,
            pending.open_get_stream() as pending_stream,
        ):
            await server.notify_tools_changed()
            await server.notify_resources_changed()
            await server.notify_prompts_changed()
            methods = [(await next_message(ready_stream))["method"] for _ in range(3)]
            assert methods == [
                "notifications/tools/list_changed",
                "notifications/resources/list_changed",
                "notifications/prompts/list_changed",
            ]
            # Once initialized, the second session gets the next broadcast (and only it).
            assert await pending.notify("notifications/initialized") == 202
            await server.notify_tools_changed()
            assert (await next_message(pending_stream)) == {
                "jsonrpc": "2.0",
                "method": "notifications/tools/list_changed",
            }
