"""Resources: listing, reading text and blobs, templates, errors, subscriptions."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.server.client import Client, connected, next_message, serving
from trio_mcp_http.server import Context, McpServer, TextResourceContents


def resources_server(page_size: int = 50) -> McpServer:
    server = McpServer("resources", page_size=page_size)

    @server.resource("test://text", description="Some text.", mime_type="text/plain")
    def text() -> str:
        return "plain text"

    @server.resource("test://blob", name="binary", mime_type="image/png", title="A blob")
    async def blob() -> bytes:
        """Some bytes."""
        return b"\x89PNG\x00\xff"

    @server.resource("test://untyped")
    def untyped() -> bytes:
        return b"\x01"

    @server.resource("test://json")
    def as_json() -> dict[str, Any]:
        return {"a": 1}

    @server.resource("test://many")
    def many(ctx: Context) -> list[TextResourceContents]:
        return [
            TextResourceContents(uri="test://many#1", text="one"),
            TextResourceContents(uri="test://many#2", text=f"two for {ctx.request_id}"),
        ]

    @server.resource("test://template/{id}/data", mime_type="application/json")
    def item(id: int, ctx: Context) -> str:
        """Items by id."""
        return f'{{"id": {id}}}'

    @server.resource("file:///{+path}")
    def file(path: str) -> str:
        return f"contents of {path}"

    @server.resource("test://fails")
    def fails() -> str:
        raise RuntimeError("secret detail")

    return server


async def test_resources_list() -> None:
    async with connected(resources_server()) as client:
        result = await client.result("resources/list")
    resources = {r["uri"]: r for r in result["resources"]}
    assert list(resources) == [
        "test://text",
        "test://blob",
        "test://untyped",
        "test://json",
        "test://many",
        "test://fails",
    ]
    assert resources["test://text"] == {
        "uri": "test://text",
        "name": "text",
        "description": "Some text.",
        "mimeType": "text/plain",
    }
    assert resources["test://blob"] == {
        "uri": "test://blob",
        "name": "binary",
        "title": "A blob",
        "description": "Some bytes.",
        "mimeType": "image/png",
    }
    assert "nextCursor" not in result


async def test_resources_list_paginates() -> None:
    async with connected(resources_server(page_size=4)) as client:
        first = await client.result("resources/list")
        second = await client.result("resources/list", {"cursor": first["nextCursor"]})
        bad = await client.error("resources/list", {"cursor": "nonsense"})
    assert len(first["resources"]) == 4
    assert [r["uri"] for r in second["resources"]] == ["test://many", "test://fails"]
    assert "nextCursor" not in second
    assert bad["code"] == -32602


async def test_resource_templates_list() -> None:
    async with connected(resources_server()) as client:
        result = await client.result("resources/templates/list")
    assert result["resourceTemplates"] == [
        {
            "uriTemplate": "test://template/{id}/data",
            "name": "item",
            "description": "Items by id.",
            "mimeType": "application/json",
        },
        {"uriTemplate": "file:///{+path}", "name": "file"},
    ]


async def read(client: Client, uri: str) -> list[dict[str, Any]]:
    result = await client.result("resources/read", {"uri": uri})
    contents: list[dict[str, Any]] = result["contents"]
    return contents


async def test_read_text_and_blob() -> None:
    async with connected(resources_server()) as client:
        text = await read(client, "test://text")
        blob = await read(client, "test://blob")
        untyped = await read(client, "test://untyped")
    assert text == [{"uri": "test://text", "mimeType": "text/plain", "text": "plain text"}]
    assert blob[0]["uri"] == "test://blob"
    assert blob[0]["mimeType"] == "image/png"
    assert base64.b64decode(blob[0]["blob"]) == b"\x89PNG\x00\xff"
    assert untyped == [
        {"uri": "test://untyped", "mimeType": "application/octet-stream", "blob": "AQ=="}
    ]


async def test_read_json_and_several_contents() -> None:
    async with connected(resources_server()) as client:
        as_json = await read(client, "test://json")
        many = await read(client, "test://many")
    assert as_json == [{"uri": "test://json", "mimeType": "application/json", "text": '{"a":1}'}]
    assert [c["uri"] for c in many] == ["test://many#1", "test://many#2"]
    assert many[1]["text"].startswith("two for ")


async def test_read_template_converts_variables() -> None:
    async with connected(resources_server()) as client:
        contents = await read(client, "test://template/123/data")
        error = await client.error("resources/read", {"uri": "test://template/abc/data"})
    assert contents == [
        {"uri": "test://template/123/data", "mimeType": "application/json", "text": '{"id": 123}'}
    ]
    assert error["code"] == -32602
    assert error["data"] == {"uri": "test://template/abc/data"}
    assert "id" in error["message"]


async def test_reserved_expansion_matches_slashes_and_decodes() -> None:
    async with connected(resources_server()) as client:
        contents = await read(client, "file:///etc/a%20b.txt")
    assert contents[0]["text"] == "contents of etc/a b.txt"


@pytest.mark.parametrize("uri", ["test://nope", "test://template/1/2/data", "test://text/"])
async def test_unknown_uri_is_invalid_params_with_the_uri(uri: str) -> None:
    async with connected(resources_server()) as client:
        error = await client.error("resources/read", {"uri": uri})
    assert error["code"] == -32602
    assert error["data"] == {"uri": uri}
    assert uri in error["message"]


async def test_failing_reader_is_an_internal_error_without_details() -> None:
    async with connected(resources_server()) as client:
        error = await client.error("resources/read", {"uri": "test://fails"})
    assert error["code"] == -32603
    assert "secret" not in error["message"]


async def test_subscribe_then_updated_arrives_on_the_get_stream() -> None:
    server = resources_server()
    async with serving(server) as app:
        watcher, bystander = Client(app), Client(app)
        await watcher.initialize()
        await bystander.initialize()
        async with watcher.open_get_stream() as watch, bystander.open_get_stream() as other:
            assert await watcher.result("resources/subscribe", {"uri": "test://text"}) == {}
            await server.notify_resource_updated("test://text")
            await server.notify_resource_updated("test://blob")  # nobody subscribed
            message = await next_message(watch)
            assert message == {
                "jsonrpc": "2.0",
                "method": "notifications/resources/updated",
                "params": {"uri": "test://text"},
            }
            # The bystander got nothing: the first thing it sees is a later broadcast.
            await server.notify_tools_changed()
            assert (await next_message(other))["method"] == "notifications/tools/list_changed"
            assert (await next_message(watch))["method"] == "notifications/tools/list_changed"

            assert await watcher.result("resources/unsubscribe", {"uri": "test://text"}) == {}
            await server.notify_resource_updated("test://text")
            await server.notify_prompts_changed()
            assert (await next_message(watch))["method"] == "notifications/prompts/list_changed"


async def test_subscribe_needs_a_uri() -> None:
    async with connected(resources_server()) as client:
        error = await client.error("resources/subscribe", {})
    assert error["code"] == -32602


async def test_updates_without_a_get_stream_are_dropped_not_queued() -> None:
    server = resources_server()
    async with connected(server) as client:
        await client.result("resources/subscribe", {"uri": "test://text"})
        await server.notify_resource_updated("test://text")  # no GET stream: dropped
        async with client.open_get_stream() as stream:
            await server.notify_tools_changed()
            assert (await next_message(stream))["method"] == "notifications/tools/list_changed"


def test_resource_registration_errors() -> None:
    server = McpServer("s")

    def static(x: int) -> str:
        return str(x)

    with pytest.raises(TypeError, match="takes no arguments"):
        server.add_resource(static, "test://static")
    with pytest.raises(TypeError, match="no parameter for template variables"):
        server.add_resource(static, "test://{y}")

    def two(x: int, y: int) -> str:
        return str(x + y)

    with pytest.raises(TypeError, match="not in"):
        server.add_resource(two, "test://{x}")
    with pytest.raises(ValueError, match="unbalanced"):
        server.add_resource(static, "test://{x")
    with pytest.raises(TypeError, match="parentheses"):
        server.resource(static)  # type: ignore[arg-type]
    server.add_resource(static, "test://{x}")
    with pytest.raises(ValueError, match="already registered"):
        server.add_resource(static, "test://{x}")

    def plain() -> str:
        return ""

    server.add_resource(plain, "test://plain")
    with pytest.raises(ValueError, match="already registered"):
        server.add_resource(plain, "test://plain")
    server.remove_resource("test://plain")
    server.remove_resource("test://{x}")
    assert not server.resources
    assert not server.resource_templates
