"""Unit tests of the pieces: URI templates, cursors, signatures, content models, levels,
completion results, and the Context against fake transport contexts."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from tests.server.fakes import FakeRequest, FakeSession, request
from trio_mcp_http import JsonRpcError
from trio_mcp_http._core.levels import level_enabled
from trio_mcp_http.server import (
    BlobResourceContents,
    CapabilityNotNegotiated,
    Context,
    ImageContent,
    McpServer,
    McpSessionHandler,
    PromptMessage,
    SamplingResult,
    ToolAnnotations,
    ToolResult,
    UriTemplate,
)
from trio_mcp_http.server._completion import completion_result
from trio_mcp_http.server._content import dump
from trio_mcp_http.server._pagination import decode_cursor, encode_cursor, paginate
from trio_mcp_http.server._signature import inspect_function

# -- URI templates ---------------------------------------------------------------------------


def test_template_matches_simple_and_reserved_expansions() -> None:
    template = UriTemplate.parse("test://users/{user}/files/{+path}")
    assert template.variables == ("user", "path")
    assert template.reserved == (False, True)
    assert template.match("test://users/ada/files/a/b.txt") == {"user": "ada", "path": "a/b.txt"}
    assert template.match("test://users/a/d/files/x") is None  # {user} is one segment
    assert template.match("test://users//files/x") is None  # expansions are not empty
    assert template.match("test://users/ada/files/") is None
    assert template.match("test://users/ada%20l/files/x") == {"user": "ada l", "path": "x"}


def test_template_literals_are_not_regex() -> None:
    template = UriTemplate.parse("a.b+c://{x}?q=1")
    assert template.match("a.b+c://1?q=1") == {"x": "1"}
    assert template.match("aXb+c://1?q=1") is None


@pytest.mark.parametrize(
    "bad",
    [
        "test://{x",
        "test://x}",
        "test://{x}{y}",
        "test://{x}/{x}",
        "test://{?x}",
        "test://{x,y}",
        "test://{1x}",
        "test://plain",
        "test://{}",
    ],
)
def test_malformed_templates_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match=r"URI template|expression|variable|braces|ambiguous"):
        UriTemplate.parse(bad)


@given(st.text(min_size=1), st.text(min_size=1))
def test_expand_then_match_round_trips(user: str, path: str) -> None:
    template = UriTemplate.parse("test://u/{user}/p/{+path}")
    uri = template.expand({"user": user, "path": path})
    assert "/" not in uri[len("test://u/") : uri.index("/p/", len("test://u/"))]
    assert template.match(uri) == {"user": user, "path": path}


# -- cursors ---------------------------------------------------------------------------------


@given(
    st.sampled_from(["tools", "prompts", "resources"]), st.integers(min_value=0, max_value=10**9)
)
def test_cursor_round_trip(kind: str, offset: int) -> None:
    assert decode_cursor(kind, encode_cursor(kind, offset)) == offset


@given(st.text())
def test_decode_cursor_never_crashes(cursor: str) -> None:
    error: JsonRpcError | None = None
    try:
        offset = decode_cursor("tools", cursor)
    except JsonRpcError as exc:
        error = exc
    if error is None:
        assert encode_cursor("tools", offset) == cursor  # only canonical cursors decode
    else:
        assert (error.code, error.data) == (-32602, {"cursor": cursor})


def test_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(JsonRpcError):
        decode_cursor("tools", encode_cursor("prompts", 3))


def test_paginate_pages_and_past_the_end() -> None:
    items = list(range(5))
    page, cursor = paginate("x", items, {}, 2)
    assert (list(page), cursor) == ([0, 1], encode_cursor("x", 2))
    page, cursor = paginate("x", items, {"cursor": encode_cursor("x", 4)}, 2)
    assert (list(page), cursor) == ([4], None)
    page, cursor = paginate("x", items, {"cursor": encode_cursor("x", 50)}, 2)
    assert (list(page), cursor) == ([], None)


# -- signatures ------------------------------------------------------------------------------


def test_signature_schema_descriptions_defaults_and_context() -> None:
    def fn(
        ctx: Context,
        city: Annotated[str, Field(description="Where")],
        days: int = 3,
        *,
        units: str = "metric",
    ) -> None: ...

    signature = inspect_function(fn, "fnArgs")
    assert signature.context_param == "ctx"
    assert signature.names == ("city", "days", "units")
    schema = signature.json_schema()
    assert schema["required"] == ["city"]
    assert schema["properties"]["city"]["description"] == "Where"
    assert schema["properties"]["days"]["default"] == 3
    assert "title" not in schema
    assert signature.validate({"city": "Oslo", "extra": 1}) == {
        "city": "Oslo",
        "days": 3,
        "units": "metric",
    }


def test_signature_rejects_positional_only_and_unresolvable_annotations() -> None:
    def positional(a: int, /) -> None: ...

    with pytest.raises(TypeError, match="keyword"):
        inspect_function(positional, "p")

    def unresolvable(a: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        ...

    with pytest.raises(TypeError, match="cannot resolve"):
        inspect_function(unresolvable, "u")


# -- content models --------------------------------------------------------------------------


def test_content_models_use_wire_names_both_ways() -> None:
    image = ImageContent.from_bytes(b"\x00\x01", "image/png")
    assert dump(image) == {"type": "image", "data": "AAE=", "mimeType": "image/png"}
    assert ImageContent.model_validate({"data": "AAE=", "mimeType": "image/png"}) == image
    blob = BlobResourceContents.from_bytes("test://b", b"x", "text/plain")
    assert dump(blob) == {"uri": "test://b", "blob": "eA==", "mimeType": "text/plain"}
    assert dump(PromptMessage.assistant("hi")) == {
        "role": "assistant",
        "content": {"type": "text", "text": "hi"},
    }
    assert dump(ToolAnnotations(destructive_hint=False, title="T")) == {
        "title": "T",
        "destructiveHint": False,
    }
    assert ToolResult(content=[]).to_result() == {"content": []}


def test_sampling_result_text() -> None:
    single = SamplingResult.model_validate(
        {"role": "assistant", "content": {"type": "text", "text": "a"}, "model": "m"}
    )
    several = SamplingResult.model_validate(
        {
            "role": "assistant",
            "content": [
                {"type": "image", "data": "", "mimeType": "image/png"},
                {"type": "text", "text": "b"},
            ],
            "model": "m",
            "stopReason": "endTurn",
        }
    )
    none = SamplingResult.model_validate({"role": "assistant", "content": [], "model": "m"})
    assert (single.text, several.text, none.text) == ("a", "b", None)
    assert several.stop_reason == "endTurn"


# -- levels and completions ------------------------------------------------------------------


def test_level_order() -> None:
    assert level_enabled("error", "warning")
    assert level_enabled("warning", "warning")
    assert not level_enabled("info", "warning")
    assert level_enabled("emergency", "debug")


def test_completion_result_caps_values() -> None:
    assert completion_result(str(i) for i in range(101)) == {
        "completion": {"values": [str(i) for i in range(100)], "total": 101, "hasMore": True}
    }


# -- Context over fake transport contexts ----------------------------------------------------


async def initialized(capabilities: dict[str, Any]) -> tuple[McpSessionHandler, FakeSession]:
    session = FakeSession(protocol_version="2025-06-18")  # negotiated by the transport
    handler = McpServer("s").open_session(session)
    params = {
        "protocolVersion": "2025-06-18",
        "capabilities": capabilities,
        "clientInfo": {"name": "c"},
    }
    await handler.handle_request(request("initialize", params), FakeRequest(session))
    return handler, session


async def test_context_exposes_request_and_session() -> None:
    handler, session = await initialized({"roots": {}})
    fake = FakeRequest(session, request_id="r-9")
    ctx = Context(handler, fake, {"progressToken": "t", "other": 1})
    assert ctx.request_id == "r-9"
    assert ctx.session_id == "s1"
    assert ctx.protocol_version == "2025-06-18"
    assert ctx.client_capabilities == {"roots": {}}
    assert ctx.client_info == {"name": "c"}
    assert ctx.progress_token == "t"
    assert ctx.meta == {"progressToken": "t", "other": 1}
    assert ctx.log_level == "info"
    assert ctx.server is handler.server
    assert ctx.session is session
    assert ctx.request_context is fake
    ctx.close_sse_stream()
    assert fake.closed_connections == 1


async def test_context_requests_check_capabilities_before_sending() -> None:
    handler, session = await initialized({"roots": {}})
    fake = FakeRequest(
        session, answers={"roots/list": {"roots": [{"uri": "file:///r"}]}, "ping": {}}
    )
    ctx = Context(handler, fake)
    with pytest.raises(CapabilityNotNegotiated) as caught:
        await ctx.sample("hi", 5)
    assert caught.value.capability == "sampling"
    with pytest.raises(CapabilityNotNegotiated):
        await ctx.elicit("hi", {"type": "object", "properties": {}})
    assert fake.requests == []  # nothing was sent
    roots = await ctx.list_roots()
    await ctx.ping()
    assert [root.uri for root in roots] == ["file:///r"]
    assert fake.requests == [("roots/list", None), ("ping", None)]


async def test_context_rejects_a_malformed_roots_answer() -> None:
    handler, session = await initialized({"roots": {}})
    ctx = Context(handler, FakeRequest(session, answers={"roots/list": {"roots": "none"}}))
    with pytest.raises(JsonRpcError, match="invalid roots/list result"):
        await ctx.list_roots()
