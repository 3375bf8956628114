"""Server-to-client requests from inside a tool (sampling, elicitation, roots, ping),
capability checks, timeouts, and cancellation of running tools."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from pydantic import BaseModel

from tests.server.client import connected, next_message, rest_of_stream
from trio_mcp_http import ServerConfig
from trio_mcp_http.server import Context, McpServer, SamplingMessage
from trio_mcp_http.server._context import _model_schema


class Contact(BaseModel):
    email: str


class Probe:
    """Records what the tools saw."""

    def __init__(self) -> None:
        self.started = trio.Event()
        self.cancelled = 0


def asking_server(probe: Probe) -> McpServer:
    server = McpServer("asking")

    @server.tool()
    async def ask(prompt: str, ctx: Context) -> str:
        """Samples the client's LLM."""
        result = await ctx.sample(
            [SamplingMessage.user(prompt), "and be brief"],
            100,
            system_prompt="You are terse.",
            temperature=0.5,
            stop_sequences=["\n"],
            include_context="thisServer",
        )
        return f"LLM said {result.text!r} with {result.model} ({result.stop_reason})"

    @server.tool()
    async def form(ctx: Context) -> str:
        """Elicits a contact."""
        result = await ctx.elicit("Your email?", Contact)
        return f"{result.action}: {result.content}"

    @server.tool()
    async def roots(ctx: Context) -> list[str]:
        """Lists the client's roots."""
        return [f"{root.name}={root.uri}" for root in await ctx.list_roots()]

    @server.tool()
    async def ping_client(ctx: Context) -> str:
        """Pings the client."""
        await ctx.ping()
        return "pong"

    @server.tool()
    async def block(ctx: Context) -> str:
        """Waits forever."""
        probe.started.set()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            probe.cancelled += 1
            raise

    @server.tool()
    async def ask_and_block(ctx: Context) -> str:
        """Samples; gets cancelled while waiting."""
        probe.started.set()
        try:
            await ctx.sample("hello?", 10)
        except trio.Cancelled:
            probe.cancelled += 1
            raise
        return "unreachable"

    return server


ALL_CAPABILITIES: dict[str, Any] = {
    "sampling": {},
    "elicitation": {},
    "roots": {"listChanged": True},
}


