"""Serve trio_mcp_http for the benchmarks: ``trio_mcp_http.serve`` (hypercorn's trio worker).

    python benchmarks/serve_ours.py --port 8100 --stats-port 8101 [--json-response]
        [--idle-timeout S] [--app demo|bench|tiny] [--max-seconds S]

``--app demo`` (default) serves the built-in demo server (``trio_mcp_http.server.demo``) and
falls back to ``bench`` if that module is missing; ``bench`` is an ``McpServer`` with one
``async def echo(text) -> str`` tool, the same tool as the SDK server of ``serve_sdk.py``;
``tiny`` is ``tests.helpers:TinyApp`` (JSON-RPC method ``echo``, for harness development).
The MCP apps also get what the other measurements use: a ``bench://fanout`` resource (the
fan-out listeners subscribe to it) and a ``confirm(text)`` tool that asks one elicitation
(an input-required result on the 2026-07-28 wire) and echoes the text once accepted.

Statistics (``running.statistics()`` plus VmRSS) are served as JSON on
``127.0.0.1:<stats-port>`` by a side thread, outside the measured endpoint. The process stops
by itself after ``--max-seconds`` and on SIGTERM/SIGINT (graceful drain).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from functools import partial
from pathlib import Path
from typing import Any

import trio
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import FANOUT_URI, start_stats_server

from trio_mcp_http import ServerConfig, __version__, serve
from trio_mcp_http.server import Context  # noqa: TC001 (read at runtime: tool signatures)


class Confirmation(BaseModel):
    """What ``confirm`` asks."""

    ok: bool


def add_bench_parts(server: Any) -> None:
    """The fan-out resource and the elicitation tool (the same as serve_sdk.py's)."""

    @server.resource(FANOUT_URI, name="fanout", mime_type="text/plain")
    def fanout() -> str:
        return "changes often"

    @server.tool()
    async def confirm(text: str, ctx: Context) -> str:
        """Ask the user to confirm, then echo the text."""
        answer = await ctx.elicit(f"Echo {text}?", Confirmation)
        return text if answer.action == "accept" else "declined"


def build_app(kind: str) -> tuple[Any, str]:
    app, kind = _build_app(kind)
    if kind != "tiny":
        add_bench_parts(app)
    return app, kind


def _build_app(kind: str) -> tuple[Any, str]:
    if kind == "demo":
        try:
            from trio_mcp_http.server.demo import build_demo_server  # noqa: PLC0415
        except ImportError:
            print("serve_ours: trio_mcp_http.server.demo missing; using --app bench", flush=True)
        else:
            return build_demo_server(), "demo"
        kind = "bench"
    if kind == "bench":
        from trio_mcp_http.server import McpServer  # noqa: PLC0415

        server = McpServer("bench")

        @server.tool()
        async def echo(text: str) -> str:
            """Echo the text back."""
            return text

        return server, "bench"
    if kind == "tiny":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.helpers import TinyApp  # noqa: PLC0415

        return TinyApp(), "tiny"
    raise SystemExit(f"unknown --app {kind}")


async def until_signalled() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


async def main(args: argparse.Namespace) -> None:
    app, kind = build_app(args.app)
    config = ServerConfig(
        idle_timeout=args.idle_timeout or None,
        json_response=args.json_response,
        max_sessions=args.max_sessions,
        max_exchanges=args.max_exchanges,
    )
    token = trio.lowlevel.current_trio_token()
    with trio.move_on_after(args.max_seconds):
        async with trio.open_nursery() as nursery:
            running = await nursery.start(
                partial(
                    serve,
                    app,
                    config,
                    host="127.0.0.1",
                    port=args.port,
                    shutdown_trigger=until_signalled,
                    grace=0.5,
                    tune_gc=True,  # as the trio-mcp-http command does by default
                )
            )

            def snapshot() -> dict[str, Any]:
                stats = trio.from_thread.run_sync(running.statistics, trio_token=token)
                return {"sessions": stats.sessions, "detail": dataclasses.asdict(stats)}

            async def raise_updates(count: int) -> None:
                for _ in range(count):
                    await app.notify_resource_updated(FANOUT_URI)

            def notify(count: int) -> None:
                trio.from_thread.run(raise_updates, count, trio_token=token)

            start_stats_server(args.stats_port, snapshot, None if kind == "tiny" else notify)
            print(f"READY ours {__version__} app={kind} url={running.url}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats-port", type=int, required=True)
    parser.add_argument("--json-response", action="store_true")
    parser.add_argument("--idle-timeout", type=float, default=1800.0, help="0 = never")
    parser.add_argument("--max-sessions", type=int, default=100_000)
    parser.add_argument(
        "--max-exchanges",
        type=int,
        default=100_000,
        help="2026-07-28 requests in flight (10,000 listen streams + the stalled one + triggers)",
    )
    parser.add_argument("--app", default="demo", choices=["demo", "bench", "tiny"])
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="trace Python allocations (for the idle-memory profile)",
    )
    args = parser.parse_args()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(args.tracemalloc)
    trio.run(main, args)
