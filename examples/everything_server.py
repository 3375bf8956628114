"""The "everything" server of the official MCP conformance suite, on trio_mcp_http.

It exposes exactly the fixtures the suite (``@modelcontextprotocol/conformance``) expects of a
server under test: the ``test_*`` tools, the ``test://`` resources and template, the
``test_*`` prompts, logging and completion. Run it, then point the suite at the printed URL::

    python examples/everything_server.py --port 3000
    npx -y @modelcontextprotocol/conformance@0.1.16 server --url http://127.0.0.1:3000/mcp

Streams are resumable (an in-memory event store), so ``test_reconnection`` can close its SSE
connection mid-call and the client resumes it with ``Last-Event-ID`` (SEP-1699). Both protocol
eras are served on the one endpoint; the fixtures of the 2026-07-28 scenarios (input-required
results, listen triggers, header mirroring) are in ``everything_2026.py`` beside this file.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import json
import signal
import sys
import wave
from pathlib import Path
from typing import Annotated, Any

import trio
from pydantic import BaseModel, Field

from trio_mcp_http import MemoryEventStore, RunningServer, ServerConfig, serve
from trio_mcp_http.server import (
    AudioContent,
    Context,
    ElicitResult,
    EmbeddedResource,
    ImageContent,
    McpServer,
    PromptMessage,
    TextContent,
    TextResourceContents,
)

#: A 1x1 red PNG pixel.
TEST_IMAGE_BASE64 = "".join(
    [
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5E",
        "rkJggg==",
    ]
)
WATCHED_URI = "test://watched-resource"

JSON_SCHEMA_2020_12_INPUT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}

ELICITATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    },
    "required": ["username", "email"],
}

SEP1034_DEFAULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95.5},
        "status": {
            "type": "string",
            "description": "User status",
            "enum": ["active", "inactive", "pending"],
            "default": "active",
        },
        "verified": {"type": "boolean", "description": "Verification status", "default": True},
    },
    "required": [],
}

SEP1330_ENUMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "untitledSingle": {
            "type": "string",
            "description": "Select one option",
            "enum": ["option1", "option2", "option3"],
        },
        "titledSingle": {
            "type": "string",
            "description": "Select one option with titles",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "description": "Select one option (legacy)",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "description": "Select multiple options",
            "minItems": 1,
            "maxItems": 3,
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "description": "Select multiple options with titles",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
    "required": [],
}


def _wav_base64() -> str:
    """A tiny valid WAV file (one silent 16-bit mono sample at 8 kHz), base64-encoded."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


TEST_AUDIO_BASE64 = _wav_base64()


def _image() -> ImageContent:
    return ImageContent(data=TEST_IMAGE_BASE64, mime_type="image/png")


class Address(BaseModel):
    street: str | None = None
    city: str | None = None


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _elicitation_text(result: ElicitResult) -> str:
    return (
        f"Elicitation completed: action={result.action}, content={_compact(result.content or {})}"
    )


