"""Tools: schemas, listing and pagination, calls, return conversion, errors, registration."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from tests.server.client import Client, connected
from trio_mcp_http.server import (
    AudioContent,
    BlobResourceContents,
    Context,
    EmbeddedResource,
    ImageContent,
    McpServer,
    ResourceLink,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
    ToolResult,
)

PNG = b"\x89PNG\r\n\x1a\nfake"


class Point(BaseModel):
    x: int
    y: int


class Weather(TypedDict):
    city: str
    celsius: float


def tools_server(page_size: int = 50) -> McpServer:
    server = McpServer("tools", page_size=page_size)

    @server.tool(title="Echo", annotations=ToolAnnotations(read_only_hint=True))
    def echo(text: Annotated[str, Field(description="What to echo")]) -> str:
        """Echo the text back."""
        return text

    @server.tool(description="Add two numbers.", output_schema=True)
    async def add(a: float, b: float = 1.0) -> float:
        return a + b

    @server.tool(output_schema=True)
    def point(x: int, y: int) -> Point:
        """Make a point."""
        return Point(x=x, y=y)

    @server.tool(output_schema=True)
    def weather(city: str) -> Weather:
        """Weather."""
        return {"city": city, "celsius": 21}

    @server.tool(output_schema={"type": "object", "properties": {"n": {"type": "integer"}}})
    def counted() -> dict[str, int]:
        """Counted."""
        return {"n": 3}

    @server.tool()
    async def with_context(word: str, ctx: Context) -> str:
        """Uses the context."""
        return f"{word} from request {ctx.request_id} in {ctx.session_id is not None}"

    @server.tool()
    def image() -> ImageContent:
        """Image."""
        return ImageContent.from_bytes(PNG, "image/png")

    @server.tool()
    def audio() -> AudioContent:
        """Audio."""
        return AudioContent(data="UklGRg==", mime_type="audio/wav")

    @server.tool()
    def embedded() -> EmbeddedResource:
        """Embedded."""
        return EmbeddedResource(
            resource=TextResourceContents(uri="test://e", text="inside", mime_type="text/plain")
        )

    @server.tool()
    def blob() -> EmbeddedResource:
        """Embedded blob."""
        return EmbeddedResource(resource=BlobResourceContents.from_bytes("test://b", b"\x00\x01"))

    @server.tool()
    def link() -> ResourceLink:
        """Link."""
        return ResourceLink(uri="test://l", name="l", mime_type="text/plain")

    @server.tool()
    def mixed() -> list[Any]:
        """Mixed."""
        return ["first", TextContent(text="second"), ImageContent.from_bytes(PNG, "image/png")]

    @server.tool()
    def nothing() -> None:
        """Nothing."""

    @server.tool()
    def as_json() -> dict[str, Any]:
        """A dict without output schema."""
        return {"b": [1, 2], "a": None}

    @server.tool()
    def number() -> int:
        """An int without output schema."""
        return 42

    @server.tool()
    def full() -> ToolResult:
        """Full control."""
        return ToolResult(
            content=[TextContent(text="partial")], structured_content={"k": 1}, is_error=True
        )

    @server.tool()
    def fails(message: str) -> str:
        """Fails."""
        raise RuntimeError(message)

    @server.tool()
    def fails_silently() -> str:
        """Fails with no message."""
        raise KeyError

    @server.tool()
    def shadowing(json: str, schema: int = 0, model_config: bool = False) -> str:
        """Names that BaseModel has too."""
        return f"{json}/{schema}/{model_config}"

    @server.tool(input_schema={"type": "object", "additionalProperties": False, "$defs": {}})
    def verbatim(name: str = "x") -> str:
        """Lists its schema verbatim."""
        return name

    return server


async def list_tools(client: Client) -> dict[str, dict[str, Any]]:
    result = await client.result("tools/list")
    return {tool["name"]: tool for tool in result["tools"]}


async def test_tools_list_describes_each_tool() -> None:
    async with connected(tools_server()) as client:
        tools = await list_tools(client)
    echo = tools["echo"]
    assert echo["description"] == "Echo the text back."
    assert echo["title"] == "Echo"
    assert echo["annotations"] == {"readOnlyHint": True}
    assert echo["inputSchema"] == {
        "type": "object",
        "properties": {"text": {"type": "string", "title": "Text", "description": "What to echo"}},
        "required": ["text"],
    }
    assert "outputSchema" not in echo
    add = tools["add"]
    assert add["description"] == "Add two numbers."
    assert add["inputSchema"]["required"] == ["a"]
    assert add["inputSchema"]["properties"]["b"]["default"] == 1.0
    assert add["outputSchema"] == {
        "type": "object",
        "properties": {"result": {"type": "number"}},
        "required": ["result"],
    }
    assert tools["point"]["outputSchema"]["properties"].keys() == {"x", "y"}
    assert tools["counted"]["outputSchema"] == {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
    }
    assert tools["nothing"]["inputSchema"] == {"type": "object", "properties": {}}
    assert tools["verbatim"]["inputSchema"] == {
        "type": "object",
        "additionalProperties": False,
        "$defs": {},
    }


async def test_context_parameter_is_not_in_the_schema_and_is_injected() -> None:
    async with connected(tools_server()) as client:
        tools = await list_tools(client)
        assert tools["with_context"]["inputSchema"]["properties"].keys() == {"word"}
        result = await client.call_tool("with_context", {"word": "hi"})
    assert result["content"][0]["text"].startswith("hi from request ")
    assert result["content"][0]["text"].endswith(" in True")


async def test_tools_list_paginates_with_opaque_cursors() -> None:
    server = tools_server(page_size=4)
    expected = list(server.tools)
    async with connected(server) as client:
        names: list[str] = []
        params: dict[str, Any] = {}
        pages = 0
        while True:
            result = await client.result("tools/list", params)
            pages += 1
            assert len(result["tools"]) <= 4
            names += [tool["name"] for tool in result["tools"]]
            if "nextCursor" not in result:
                break
            assert isinstance(result["nextCursor"], str)
            params = {"cursor": result["nextCursor"]}
    assert names == expected
    assert pages == -(-len(expected) // 4)


@pytest.mark.parametrize("cursor", ["garbage!", "", "dG9vbHM6LTE=", 7, "cHJvbXB0czo0"])
async def test_invalid_cursor_is_invalid_params(cursor: object) -> None:
    async with connected(tools_server(page_size=4)) as client:
        error = await client.error("tools/list", {"cursor": cursor})
    assert error["code"] == -32602


async def test_text_result() -> None:
    async with connected(tools_server()) as client:
        result = await client.call_tool("echo", {"text": "hello"})
    assert result == {"content": [{"type": "text", "text": "hello"}]}


@pytest.mark.parametrize(
    ("tool", "content"),
    [
        (
            "image",
            [{"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"}],
        ),
        ("audio", [{"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"}]),
        (
            "embedded",
            [
                {
                    "type": "resource",
                    "resource": {"uri": "test://e", "text": "inside", "mimeType": "text/plain"},
                }
            ],
        ),
        ("blob", [{"type": "resource", "resource": {"uri": "test://b", "blob": "AAE="}}]),
        (
            "link",
            [{"type": "resource_link", "uri": "test://l", "name": "l", "mimeType": "text/plain"}],
        ),
        (
            "mixed",
            [
                {"type": "text", "text": "first"},
                {"type": "text", "text": "second"},
                {"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"},
            ],
        ),
        ("nothing", []),
        ("as_json", [{"type": "text", "text": '{"b":[1,2],"a":null}'}]),
        ("number", [{"type": "text", "text": "42"}]),
    ],
)
async def test_content_kinds(tool: str, content: list[dict[str, Any]]) -> None:
    async with connected(tools_server()) as client:
        result = await client.call_tool(tool)
    assert result == {"content": content}


async def test_structured_output_wraps_non_objects() -> None:
    async with connected(tools_server()) as client:
        result = await client.call_tool("add", {"a": 1.5, "b": 2})
    assert result == {
        "content": [{"type": "text", "text": "3.5"}],
        "structuredContent": {"result": 3.5},
    }


async def test_structured_output_of_models_typed_dicts_and_given_schemas() -> None:
    async with connected(tools_server()) as client:
        point = await client.call_tool("point", {"x": 1, "y": 2})
        weather = await client.call_tool("weather", {"city": "Lyon"})
        counted = await client.call_tool("counted")
    assert point == {
        "content": [{"type": "text", "text": '{"x":1,"y":2}'}],
        "structuredContent": {"x": 1, "y": 2},
    }
    assert weather["structuredContent"] == {"city": "Lyon", "celsius": 21.0}
    assert counted["structuredContent"] == {"n": 3}


async def test_tool_result_is_used_as_is() -> None:
    async with connected(tools_server()) as client:
        result = await client.call_tool("full")
    assert result == {
        "content": [{"type": "text", "text": "partial"}],
        "structuredContent": {"k": 1},
        "isError": True,
    }


async def test_arguments_are_converted_by_the_schema() -> None:
    async with connected(tools_server()) as client:
        result = await client.call_tool("add", {"a": "2", "b": "0.5"})
    assert result["structuredContent"] == {"result": 2.5}


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [({}, "a: Field required"), ({"a": "two"}, "a: Input should be a valid number")],
)
async def test_validation_error_is_an_error_result(
    arguments: dict[str, Any], fragment: str
) -> None:
    async with connected(tools_server()) as client:
        result = await client.call_tool("add", arguments)
    assert result["isError"] is True
    assert result["content"][0]["type"] == "text"
    assert "Invalid arguments for tool 'add'" in result["content"][0]["text"]
    assert fragment in result["content"][0]["text"]


async def test_tool_exception_is_an_error_result() -> None:
    async with connected(tools_server()) as client:
        result = await client.call_tool("fails", {"message": "the disk is on fire"})
        silent = await client.call_tool("fails_silently")
    assert result == {"content": [{"type": "text", "text": "the disk is on fire"}], "isError": True}
    assert silent == {"content": [{"type": "text", "text": "KeyError"}], "isError": True}


async def test_unknown_tool_is_invalid_params() -> None:
    async with connected(tools_server()) as client:
        error = await client.error("tools/call", {"name": "nope", "arguments": {}})
    assert error["code"] == -32602
    assert error["message"] == "Unknown tool: nope"


@pytest.mark.parametrize(
    "params", [{"arguments": {}}, {"name": 3}, {"name": "echo", "arguments": [1]}]
)
async def test_malformed_call_params_are_invalid_params(params: dict[str, Any]) -> None:
    async with connected(tools_server()) as client:
        error = await client.error("tools/call", params)
    assert error["code"] == -32602


async def test_sync_and_async_tools_both_run() -> None:
    async with connected(tools_server()) as client:
        sync = await client.call_tool("echo", {"text": "sync"})
        async_ = await client.call_tool("add", {"a": 1})
    assert sync["content"][0]["text"] == "sync"
    assert async_["structuredContent"] == {"result": 2.0}


async def test_parameters_named_like_model_attributes() -> None:
    async with connected(tools_server()) as client:
        tools = await list_tools(client)
        result = await client.call_tool(
            "shadowing", {"json": "j", "schema": 5, "model_config": True}
        )
    schema = tools["shadowing"]["inputSchema"]
    assert schema["properties"].keys() == {"json", "schema", "model_config"}
    assert schema["required"] == ["json"]
    assert result["content"][0]["text"] == "j/5/True"


async def test_wrong_structured_return_is_an_error_result() -> None:
    server = McpServer("s")

    @server.tool(output_schema=True)
    def bad() -> int:
        """Returns the wrong type."""
        return "not a number"  # type: ignore[return-value]

    async with connected(server) as client:
        result = await client.call_tool("bad")
    assert result["isError"] is True
    assert "valid integer" in result["content"][0]["text"]


def test_registration_errors() -> None:
    server = McpServer("s")

    def ok() -> int:
        return 1

    with pytest.raises(TypeError, match="parentheses"):
        server.tool(ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid tool name"):
        server.add_tool(ok, "has space")
    with pytest.raises(ValueError, match="invalid tool name"):
        server.add_tool(ok, "x" * 129)
    server.add_tool(ok)
    with pytest.raises(ValueError, match="already registered"):
        server.add_tool(ok)

    def star(*args: int) -> None: ...

    with pytest.raises(TypeError, match="keyword"):
        server.add_tool(star)

    def no_annotation():  # type: ignore[no-untyped-def]  # noqa: ANN202
        return 1

    with pytest.raises(TypeError, match="return annotation"):
        server.add_tool(no_annotation, output_schema=True)
    with pytest.raises(ValueError, match="type 'object'"):
        server.add_tool(ok, "other", output_schema={"type": "array"})

    def two(a: Context, b: Context) -> None: ...

    with pytest.raises(TypeError, match="more than one Context"):
        server.add_tool(two)
    assert list(server.tools) == ["ok"]
    server.remove_tool("ok")
    assert not server.tools
