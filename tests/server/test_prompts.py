"""Prompts: listing with arguments, rendering, argument errors."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import Field

from tests.server.client import connected
from trio_mcp_http.server import (
    Context,
    EmbeddedResource,
    ImageContent,
    McpServer,
    PromptMessage,
    TextResourceContents,
)


def prompts_server(page_size: int = 50) -> McpServer:
    server = McpServer("prompts", page_size=page_size)

    @server.prompt()
    def simple() -> str:
        """A simple prompt."""
        return "Say hello."

    @server.prompt(description="Review code.", title="Code review")
    async def review(
        code: Annotated[str, Field(description="The code")], style: str = "terse"
    ) -> list[PromptMessage]:
        return [
            PromptMessage.user(f"Review this ({style}):"),
            PromptMessage.user(code),
            PromptMessage.assistant("Sure."),
        ]

    @server.prompt(name="rich")
    def rich_prompt(uri: str, ctx: Context) -> list[Any]:
        """Several content kinds."""
        return [
            EmbeddedResource(
                resource=TextResourceContents(uri=uri, text="doc", mime_type="text/plain")
            ),
            ImageContent(data="AAAA", mime_type="image/png"),
            "Please look at both.",
            {"role": "assistant", "content": {"type": "text", "text": f"ok {ctx.request_id}"}},
        ]

    @server.prompt()
    def numbered(count: int) -> str:
        """Counts."""
        return ", ".join(str(i) for i in range(count))

    @server.prompt()
    def broken() -> int:
        """Returns something that is not a message."""
        return 3

    return server


async def test_prompts_list_with_arguments() -> None:
    async with connected(prompts_server()) as client:
        result = await client.result("prompts/list")
    prompts = {p["name"]: p for p in result["prompts"]}
    assert list(prompts) == ["simple", "review", "rich", "numbered", "broken"]
    assert prompts["simple"] == {
        "name": "simple",
        "description": "A simple prompt.",
        "arguments": [],
    }
    assert prompts["review"] == {
        "name": "review",
        "title": "Code review",
        "description": "Review code.",
        "arguments": [
            {"name": "code", "description": "The code", "required": True},
            {"name": "style", "required": False},
        ],
    }
    assert prompts["rich"]["arguments"] == [{"name": "uri", "required": True}]


async def test_prompts_list_paginates() -> None:
    async with connected(prompts_server(page_size=3)) as client:
        first = await client.result("prompts/list")
        second = await client.result("prompts/list", {"cursor": first["nextCursor"]})
    assert [p["name"] for p in first["prompts"] + second["prompts"]] == [
        "simple",
        "review",
        "rich",
        "numbered",
        "broken",
    ]
    assert "nextCursor" not in second


async def test_get_string_prompt_is_one_user_message() -> None:
    async with connected(prompts_server()) as client:
        result = await client.result("prompts/get", {"name": "simple"})
    assert result == {
        "description": "A simple prompt.",
        "messages": [{"role": "user", "content": {"type": "text", "text": "Say hello."}}],
    }


async def test_get_prompt_with_arguments_and_default() -> None:
    async with connected(prompts_server()) as client:
        result = await client.result(
            "prompts/get", {"name": "review", "arguments": {"code": "x = 1"}}
        )
        styled = await client.result(
            "prompts/get", {"name": "review", "arguments": {"code": "y", "style": "kind"}}
        )
    assert result["messages"] == [
        {"role": "user", "content": {"type": "text", "text": "Review this (terse):"}},
        {"role": "user", "content": {"type": "text", "text": "x = 1"}},
        {"role": "assistant", "content": {"type": "text", "text": "Sure."}},
    ]
    assert styled["messages"][0]["content"]["text"] == "Review this (kind):"


async def test_get_prompt_with_resource_and_image_content() -> None:
    async with connected(prompts_server()) as client:
        result = await client.result(
            "prompts/get", {"name": "rich", "arguments": {"uri": "test://doc"}}
        )
    messages = result["messages"]
    assert messages[0] == {
        "role": "user",
        "content": {
            "type": "resource",
            "resource": {"uri": "test://doc", "text": "doc", "mimeType": "text/plain"},
        },
    }
    assert messages[1] == {
        "role": "user",
        "content": {"type": "image", "data": "AAAA", "mimeType": "image/png"},
    }
    assert messages[2] == {
        "role": "user",
        "content": {"type": "text", "text": "Please look at both."},
    }
    assert messages[3]["role"] == "assistant"
    assert messages[3]["content"]["text"].startswith("ok ")


async def test_arguments_are_converted() -> None:
    async with connected(prompts_server()) as client:
        result = await client.result(
            "prompts/get", {"name": "numbered", "arguments": {"count": "3"}}
        )
    assert result["messages"][0]["content"]["text"] == "0, 1, 2"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"name": "review"}, "code: Field required"),
        ({"name": "review", "arguments": {"style": "x"}}, "code: Field required"),
        ({"name": "numbered", "arguments": {"count": "many"}}, "count"),
        ({"name": "missing"}, "Unknown prompt: missing"),
        ({}, "'name'"),
        ({"name": "review", "arguments": "code"}, "'arguments'"),
    ],
)
async def test_bad_prompt_requests_are_invalid_params(
    params: dict[str, Any], fragment: str
) -> None:
    async with connected(prompts_server()) as client:
        error = await client.error("prompts/get", params)
    assert error["code"] == -32602
    assert fragment in error["message"]


async def test_prompt_returning_garbage_is_an_internal_error() -> None:
    async with connected(prompts_server()) as client:
        error = await client.error("prompts/get", {"name": "broken"})
    assert error["code"] == -32603


def test_prompt_registration_errors() -> None:
    server = McpServer("s")

    def p() -> str:
        return ""

    with pytest.raises(TypeError, match="parentheses"):
        server.prompt(p)  # type: ignore[arg-type]
    server.add_prompt(p)
    with pytest.raises(ValueError, match="already registered"):
        server.add_prompt(p)
    server.remove_prompt("p")
    assert not server.prompts
