"""Our trio client against the official Python SDK's server (PyPI ``mcp``, own venv)."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
import trio

from tests.e2e.raw_http import request
from tests.e2e.test_hypercorn import POST_HEADERS
from tests.helpers import rpc
from tests.interop._harness import INTEROP, SDK_PYTHON, requires_setup
from trio_mcp_http.client import forget_eras, open_client

if TYPE_CHECKING:
    from trio_mcp_http import Notification

pytestmark = requires_setup


@asynccontextmanager
async def sdk_server(*flags: str) -> AsyncIterator[str]:
    command = [str(SDK_PYTHON), str(INTEROP / "sdk_server.py"), *flags]
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        seen = b""
        with trio.fail_after(30):
            while b"\n" not in seen:
                chunk = await process.stdout.receive_some()
                assert chunk, "the SDK server exited before it was ready"
                seen += chunk
        line = seen.split(b"\n")[0].decode()
        assert line.startswith("READY "), line
        yield line.removeprefix("READY ")
    finally:
        process.terminate()
        with trio.move_on_after(10):
            await process.wait()
        process.kill()
        await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()


@pytest.mark.parametrize("flags", [(), ("--json-response",)], ids=["sse", "json"])
async def test_our_client_against_the_sdk_server(flags: tuple[str, ...]) -> None:
    notifications: list[Notification] = []
    progress: list[tuple[float, float | None]] = []
    asked: list[dict[str, Any]] = []

    async def on_notification(notification: Notification) -> None:
        notifications.append(notification)

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total))

    async def sampling(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params)
        return {
            "role": "assistant",
            "content": {"type": "text", "text": "forty-two"},
            "model": "test",
        }

    with trio.fail_after(60):
        async with sdk_server(*flags) as url:
            async with open_client(
                url, mode="legacy", on_notification=on_notification, sampling_callback=sampling
            ) as client:
                assert client.session_id
                assert client.protocol_version == "2025-11-25"
                names = {tool.name for tool in (await client.list_tools()).tools}
                assert {"echo", "count", "ask"} <= names
                echoed = await client.call_tool("echo", {"text": "hello sdk"})
                assert echoed.content[0]["text"] == "hello sdk"
                assert not echoed.is_error
                counted = await client.call_tool(
                    "count", {"steps": 3}, progress_callback=on_progress
                )
                assert counted.content[0]["text"] == "counted to 3"
                await client.ping()
                if not flags:  # JSON response mode has no stream for server-to-client requests
                    answer = await client.call_tool("ask", {"question": "meaning of life?"})
                    assert answer.content[0]["text"] == "forty-two"
                    assert asked[0]["messages"][0]["content"]["text"] == "meaning of life?"
                session_id = client.session_id
            if not flags:
                assert progress == [(1, 3), (2, 3), (3, 3)]
                logged = [
                    n.params["data"]
                    for n in notifications
                    if n.method == "notifications/message" and n.params
                ]
                assert logged == ["step 1", "step 2", "step 3"]
            # The client ended its session with DELETE: the SDK server no longer knows it.
            assert session_id is not None
            headers = [*POST_HEADERS, ("mcp-session-id", session_id)]
            async with request(url, "POST", headers, rpc("ping", id=1)) as response:
                assert response.status == 404


@pytest.mark.parametrize("mode", ["auto", "2026-07-28"])
async def test_our_client_on_the_sdk_servers_2026_wire(mode: str) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def elicit(params: dict[str, Any]) -> dict[str, Any]:
        assert "what is your name" in params["message"]
        return {"action": "accept", "content": {"name": "Ada"}}

    forget_eras()
    with trio.fail_after(60):
        async with (
            sdk_server() as url,
            open_client(url, mode=mode, elicitation_callback=elicit) as client,  # type: ignore[arg-type]
        ):
            assert (client.era, client.protocol_version) == ("per-request", "2026-07-28")
            assert client.session_id is None
            if mode == "auto":
                info = client.server_info
                assert info is not None
                assert info.name == "sdk-interop"
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"echo", "count", "greet", "region_echo"} <= names
            echoed = await client.call_tool("echo", {"text": "hello sdk"})
            assert echoed.content[0]["text"] == "hello sdk"
            greeted = await client.call_tool("greet", {"prefix": "Hi"})  # input required, retried
            assert greeted.content[0]["text"] == "Hi, Ada!"
            mirrored = await client.call_tool("region_echo", {"region": "eu 1", "text": "x"})
            assert mirrored.content[0]["text"] == "eu 1:x"  # the SDK checked Mcp-Param-Region
            counted = await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)
            assert counted.content[0]["text"] == "counted to 3"
    assert progress == [1, 2, 3]
