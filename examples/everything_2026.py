"""The fixtures the conformance suite needs at 2026-07-28 (the per-request wire).

Diagnostics of ``server-stateless`` (a tool that needs a capability, one that asks for input,
one that logs, the change triggers of the listen scenarios), the input-required (MRTR)
scenarios' tools and prompt, and a tool mirroring an argument into an ``Mcp-Param-*`` header.
The same functions run in a session too: there, an ask is a request to the client.
"""

from __future__ import annotations

from typing import Any

# Context is resolved at run time, when the functions are registered.
from trio_mcp_http.server import Context, McpServer  # noqa: TC001

CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
}


def _string_form(name: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": "string"}}, "required": [name]}


def _elicitation(message: str, field: str) -> dict[str, Any]:
    return {
        "method": "elicitation/create",
        "params": {"message": message, "requestedSchema": _string_form(field)},
    }


def _sampling(text: str, max_tokens: int) -> dict[str, Any]:
    message = {"role": "user", "content": {"type": "text", "text": text}}
    return {
        "method": "sampling/createMessage",
        "params": {"messages": [message], "maxTokens": max_tokens},
    }


def _sampled_text(answer: dict[str, Any]) -> str:
    content = answer.get("content")
    if isinstance(content, list):
        content = content[0] if content else {}
    return str(content.get("text", "")) if isinstance(content, dict) else ""


def add_diagnostics(server: McpServer) -> None:
    """The tools ``server-stateless`` calls."""

    @server.tool(description="Needs the sampling capability of the client (-32021 without it)")
    def test_missing_capability(ctx: Context) -> str:
        ctx.require_capability("sampling")
        return "Success"

    @server.tool(
        description="Asks the user for input while it runs (never a request on the stream)"
    )
    async def test_streaming_elicitation(ctx: Context) -> str:
        answer = await ctx.elicit("What is your name?", _string_form("name"), key="user_name")
        return f"Hello, {(answer.content or {}).get('name', 'stranger')}!"

    @server.tool(description="Logs at info level: only when the request asked for a log level")
    async def test_logging_tool(ctx: Context) -> str:
        await ctx.info("Logging evaluated")
        return "Logging evaluated"

    @server.tool(description="Tells listeners that the tool list changed")
    async def test_trigger_tool_change() -> str:
        await server.notify_tools_changed()
        return "Tool list change notified"

    @server.tool(description="Tells listeners that the prompt list changed")
    async def test_trigger_prompt_change() -> str:
        await server.notify_prompts_changed()
        return "Prompt list change notified"

    @server.tool(
        description="Echoes a parameter mirrored into the Mcp-Param-Region header (SEP-2243)",
        input_schema={
            "type": "object",
            "properties": {
                "region": {
                    "type": "string",
                    "description": "Region, mirrored into Mcp-Param-Region",
                    "x-mcp-header": "Region",
                }
            },
            "required": ["region"],
        },
    )
    def test_header_param(region: str) -> str:
        return f"region={region}"


def add_input_required(server: McpServer) -> None:
    """The tools and the prompt of the ``input-required-result-*`` scenarios."""

    @server.tool(description="MRTR: asks the user's name (elicitation)")
    async def test_input_required_result_elicitation(ctx: Context) -> str:
        answer = await ctx.elicit("What is your name?", _string_form("name"), key="user_name")
        return f"Hello, {(answer.content or {}).get('name', '')}!"

    @server.tool(description="MRTR: asks the client's model (sampling)")
    async def test_input_required_result_sampling(ctx: Context) -> str:
        answer = await ctx.sample("What is the capital of France?", 100, key="capital_question")
        return f"Sampling result: {answer.text or ''}"

    @server.tool(description="MRTR: asks for the client's roots")
    async def test_input_required_result_list_roots(ctx: Context) -> str:
        roots = await ctx.list_roots(key="client_roots")
        return f"Found {len(roots)} root(s)"

    @server.tool(description="MRTR: a confirmation carried across rounds in requestState")
    async def test_input_required_result_request_state(ctx: Context) -> str:
        answer = await ctx.elicit("Please confirm", CONFIRM_SCHEMA, key="confirm")
        if (answer.content or {}).get("ok") is True:
            return "state-ok: requestState validated"
        return "state-ok: not confirmed"

    @server.tool(description="MRTR: three inputs asked at once")
    async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
        answers = await ctx.ask(
            {
                "user_name": _elicitation("What is your name?", "name"),
                "greeting": _sampling("Generate a greeting", 50),
                "client_roots": {"method": "roots/list", "params": {}},
            }
        )
        name = (answers["user_name"].get("content") or {}).get("name", "")
        roots = answers["client_roots"].get("roots") or []
        return f"Name: {name}; Greeting: {_sampled_text(answers['greeting'])}; Roots: {len(roots)}"

    @server.tool(description="MRTR: asks in two rounds, the first answer carried in the state")
    async def test_input_required_result_multi_round(ctx: Context) -> str:
        first = await ctx.elicit("Step 1: What is your name?", _string_form("name"), key="step1")
        second = await ctx.elicit(
            "Step 2: What is your favorite color?", _string_form("color"), key="step2"
        )
        name = (first.content or {}).get("name", "")
        color = (second.content or {}).get("color", "")
        return f"Multi-round complete for {name} who likes {color}"

    @server.tool(description="MRTR: a signed requestState; a tampered one is refused")
    async def test_input_required_result_tampered_state(ctx: Context) -> str:
        await ctx.elicit("Please confirm", CONFIRM_SCHEMA, key="confirm")
        return "state verified"

    @server.tool(description="MRTR: asks only what the client's capabilities allow")
    async def test_input_required_result_capabilities(ctx: Context) -> str:
        wanted: dict[str, dict[str, Any]] = {}
        if "elicitation" in ctx.client_capabilities:
            wanted["elicit_input"] = _elicitation("Elicitation input", "value")
        if "sampling" in ctx.client_capabilities:
            wanted["sample_input"] = _sampling("Sample request", 50)
        if not wanted:
            return "No capability to ask with"
        answers = await ctx.ask(wanted)
        return "Inputs: " + ", ".join(sorted(answers))

    @server.prompt(description="MRTR: a prompt that requires elicitation input")
    async def test_input_required_result_prompt(ctx: Context) -> str:
        question = "What context should the prompt use?"
        answer = await ctx.elicit(question, _string_form("context"), key="user_context")
        return f"Prompt with context: {(answer.content or {}).get('context', '')}"


def add_2026_fixtures(server: McpServer) -> None:
    """Register every 2026-07-28 fixture on ``server``."""
    add_diagnostics(server)
    add_input_required(server)