def _add_tools(server: McpServer) -> None:
    @server.tool(description="Tests simple text content response")
    def test_simple_text() -> str:
        return "This is a simple text response for testing."

    @server.tool(description="Tests image content response")
    def test_image_content() -> ImageContent:
        return _image()

    @server.tool(description="Tests audio content response")
    def test_audio_content() -> AudioContent:
        return AudioContent(data=TEST_AUDIO_BASE64, mime_type="audio/wav")

    @server.tool(description="Tests embedded resource content response")
    def test_embedded_resource() -> EmbeddedResource:
        return EmbeddedResource(
            resource=TextResourceContents(
                uri="test://embedded-resource",
                mime_type="text/plain",
                text="This is an embedded resource content.",
            )
        )

    @server.tool(description="Tests response with multiple content types (text, image, resource)")
    def test_multiple_content_types() -> list[Any]:
        return [
            TextContent(text="Multiple content types test:"),
            _image(),
            EmbeddedResource(
                resource=TextResourceContents(
                    uri="test://mixed-content-resource",
                    mime_type="application/json",
                    text=_compact({"test": "data", "value": 123}),
                )
            ),
        ]

    @server.tool(description="Tests tool that emits log messages during execution")
    async def test_tool_with_logging(ctx: Context) -> str:
        await ctx.info("Tool execution started")
        await trio.sleep(0.05)
        await ctx.info("Tool processing data")
        await trio.sleep(0.05)
        await ctx.info("Tool execution completed")
        return "Tool with logging executed successfully"

    @server.tool(description="Tests tool that reports progress notifications")
    async def test_tool_with_progress(ctx: Context) -> str:
        for step in (0, 50, 100):
            if step:
                await trio.sleep(0.05)
            await ctx.report_progress(step, 100, f"Completed step {step} of 100")
        return "Tool with progress executed successfully"

    @server.tool(description="Tests error response handling")
    def test_error_handling() -> str:
        raise RuntimeError("This tool intentionally returns an error for testing")

    @server.tool(
        description=(
            "Tests SSE stream disconnection and client reconnection (SEP-1699). The server "
            "closes the stream mid-call and sends the result after the client reconnects."
        )
    )
    async def test_reconnection(ctx: Context) -> str:
        await trio.sleep(0.05)
        ctx.close_sse_stream()
        await trio.sleep(0.1)
        return "Reconnection test completed"

    @server.tool(description="Tests server-initiated sampling (LLM completion request)")
    async def test_sampling(
        prompt: Annotated[str, Field(description="The prompt to send to the LLM")], ctx: Context
    ) -> str:
        result = await ctx.sample(prompt, max_tokens=100)
        return f"LLM response: {result.text or 'No response'}"

    @server.tool(description="Tests server-initiated elicitation (user input request)")
    async def test_elicitation(
        message: Annotated[str, Field(description="The message to show the user")], ctx: Context
    ) -> str:
        result = await ctx.elicit(message, ELICITATION_SCHEMA)
        return f"User response: action={result.action}, content={_compact(result.content or {})}"

    @server.tool(description="Tests elicitation with default values per SEP-1034")
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
        message = "Please review and update the form fields with defaults"
        result = await ctx.elicit(message, SEP1034_DEFAULTS_SCHEMA)
        return _elicitation_text(result)

    @server.tool(description="Tests elicitation with enum schema improvements per SEP-1330")
    async def test_elicitation_sep1330_enums(ctx: Context) -> str:
        result = await ctx.elicit(
            "Please select options from the enum fields", SEP1330_ENUMS_SCHEMA
        )
        return _elicitation_text(result)

    @server.tool(
        description="Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
        input_schema=JSON_SCHEMA_2020_12_INPUT_SCHEMA,
    )
    def json_schema_2020_12_tool(
        name: str | None = None,
        address: Address | None = None,
        contactMethod: str | None = None,  # noqa: N803 (the schema's name)
        phone: str | None = None,
        email: str | None = None,
    ) -> str:
        arguments: dict[str, Any] = {}
        if name is not None:
            arguments["name"] = name
        if address is not None:
            arguments["address"] = address.model_dump(exclude_none=True)
        contact = {"contactMethod": contactMethod, "phone": phone, "email": email}
        arguments.update({key: value for key, value in contact.items() if value is not None})
        return f"JSON Schema 2020-12 tool called with: {_compact(arguments)}"


