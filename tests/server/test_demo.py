"""The demo server (``trio-mcp-http serve`` with no application)."""

from __future__ import annotations

import trio

from tests.server.client import connected
from trio_mcp_http.server.demo import build_demo_server


async def test_demo_lists_its_tools_resource_and_prompt() -> None:
    async with connected(build_demo_server()) as client:
        tools = await client.result("tools/list")
        resources = await client.result("resources/list")
        prompts = await client.result("prompts/list")
        readme = await client.result("resources/read", {"uri": "demo://readme"})
        greeting = await client.result(
            "prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}
        )
    assert [t["name"] for t in tools["tools"]] == ["echo", "add", "sleep"]
    assert all(t["description"] for t in tools["tools"])
    assert [r["uri"] for r in resources["resources"]] == ["demo://readme"]
    assert readme["contents"][0]["mimeType"] == "text/markdown"
    assert readme["contents"][0]["text"].startswith("# trio-mcp-http demo")
    assert [p["name"] for p in prompts["prompts"]] == ["greet"]
    assert greeting["messages"][0]["content"]["text"] == "Please greet Ada warmly."


async def test_demo_echo_and_add() -> None:
    async with connected(build_demo_server()) as client:
        echo = await client.call_tool("echo", {"text": "héllo"})
        added = await client.call_tool("add", {"a": 2, "b": 0.5})
    assert echo == {"content": [{"type": "text", "text": "héllo"}]}
    assert added == {
        "content": [{"type": "text", "text": "2.5"}],
        "structuredContent": {"result": 2.5},
    }


async def test_demo_sleep_reports_progress_each_second(autojump_clock: trio.abc.Clock) -> None:
    async with connected(build_demo_server()) as client:
        start = trio.current_time()
        messages = await client.exchange(
            "tools/call",
            {"name": "sleep", "arguments": {"seconds": 2.5}, "_meta": {"progressToken": "p"}},
        )
        elapsed = trio.current_time() - start
    progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    assert [(p["progress"], p["total"]) for p in progress] == [(1.0, 2.5), (2.0, 2.5), (2.5, 2.5)]
    assert all(p["progressToken"] == "p" for p in progress)
    assert messages[-1]["result"] == {"content": [{"type": "text", "text": "Slept 2.5 seconds"}]}
    assert elapsed == 2.5


async def test_demo_sleep_rejects_negative_durations() -> None:
    async with connected(build_demo_server()) as client:
        result = await client.call_tool("sleep", {"seconds": -1})
    assert result["isError"] is True
