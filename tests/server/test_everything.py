"""examples/everything_server.py exposes the conformance suite's fixtures exactly."""

from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import trio

from tests.server.client import Client, connected, next_message, rest_of_stream, serving
from trio_mcp_http.testing import asgi_request

if TYPE_CHECKING:
    from trio_mcp_http import ServerConfig
    from trio_mcp_http.server import McpServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "everything_server.py"
EMPTY_SCHEMA = {"type": "object", "properties": {}}
CLIENT_CAPS: dict[str, Any] = {"sampling": {}, "elicitation": {}}


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("everything_server", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


def everything(example: ModuleType) -> McpServer:
    server: McpServer = example.build_everything_server()
    return server


async def test_capabilities_and_server_info(example: ModuleType) -> None:
    async with serving(everything(example)) as app:
        result = await Client(app).initialize(capabilities=CLIENT_CAPS)
    assert result["capabilities"] == {
        "tools": {"listChanged": True},
        "resources": {"subscribe": True, "listChanged": True},
        "prompts": {"listChanged": True},
        "logging": {},
        "completions": {},
    }
    assert result["serverInfo"] == {"name": "mcp-conformance-test-server", "version": "1.0.0"}


async def test_tools_list(example: ModuleType) -> None:
    async with connected(everything(example)) as client:
        tools = {t["name"]: t for t in (await client.result("tools/list"))["tools"]}
    assert set(tools) == {
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_tool_with_progress",
        "test_error_handling",
        "test_reconnection",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "json_schema_2020_12_tool",
        # the 2026-07-28 scenarios' (examples/everything_2026.py)
        "test_missing_capability",
        "test_streaming_elicitation",
        "test_logging_tool",
        "test_trigger_tool_change",
        "test_trigger_prompt_change",
        "test_header_param",
        "test_input_required_result_elicitation",
        "test_input_required_result_sampling",
        "test_input_required_result_list_roots",
        "test_input_required_result_request_state",
        "test_input_required_result_multiple_inputs",
        "test_input_required_result_multi_round",
        "test_input_required_result_tampered_state",
        "test_input_required_result_capabilities",
    }
    for tool in tools.values():
        assert tool["description"]
        assert tool["inputSchema"]["type"] == "object"
    for name in (
        "test_simple_text",
        "test_image_content",
        "test_error_handling",
        "test_reconnection",
    ):
        assert tools[name]["inputSchema"] == EMPTY_SCHEMA
    sampling = tools["test_sampling"]["inputSchema"]
    assert sampling["properties"]["prompt"]["type"] == "string"
    assert sampling["required"] == ["prompt"]
    assert tools["test_elicitation"]["inputSchema"]["required"] == ["message"]
    assert (
        tools["json_schema_2020_12_tool"]["inputSchema"] == example.JSON_SCHEMA_2020_12_INPUT_SCHEMA
    )


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        (
            "test_simple_text",
            [{"type": "text", "text": "This is a simple text response for testing."}],
        ),
        (
            "test_embedded_resource",
            [
                {
                    "type": "resource",
                    "resource": {
                        "uri": "test://embedded-resource",
                        "mimeType": "text/plain",
                        "text": "This is an embedded resource content.",
                    },
                }
            ],
        ),
    ],
)
async def test_exact_tool_results(
    example: ModuleType, tool: str, expected: list[dict[str, Any]]
) -> None:
    async with connected(everything(example)) as client:
        result = await client.call_tool(tool)
    assert result == {"content": expected}