def _add_resources(server: McpServer) -> None:
    @server.resource(
        "test://static-text",
        name="static-text",
        description="A static text resource for testing",
        mime_type="text/plain",
        title="Static Text Resource",
    )
    def static_text() -> str:
        return "This is the content of the static text resource."

    @server.resource(
        "test://static-binary",
        name="static-binary",
        description="A static binary resource (image) for testing",
        mime_type="image/png",
        title="Static Binary Resource",
    )
    def static_binary() -> bytes:
        return base64.b64decode(TEST_IMAGE_BASE64)

    @server.resource(
        "test://template/{id}/data",
        name="template",
        description="A resource template with parameter substitution",
        mime_type="application/json",
        title="Resource Template",
    )
    def template(id: str) -> str:
        return _compact({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    @server.resource(
        WATCHED_URI,
        name="watched-resource",
        description="A resource that auto-updates every 3 seconds",
        mime_type="text/plain",
        title="Watched Resource",
    )
    def watched_resource() -> str:
        return "Watched resource content"


def _add_prompts(server: McpServer) -> None:
    @server.prompt(description="A simple prompt without arguments", title="Simple Test Prompt")
    def test_simple_prompt() -> str:
        return "This is a simple prompt for testing."

    @server.prompt(description="A prompt with required arguments", title="Prompt With Arguments")
    def test_prompt_with_arguments(
        arg1: Annotated[str, Field(description="First test argument")],
        arg2: Annotated[str, Field(description="Second test argument")],
    ) -> str:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @server.prompt(
        description="A prompt that includes an embedded resource",
        title="Prompt With Embedded Resource",
    )
    def test_prompt_with_embedded_resource(
        resourceUri: Annotated[str, Field(description="URI of the resource to embed")],  # noqa: N803
    ) -> list[PromptMessage]:
        resource = TextResourceContents(
            uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
        )
        return [
            PromptMessage.user(EmbeddedResource(resource=resource)),
            PromptMessage.user("Please process the embedded resource above."),
        ]

    @server.prompt(description="A prompt that includes image content", title="Prompt With Image")
    def test_prompt_with_image() -> list[PromptMessage]:
        return [PromptMessage.user(_image()), PromptMessage.user("Please analyze the image above.")]

    words = ["test", "testValue1", "testValue2", "example", "sample"]

    @server.completion("ref/prompt", "test_prompt_with_arguments")
    def complete_arguments(argument: str, value: str, resolved: Any) -> list[str]:
        return [word for word in words if word.startswith(value)]


def build_everything_server() -> McpServer:
    """Build the conformance "everything" server."""
    server = McpServer("mcp-conformance-test-server", "1.0.0")
    _add_tools(server)
    _add_resources(server)
    _add_prompts(server)
    _sibling("everything_2026").add_2026_fixtures(server)
    return server


def _sibling(name: str) -> Any:
    """Import a module that lies beside this file (which is run as a script, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the module's annotations through it
    spec.loader.exec_module(module)
    return module


def everything_config() -> ServerConfig:
    """Transport options: resumable streams for SEP-1699, a short reconnect interval."""
    return ServerConfig(event_store=MemoryEventStore(), retry_interval=0.5)


async def update_watched_resource(server: McpServer, interval: float = 3.0) -> None:
    """Tell subscribers that ``test://watched-resource`` changed, every ``interval`` seconds."""
    while True:
        await trio.sleep(interval)
        await server.notify_resource_updated(WATCHED_URI)


async def _until_signalled() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


async def main(host: str, port: int) -> None:
    """Serve the everything server until SIGINT or SIGTERM, then shut down gracefully."""
    server = build_everything_server()
    async with trio.open_nursery() as nursery:

        async def serve_until_signalled(
            *, task_status: trio.TaskStatus[RunningServer] = trio.TASK_STATUS_IGNORED
        ) -> None:
            await serve(
                server,
                everything_config(),
                host=host,
                port=port,
                shutdown_trigger=_until_signalled,
                task_status=task_status,
            )
            nursery.cancel_scope.cancel()  # the server is gone: stop the updater too

        running: RunningServer = await nursery.start(serve_until_signalled)
        print(f"MCP everything server at {running.url}", flush=True)
        nursery.start_soon(update_watched_resource, server)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port (default 3000; 0 = any)")
    args = parser.parse_args()
    trio.run(main, args.host, args.port)
