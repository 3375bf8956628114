"""The ceiling: a trivial ASGI app under hypercorn's trio worker (same config as the others).

It reads the request body and answers every POST with one fixed JSON-RPC response, so its
throughput bounds what any transport served by hypercorn-trio can reach on this machine.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import start_stats_server

BODY = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"fixed"}]}}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def main(args: argparse.Namespace) -> None:
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.bench")
    config.read_timeout = None

    async def shutdown_trigger() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                return

    with trio.move_on_after(args.max_seconds):
        async with trio.open_nursery() as nursery:
            await nursery.start(
                lambda task_status: serve(
                    app, config, shutdown_trigger=shutdown_trigger, task_status=task_status
                )
            )
            start_stats_server(args.stats_port, lambda: {"sessions": 0})
            print("READY ceiling hypercorn-trio", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats-port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    trio.run(main, parser.parse_args())