async def test_media_tools(example: ModuleType) -> None:
    async with connected(everything(example)) as client:
        image = (await client.call_tool("test_image_content"))["content"]
        audio = (await client.call_tool("test_audio_content"))["content"]
        mixed = (await client.call_tool("test_multiple_content_types"))["content"]
    assert image == [{"type": "image", "data": example.TEST_IMAGE_BASE64, "mimeType": "image/png"}]
    assert base64.b64decode(image[0]["data"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert audio[0]["type"] == "audio"
    assert audio[0]["mimeType"] == "audio/wav"
    wav = base64.b64decode(audio[0]["data"])
    assert wav[:4] == b"RIFF"
    assert wav[8:12] == b"WAVE"
    assert [block["type"] for block in mixed] == ["text", "image", "resource"]
    assert mixed[0]["text"] == "Multiple content types test:"
    assert mixed[2]["resource"] == {
        "uri": "test://mixed-content-resource",
        "mimeType": "application/json",
        "text": '{"test":"data","value":123}',
    }


async def test_error_handling_is_an_error_result(example: ModuleType) -> None:
    async with connected(everything(example)) as client:
        result = await client.call_tool("test_error_handling")
    assert result == {
        "content": [
            {"type": "text", "text": "This tool intentionally returns an error for testing"}
        ],
        "isError": True,
    }


async def test_logging_tool_respects_the_level(
    example: ModuleType, autojump_clock: trio.abc.Clock
) -> None:
    async with connected(everything(example)) as client:
        assert await client.result("logging/setLevel", {"level": "debug"}) == {}
        messages = await client.exchange(
            "tools/call", {"name": "test_tool_with_logging", "arguments": {}}
        )
        assert await client.result("logging/setLevel", {"level": "warning"}) == {}
        quiet = await client.exchange(
            "tools/call", {"name": "test_tool_with_logging", "arguments": {}}
        )
    logs = [m["params"] for m in messages if m.get("method") == "notifications/message"]
    assert logs == [
        {"level": "info", "data": "Tool execution started"},
        {"level": "info", "data": "Tool processing data"},
        {"level": "info", "data": "Tool execution completed"},
    ]
    assert "result" in messages[-1]
    assert len(quiet) == 1


async def test_progress_tool(example: ModuleType, autojump_clock: trio.abc.Clock) -> None:
    async with connected(everything(example)) as client:
        params = {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": 3}}
        messages = await client.exchange("tools/call", params)
        without = await client.exchange(
            "tools/call", {"name": "test_tool_with_progress", "arguments": {}}
        )
    progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    assert [(p["progressToken"], p["progress"], p["total"]) for p in progress] == [
        (3, 0, 100),
        (3, 50, 100),
        (3, 100, 100),
    ]
    assert messages[-1]["result"]["content"][0]["text"]
    assert len(without) == 1


async def test_sampling_tool(example: ModuleType) -> None:
    async with connected(everything(example), capabilities=CLIENT_CAPS) as client:
        params = {"name": "test_sampling", "arguments": {"prompt": "Hello?"}}
        async with client.open_request("tools/call", params) as response:
            request = await next_message(response)
            assert request["method"] == "sampling/createMessage"
            assert request["params"] == {
                "messages": [{"role": "user", "content": {"type": "text", "text": "Hello?"}}],
                "maxTokens": 100,
            }
            answer = {"role": "assistant", "content": {"type": "text", "text": "Hi!"}, "model": "x"}
            assert await client.respond(request["id"], answer) == 202
            rest = await rest_of_stream(response)
    assert rest[-1]["result"] == {"content": [{"type": "text", "text": "LLM response: Hi!"}]}


async def elicit(
    client: Client, tool: str, arguments: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    async with client.open_request(
        "tools/call", {"name": tool, "arguments": arguments}
    ) as response:
        request = await next_message(response)
        assert request["method"] == "elicitation/create"
        answer = {"action": "accept", "content": {"username": "u", "email": "e@x"}}
        assert await client.respond(request["id"], answer) == 202
        rest = await rest_of_stream(response)
    text: str = rest[-1]["result"]["content"][0]["text"]
    params: dict[str, Any] = request["params"]
    return params, text


async def test_elicitation_tools(example: ModuleType) -> None:
    async with connected(everything(example), capabilities=CLIENT_CAPS) as client:
        basic, basic_text = await elicit(client, "test_elicitation", {"message": "Who?"})
        defaults, _ = await elicit(client, "test_elicitation_sep1034_defaults", {})
        enums, enums_text = await elicit(client, "test_elicitation_sep1330_enums", {})
    assert basic["message"] == "Who?"
    assert basic["requestedSchema"]["required"] == ["username", "email"]
    assert basic_text == 'User response: action=accept, content={"username":"u","email":"e@x"}'
    properties = defaults["requestedSchema"]["properties"]
    assert {name: (p["type"], p["default"]) for name, p in properties.items()} == {
        "name": ("string", "John Doe"),
        "age": ("integer", 30),
        "score": ("number", 95.5),
        "status": ("string", "active"),
        "verified": ("boolean", True),
    }
    assert properties["status"]["enum"] == ["active", "inactive", "pending"]
    enum_props = enums["requestedSchema"]["properties"]
    assert "oneOf" not in enum_props["untitledSingle"]
    assert "enum" not in enum_props["titledSingle"]
    assert len(enum_props["legacyEnum"]["enum"]) == len(enum_props["legacyEnum"]["enumNames"])
    assert "anyOf" not in enum_props["untitledMulti"]["items"]
    assert "enum" not in enum_props["titledMulti"]["items"]
    assert enums_text.startswith("Elicitation completed: action=accept")


async def test_json_schema_2020_12_tool_is_callable(example: ModuleType) -> None:
    async with connected(everything(example)) as client:
        result = await client.call_tool(
            "json_schema_2020_12_tool", {"name": "n", "address": {"city": "Paris"}}
        )
    assert result["content"][0]["text"] == (
        'JSON Schema 2020-12 tool called with: {"name":"n","address":{"city":"Paris"}}'
    )


async def test_reconnection_tool_completes_after_resuming(
    example: ModuleType, autojump_clock: trio.abc.Clock
) -> None:
    async with connected(everything(example), config=example.everything_config()) as client:
        async with client.open_request(
            "tools/call", {"name": "test_reconnection", "arguments": {}}
        ) as response:
            events = await response.events()  # the connection is closed mid-call
        assert events[0].data == ""  # priming event
        assert all(not e.data for e in events)  # no response on the first connection
        last_id = [e.id for e in events if e.id][-1]
        assert client.session_id is not None
        headers = [
            ("accept", "text/event-stream"),
            ("mcp-session-id", client.session_id),
            ("mcp-protocol-version", client.version),
            ("last-event-id", last_id),
        ]
        async with asgi_request(client.app, "GET", headers=headers) as resumed:
            assert resumed.status == 200
            message = await next_message(resumed)
    assert message["result"] == {
        "content": [{"type": "text", "text": "Reconnection test completed"}]
    }


async def test_resources(example: ModuleType) -> None:
    async with connected(everything(example)) as client:
        listed = (await client.result("resources/list"))["resources"]
        templates = (await client.result("resources/templates/list"))["resourceTemplates"]
        text = (await client.result("resources/read", {"uri": "test://static-text"}))["contents"]
        blob = (await client.result("resources/read", {"uri": "test://static-binary"}))["contents"]
        item = (await client.result("resources/read", {"uri": "test://template/123/data"}))[
            "contents"
        ]
        watched = (await client.result("resources/read", {"uri": "test://watched-resource"}))[
            "contents"
        ]
        assert await client.result("resources/subscribe", {"uri": "test://watched-resource"}) == {}
        assert (
            await client.result("resources/unsubscribe", {"uri": "test://watched-resource"}) == {}
        )
    assert [(r["uri"], r["mimeType"]) for r in listed] == [
        ("test://static-text", "text/plain"),
        ("test://static-binary", "image/png"),
        ("test://watched-resource", "text/plain"),
    ]
    assert all(r["name"] and r["description"] for r in listed)
    assert templates == [
        {
            "uriTemplate": "test://template/{id}/data",
            "name": "template",
            "title": "Resource Template",
            "description": "A resource template with parameter substitution",
            "mimeType": "application/json",
        }
    ]
    assert text == [
        {
            "uri": "test://static-text",
            "mimeType": "text/plain",
            "text": "This is the content of the static text resource.",
        }
    ]
    assert blob == [
        {"uri": "test://static-binary", "mimeType": "image/png", "blob": example.TEST_IMAGE_BASE64}
    ]
    assert item == [
        {
            "uri": "test://template/123/data",
            "mimeType": "application/json",
            "text": '{"id":"123","templateTest":true,"data":"Data for ID: 123"}',
        }
    ]
    assert watched[0]["text"] == "Watched resource content"


async def test_watched_resource_updates(
    example: ModuleType, autojump_clock: trio.abc.Clock
) -> None:
    server = everything(example)
    async with (
        connected(server) as client,
        client.open_get_stream() as stream,
        trio.open_nursery() as nursery,
    ):
        await client.result("resources/subscribe", {"uri": "test://watched-resource"})
        nursery.start_soon(example.update_watched_resource, server)
        start = trio.current_time()
        message = await next_message(stream)
        assert trio.current_time() - start == 3.0
        nursery.cancel_scope.cancel()
    assert message["params"] == {"uri": "test://watched-resource"}


async def test_prompts(example: ModuleType) -> None:
    async with connected(everything(example)) as client:
        prompts = {p["name"]: p for p in (await client.result("prompts/list"))["prompts"]}
        simple = await client.result("prompts/get", {"name": "test_simple_prompt"})
        args = await client.result(
            "prompts/get",
            {
                "name": "test_prompt_with_arguments",
                "arguments": {"arg1": "testValue1", "arg2": "testValue2"},
            },
        )
        embedded = await client.result(
            "prompts/get",
            {
                "name": "test_prompt_with_embedded_resource",
                "arguments": {"resourceUri": "test://example-resource"},
            },
        )
        image = await client.result("prompts/get", {"name": "test_prompt_with_image"})
    assert set(prompts) == {
        "test_simple_prompt",
        "test_prompt_with_arguments",
        "test_prompt_with_embedded_resource",
        "test_prompt_with_image",
        "test_input_required_result_prompt",
    }
    assert all(p["description"] for p in prompts.values())
    assert [
        (a["name"], a["required"]) for a in prompts["test_prompt_with_arguments"]["arguments"]
    ] == [
        ("arg1", True),
        ("arg2", True),
    ]
    assert prompts["test_prompt_with_embedded_resource"]["arguments"][0]["name"] == "resourceUri"
    assert simple["messages"] == [
        {
            "role": "user",
            "content": {"type": "text", "text": "This is a simple prompt for testing."},
        }
    ]
    assert (
        args["messages"][0]["content"]["text"]
        == "Prompt with arguments: arg1='testValue1', arg2='testValue2'"
    )
    assert embedded["messages"] == [
        {
            "role": "user",
            "content": {
                "type": "resource",
                "resource": {
                    "uri": "test://example-resource",
                    "mimeType": "text/plain",
                    "text": "Embedded resource content for testing.",
                },
            },
        },
        {
            "role": "user",
            "content": {"type": "text", "text": "Please process the embedded resource above."},
        },
    ]
    assert image["messages"][0]["content"] == {
        "type": "image",
        "data": example.TEST_IMAGE_BASE64,
        "mimeType": "image/png",
    }
    assert image["messages"][1]["content"]["text"] == "Please analyze the image above."


async def test_completion(example: ModuleType) -> None:
    async with connected(everything(example)) as client:
        result = await client.result(
            "completion/complete",
            {
                "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                "argument": {"name": "arg1", "value": "test"},
            },
        )
    assert result["completion"]["values"] == ["test", "testValue1", "testValue2"]
    assert result["completion"]["hasMore"] is False


def test_everything_config_is_resumable(example: ModuleType) -> None:
    config: ServerConfig = example.everything_config()
    assert config.event_store is not None
    assert config.retry_interval < 5
