"""The ceiling: a trivial ASGI app under hypercorn's trio worker (same config as the others).

It bounds what any transport served by hypercorn-trio can reach on this machine:

* every POST is answered with one fixed JSON-RPC response (the throughput ceiling), except
* a POST naming ``subscriptions/listen``, which opens a stream (the open-stream and fan-out
  floor): the acknowledgement event, then whatever ``/notify`` on the side port raises, one
  fixed ``notifications/resources/updated`` event per update, and a ``:`` comment after 15 s of
  silence. It does only what a correct SSE app must: one task per stream writes (parked until
  woken, everything pending in one ``send``), a second awaits ``http.disconnect``; keep-alives
  come from one clock task in due order, as in trio_mcp_http. No JSON parsing, no MCP.

The process's garbage collector is tuned as our server's is (``trio_mcp_http.tune_gc``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from trio_mcp_http import tune_gc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import FANOUT_URI, start_stats_server

BODY = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"fixed"}]}}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
STREAM_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
ACK = (
    b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/subscriptions/'
    b'acknowledged","params":{"notifications":{}}}\n\n'
)
UPDATE = (
    b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/resources/updated",'
    b'"params":{"uri":"' + FANOUT_URI.encode() + b'"}}\n\n'
)
KEEPALIVE = b": keep-alive\n\n"
KEEPALIVE_INTERVAL = 15.0


class Stream:
    """One open stream: updates owed, whether a comment is due, its parked writer."""

    __slots__ = ("keepalive", "owed", "parked")

    def __init__(self) -> None:
        self.owed = 0
        self.keepalive = False
        self.parked: trio.lowlevel.Task | None = None

    def wake(self) -> None:
        if self.parked is not None:
            trio.lowlevel.reschedule(self.parked)
            self.parked = None

    async def wait(self) -> None:
        self.parked = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self.parked = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)


STREAMS: OrderedDict[Stream, float] = OrderedDict()  # in the order their comments fall due


def notify(count: int) -> None:
    """Raise ``count`` updates one by one, as the servers do: each is owed by every stream
    (runs in the trio thread; a writer sends all it owes in one ``send``)."""
    for _ in range(count):
        for stream in STREAMS:
            stream.owed += 1
            stream.wake()


async def keepalive_clock() -> None:
    while True:
        now = trio.current_time()
        while STREAMS:
            stream, due = next(iter(STREAMS.items()))
            if due > now:
                break
            STREAMS.move_to_end(stream)
            STREAMS[stream] = now + KEEPALIVE_INTERVAL
            stream.keepalive = True
            stream.wake()
        await trio.sleep_until(next(iter(STREAMS.values())) if STREAMS else now + 1.0)


async def stream_app(receive: Any, send: Any) -> None:
    stream = Stream()

    async def watch_disconnect(cancel: trio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        cancel.cancel()

    await send({"type": "http.response.start", "status": 200, "headers": STREAM_HEADERS})
    await send({"type": "http.response.body", "body": ACK, "more_body": True})
    STREAMS[stream] = trio.current_time() + KEEPALIVE_INTERVAL
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_disconnect, nursery.cancel_scope)
            while True:
                await stream.wait()
                if stream.owed:
                    body, stream.owed = UPDATE * stream.owed, 0
                    STREAMS.move_to_end(stream)
                    STREAMS[stream] = trio.current_time() + KEEPALIVE_INTERVAL
                elif stream.keepalive:
                    body = KEEPALIVE
                else:
                    continue
                stream.keepalive = False
                await send({"type": "http.response.body", "body": body, "more_body": True})
    finally:
        STREAMS.pop(stream, None)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if b"subscriptions/listen" in body:
        await stream_app(receive, send)
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def main(args: argparse.Namespace) -> None:
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.bench")
    config.read_timeout = None
    token = trio.lowlevel.current_trio_token()

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
            tune_gc()  # the garbage-collector settings of our server (serve_ours.py)
            nursery.start_soon(keepalive_clock)
            start_stats_server(
                args.stats_port,
                lambda: {"sessions": 0, "streams": len(STREAMS)},
                lambda count: trio.from_thread.run_sync(notify, count, trio_token=token),
            )
            print("READY ceiling hypercorn-trio", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats-port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    trio.run(main, parser.parse_args())
