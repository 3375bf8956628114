"""The official Python SDK's server (PyPI ``mcp``), for our client's interop tests.

    interop/.cache/venv/bin/python interop/sdk_server.py [--json-response]

Binds 127.0.0.1 on a free port, prints ``READY <url>`` and serves until SIGTERM. It serves
both eras on one endpoint (the SDK routes on ``MCP-Protocol-Version``). Tools: ``echo(text)``,
``count(steps)`` (reports progress and logs each step), ``ask(question)`` (a sampling request
to the client, handshake era), ``greet(prefix)`` (asks the user's name: an input-required
result at 2026-07-28, an elicitation request in a session), ``region_echo(region, text)``
(``region`` mirrored into ``Mcp-Param-Region``).
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Annotated

import uvicorn
from mcp import types
from mcp.server.mcpserver import Context, Elicit, MCPServer, Resolve
from pydantic import BaseModel, Field


class NameForm(BaseModel):
    """What ``greet`` asks the user."""

    name: str = Field(description="Your name")


def ask_name(prefix: str) -> Elicit[NameForm]:
    """The resolver of ``greet``: always asks (the answer comes with the retry)."""
    return Elicit(f"{prefix}: what is your name?", NameForm)


def build(json_response: bool) -> object:
    """The SDK server's ASGI app with the three tools."""
    server = MCPServer("sdk-interop")

    @server.tool()
    async def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @server.tool()
    async def greet(prefix: str, who: Annotated[NameForm, Resolve(ask_name)]) -> str:
        """Greet the user, asking their name first (elicitation)."""
        return f"{prefix}, {who.name}!"

    @server.tool()
    async def region_echo(
        region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})], text: str
    ) -> str:
        """Echo with a header-mirrored argument."""
        return f"{region}:{text}"

    @server.tool()
    async def count(steps: int, ctx: Context) -> str:
        """Count to `steps`, reporting progress and logging each step."""
        for step in range(1, steps + 1):
            await ctx.info(f"step {step}")
            await ctx.report_progress(step, steps)
        return f"counted to {steps}"

    @server.tool()
    async def ask(question: str, ctx: Context) -> str:
        """Ask the client's model a question (sampling)."""
        result = await ctx.session.create_message(
            [
                types.SamplingMessage(
                    role="user", content=types.TextContent(type="text", text=question)
                )
            ],
            max_tokens=50,
            related_request_id=ctx.request_id,  # on this request's stream, not the GET stream
        )
        content = result.content
        return content.text if isinstance(content, types.TextContent) else str(content)

    return server.streamable_http_app(json_response=json_response)


def main() -> None:
    """Serve on a free port until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--json-response", action="store_true")
    args = parser.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections queue until uvicorn serves them
    port = sock.getsockname()[1]
    config = uvicorn.Config(build(args.json_response), log_level="warning", lifespan="on")
    print(f"READY http://127.0.0.1:{port}/mcp", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
