"""A server with one tool, and a client calling it: ``python examples/weather.py``."""

import trio

import trio_mcp_http
from trio_mcp_http.client import open_client
from trio_mcp_http.server import McpServer

server = McpServer("weather")


@server.tool()
def forecast(city: str) -> str:
    """Tomorrow's weather for a city."""
    return f"Sunny in {city}, 21 °C"


async def main() -> None:
    async with trio.open_nursery() as nursery:
        running = await nursery.start(trio_mcp_http.serve, server)  # 127.0.0.1, a free port
        async with open_client(running.url) as client:
            result = await client.call_tool("forecast", {"city": "Lisbon"})
            print(result.content[0]["text"])
        running.shutdown()


if __name__ == "__main__":
    trio.run(main)
