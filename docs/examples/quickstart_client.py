"""Call the quickstart server's tool: ``python quickstart_client.py [URL]``."""

import sys

import trio

from trio_mcp_http.client import open_client


async def main(url: str) -> None:
    """List the server's tools, then call ``add``."""
    async with open_client(url) as client:
        print("server:", client.server_info.name)
        listed = await client.list_tools()
        print("tools:", [tool.name for tool in listed.tools])
        result = await client.call_tool("add", {"a": 1, "b": 2})
        print("add(1, 2) =", result.content[0]["text"])


if __name__ == "__main__":
    trio.run(main, sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/mcp")