async def test_sampling_round_trip() -> None:
    async with connected(asking_server(Probe()), capabilities=ALL_CAPABILITIES) as client:
        params = {"name": "ask", "arguments": {"prompt": "What is 6*7?"}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            assert request["method"] == "sampling/createMessage"
            assert request["params"] == {
                "messages": [
                    {"role": "user", "content": {"type": "text", "text": "What is 6*7?"}},
                    {"role": "user", "content": {"type": "text", "text": "and be brief"}},
                ],
                "maxTokens": 100,
                "systemPrompt": "You are terse.",
                "temperature": 0.5,
                "stopSequences": ["\n"],
                "includeContext": "thisServer",
            }
            answer = {
                "role": "assistant",
                "content": {"type": "text", "text": "42"},
                "model": "m-1",
                "stopReason": "endTurn",
            }
            assert await client.respond(request["id"], answer) == 202
            rest = await rest_of_stream(response)
    assert rest[-1]["result"] == {
        "content": [{"type": "text", "text": "LLM said '42' with m-1 (endTurn)"}]
    }


async def test_elicitation_round_trip_with_a_model_schema() -> None:
    async with connected(asking_server(Probe()), capabilities=ALL_CAPABILITIES) as client:
        params: dict[str, Any] = {"name": "form", "arguments": {}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            assert request["method"] == "elicitation/create"
            assert request["params"]["message"] == "Your email?"
            schema = request["params"]["requestedSchema"]
            assert schema["type"] == "object"
            assert schema["properties"]["email"]["type"] == "string"
            answer = {"action": "accept", "content": {"email": "a@b.c"}}
            assert await client.respond(request["id"], answer) == 202
            rest = await rest_of_stream(response)
    assert rest[-1]["result"]["content"][0]["text"] == "accept: {'email': 'a@b.c'}"


async def test_a_model_schema_is_built_once_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[type[BaseModel]] = []
    original = Contact.model_json_schema.__func__  # type: ignore[attr-defined]

    def counting(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        built.append(cls)
        return original(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(Contact, "model_json_schema", classmethod(counting))
    _model_schema.cache_clear()
    async with connected(asking_server(Probe()), capabilities=ALL_CAPABILITIES) as client:
        for _ in range(3):
            params: dict[str, Any] = {"name": "form", "arguments": {}}
            async with client.open_request("tools/call", params) as response:
                request = await next_message(response)
                assert request["params"]["requestedSchema"]["required"] == ["email"]
                assert await client.respond(request["id"], {"action": "decline"}) == 202
                await rest_of_stream(response)
    assert built == [Contact]


async def test_elicitation_declined() -> None:
    async with connected(asking_server(Probe()), capabilities=ALL_CAPABILITIES) as client:
        params: dict[str, Any] = {"name": "form", "arguments": {}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            assert await client.respond(request["id"], {"action": "decline"}) == 202
            rest = await rest_of_stream(response)
    assert rest[-1]["result"]["content"][0]["text"] == "decline: None"


async def test_roots_round_trip() -> None:
    async with connected(asking_server(Probe()), capabilities=ALL_CAPABILITIES) as client:
        params: dict[str, Any] = {"name": "roots", "arguments": {}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            assert request["method"] == "roots/list"
            assert "params" not in request
            roots = {"roots": [{"uri": "file:///a", "name": "a"}, {"uri": "file:///b"}]}
            assert await client.respond(request["id"], roots) == 202
            rest = await rest_of_stream(response)
    texts = [block["text"] for block in rest[-1]["result"]["content"]]
    assert texts == ["a=file:///a", "None=file:///b"]


async def test_ping_needs_no_capability() -> None:
    async with connected(asking_server(Probe())) as client:
        params: dict[str, Any] = {"name": "ping_client", "arguments": {}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            assert request["method"] == "ping"
            assert await client.respond(request["id"], {}) == 202
            rest = await rest_of_stream(response)
    assert rest[-1]["result"]["content"][0]["text"] == "pong"


@pytest.mark.parametrize(
    ("tool", "arguments", "capability"),
    [
        ("ask", {"prompt": "x"}, "sampling"),
        ("form", {}, "elicitation"),
        ("roots", {}, "roots"),
    ],
)
async def test_missing_capability_fails_without_sending(
    tool: str, arguments: dict[str, Any], capability: str
) -> None:
    others = {k: v for k, v in ALL_CAPABILITIES.items() if k != capability}
    async with connected(asking_server(Probe()), capabilities=others) as client:
        messages = await client.exchange("tools/call", {"name": tool, "arguments": arguments})
    assert len(messages) == 1  # the response alone: no request went to the client
    result = messages[0]["result"]
    assert result["isError"] is True
    assert f"did not declare the {capability!r} capability" in result["content"][0]["text"]


async def test_client_error_answer_fails_the_tool() -> None:
    async with connected(asking_server(Probe()), capabilities=ALL_CAPABILITIES) as client:
        params = {"name": "ask", "arguments": {"prompt": "x"}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            assert await client.respond_error(request["id"], -1, "User rejected sampling") == 202
            rest = await rest_of_stream(response)
    assert rest[-1]["result"] == {
        "content": [{"type": "text", "text": "User rejected sampling"}],
        "isError": True,
    }


async def test_malformed_client_answer_fails_the_tool() -> None:
    async with connected(asking_server(Probe()), capabilities=ALL_CAPABILITIES) as client:
        params = {"name": "ask", "arguments": {"prompt": "x"}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            assert await client.respond(request["id"], {"role": "assistant"}) == 202
            rest = await rest_of_stream(response)
    assert rest[-1]["result"]["isError"] is True
    assert "invalid sampling/createMessage result" in rest[-1]["result"]["content"][0]["text"]


async def test_unanswered_request_times_out_and_is_cancelled(
    autojump_clock: trio.abc.Clock,
) -> None:
    config = ServerConfig(client_request_timeout=5)  # the one timeout of client requests
    async with connected(
        asking_server(Probe()), capabilities=ALL_CAPABILITIES, config=config
    ) as client:
        start = trio.current_time()
        params = {"name": "ask", "arguments": {"prompt": "x"}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            cancel = await next_message(response)
            rest = await rest_of_stream(response)
        assert trio.current_time() - start == pytest.approx(5)
    assert cancel == {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": request["id"], "reason": "timed out"},
    }
    assert rest[-1]["result"] == {
        "content": [
            {
                "type": "text",
                "text": "The client did not answer sampling/createMessage within 5 seconds",
            }
        ],
        "isError": True,
    }


async def test_json_response_mode_has_no_back_channel() -> None:
    config = ServerConfig(json_response=True)
    async with connected(
        asking_server(Probe()), capabilities=ALL_CAPABILITIES, config=config
    ) as client:
        result = await client.call_tool("ask", {"prompt": "x"})
    assert result["isError"] is True
    assert "sampling/createMessage" in result["content"][0]["text"]


async def test_cancelled_notification_cancels_a_running_tool() -> None:
    probe = Probe()
    async with connected(asking_server(probe)) as client:
        params = {"name": "block", "arguments": {}}
        async with client.open_request("tools/call", params, request_id="call-1") as response:
            await probe.started.wait()
            status = await client.notify(
                "notifications/cancelled", {"requestId": "call-1", "reason": "stop"}
            )
            assert status == 202
            rest = await rest_of_stream(response)
        assert rest == []  # a cancelled request gets no response
        assert probe.cancelled == 1
        assert await client.result("ping") == {}  # the session carries on


async def test_cancelling_a_tool_waiting_on_the_client_cancels_its_request() -> None:
    probe = Probe()
    async with connected(asking_server(probe), capabilities=ALL_CAPABILITIES) as client:
        params = {"name": "ask_and_block", "arguments": {}}
        async with client.open_request("tools/call", params, request_id=77) as response:
            request = await next_message(response)
            assert request["method"] == "sampling/createMessage"
            assert await client.notify("notifications/cancelled", {"requestId": 77}) == 202
            rest = await rest_of_stream(response)
        assert probe.cancelled == 1
    assert rest == [
        {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request["id"], "reason": "cancelled by the server"},
        }
    ]
