"""The ``trio-mcp-http`` command: serve an MCP application (or the demo) under hypercorn."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, cast

import trio

from ._core.versions import VERSIONS
from ._transport.config import ServerConfig
from ._transport.redis_event_store import RedisEventStore
from ._transport.redis_session_store import RedisSessionStore
from ._transport.serve import RunningServer, serve
from ._version import __version__

if TYPE_CHECKING:
    from ._application import Application

__all__ = ["build_parser", "load_application", "main", "run_cli"]


def build_parser(
    prog: str = "trio-mcp-http", parser: argparse.ArgumentParser | None = None
) -> argparse.ArgumentParser:
    """Return a parser with the serving flags (shared by the CLI and the example servers)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog=prog, description="Serve MCP over Streamable HTTP.")
        parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any)")
    parser.add_argument("--path", default="/mcp", help="endpoint path (default /mcp)")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="close sessions idle this long (default 1800; 0 = never)",
    )
    parser.add_argument("--json-response", action="store_true", help="answer with JSON bodies")
    parser.add_argument("--stateless", action="store_true", help="no sessions: each POST alone")
    parser.add_argument(
        "--versions",
        type=_versions,
        default=None,
        metavar="V1,V2",
        help=f"protocol revisions to serve (default all: {', '.join(VERSIONS)})",
    )
    parser.add_argument(
        "--session-prefix",
        default="",
        metavar="PREFIX",
        help="start every session id with PREFIX, for a proxy routing on it (default none)",
    )
    parser.add_argument(
        "--session-store",
        default=None,
        metavar="REDIS_URL",
        help="save sessions in Redis so that another process can restore them (default none)",
    )
    parser.add_argument(
        "--event-store",
        default=None,
        metavar="REDIS_URL",
        help="resumable streams: events copied to Redis, replayed where a session is restored",
    )
    parser.add_argument(
        "--client-address-header",
        default=None,
        metavar="HEADER",
        help="behind a proxy: read the client address from HEADER (e.g. x-forwarded-for)",
    )
    parser.add_argument(
        "--no-tune-gc",
        dest="tune_gc",
        action="store_false",
        help="keep CPython's garbage-collector settings (default: freeze the startup heap and "
        "collect young objects less often, see trio_mcp_http.tune_gc)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="logging level (default info)",
    )
    return parser


def load_application(spec: str | None) -> Application:
    """Import ``module:attribute`` (or return the built-in demo server when ``spec`` is None).

    A callable attribute that is not itself an application is called with no arguments.
    """
    if spec is None:
        from .server.demo import build_demo_server  # noqa: PLC0415

        return build_demo_server()
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"expected module:attribute, got {spec!r}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like hypercorn and uvicorn: import from where you are
    target: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not hasattr(target, "open_session") and callable(target):
        target = target()
    if not hasattr(target, "open_session"):
        raise SystemExit(f"{spec} is not an MCP application (it has no open_session)")
    return cast("Application", target)


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """Build the transport configuration from parsed arguments."""
    return ServerConfig(
        path=args.path,
        idle_timeout=args.idle_timeout or None,
        json_response=args.json_response,
        stateless=args.stateless,
        versions=args.versions,
        session_id_prefix=args.session_prefix,
        session_store=None if args.session_store is None else RedisSessionStore(args.session_store),
        event_store=None if args.event_store is None else RedisEventStore(args.event_store),
        client_address_header=args.client_address_header,
    )


def _versions(text: str) -> tuple[str, ...]:
    chosen = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in chosen if v not in VERSIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"known revisions: {', '.join(VERSIONS)}")
    return chosen


async def _until_signalled() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            logging.getLogger("trio_mcp_http").info("received %s: shutting down", name)
            return


async def _serve_until_signalled(application: Application, args: argparse.Namespace) -> None:
    async with trio.open_nursery() as nursery:
        running: RunningServer = await nursery.start(
            partial(
                serve,
                application,
                config_from_args(args),
                host=args.host,
                port=args.port,
                shutdown_trigger=_until_signalled,
                tune_gc=args.tune_gc,
            )
        )
        print(f"trio-mcp-http {__version__}: serving MCP at {running.url}", flush=True)


def run_cli(application: Application | None = None, argv: Sequence[str] | None = None) -> None:
    """Parse flags and serve ``application`` until Ctrl-C or SIGTERM.

    Args:
        application: What to serve; ``None`` reads ``serve [module:attribute]`` from argv.
        argv: Arguments (default ``sys.argv[1:]``).
    """
    if application is None:
        parser = argparse.ArgumentParser(prog="trio-mcp-http", description=__doc__)
        parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
        sub = parser.add_subparsers(dest="command", required=True)
        serve_parser = sub.add_parser("serve", help="serve an application (default: the demo)")
        serve_parser.add_argument("target", nargs="?", help="module:attribute of the server")
        build_parser(parser=serve_parser)
    else:
        parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if application is None:
        application = load_application(args.target)
    trio.run(_serve_until_signalled, application, args)


def main() -> None:
    """Console-script entry point."""
    try:
        run_cli()
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        sys.exit(130)
