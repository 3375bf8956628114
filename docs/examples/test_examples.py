"""Run every example of the documentation, the way the pages tell readers to run them.

``python -m pytest docs/examples`` (the ``docs`` tox environment runs it after the build).
Servers listen on 127.0.0.1 with a free port; every wait is bounded.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import jwt
import pytest
import trio

import trio_mcp_http
from trio_mcp_http import McpApp, RunningServer
from trio_mcp_http.client import McpHttpError, open_client
from trio_mcp_http.testing import asgi_request

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import asgi_app  # noqa: E402
import auth_server  # noqa: E402
import embedded  # noqa: E402
import mounted  # noqa: E402
import quickstart_client  # noqa: E402
import raw_application  # noqa: E402
import resumable  # noqa: E402
import tools  # noqa: E402

BIN = Path(sys.executable).parent


@asynccontextmanager
async def running_process(
    command: list[str], ready: bytes, *, stop: signal.Signals = signal.SIGINT
) -> AsyncIterator[tuple[trio.Process, re.Match[bytes]]]:
    """Start ``command`` in this directory, wait for ``ready`` on its output, stop it after.

    On exit the process gets ``stop`` and must exit with status 0 (a clean shutdown).
    """
    process = await trio.lowlevel.open_process(
        command, cwd=str(HERE), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    seen = b""
    try:
        with trio.fail_after(30):
            while (match := re.search(ready, seen)) is None:
                chunk = await process.stdout.receive_some()
                assert chunk, f"{command} ended early:\n{seen.decode(errors='replace')}"
                seen += chunk
        yield process, match
        process.send_signal(stop)
        with trio.fail_after(30):
            status = await process.wait()
        assert status == 0, seen.decode(errors="replace")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.stdout.aclose()


async def test_quickstart_server_and_client() -> None:
    """The quickstart: ``python -m trio_mcp_http serve quickstart_server:server``."""
    command = [
        sys.executable,
        "-m",
        "trio_mcp_http",
        "serve",
        "quickstart_server:server",
        "--port",
        "0",
    ]
    async with running_process(command, rb"serving MCP at (\S+)") as (_, match):
        url = match.group(1).decode()
        result = await trio.run_process(
            [sys.executable, "quickstart_client.py", url], cwd=str(HERE), capture_stdout=True
        )
        output = result.stdout.decode()
        assert "server: quickstart" in output
        assert "tools: ['add']" in output
        assert "add(1, 2) = 3.0" in output
        # The same client, in-process.
        await quickstart_client.main(url)


@pytest.mark.parametrize(
    ("flags", "era"),
    [([], "per-request"), (["--versions", "2025-06-18,2025-11-25"], "handshake")],
    ids=["both-eras", "sessions-only"],
)
async def test_demo_command(flags: list[str], era: str) -> None:
    """``trio-mcp-http serve`` with no application serves the demo (``--versions``: which)."""
    command = [str(BIN / "trio-mcp-http"), "serve", "--port", "0", *flags]
    async with (
        running_process(command, rb"serving MCP at (\S+)", stop=signal.SIGTERM) as (
            _,
            match,
        ),
        open_client(match.group(1).decode()) as client,
    ):
        listed = await client.list_tools()
        assert {"echo", "add", "sleep"} <= {tool.name for tool in listed.tools}
        result = await client.call_tool("echo", {"text": "hi"})
        assert result.content == [{"type": "text", "text": "hi"}]
        assert client.era == era


async def test_embedded_program_serves_and_stops_on_its_trigger() -> None:
    """Embedding: ``nursery.start(serve, ...)`` next to other work, a shutdown trigger."""
    stop = trio.Event()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(partial(embedded.main, 0, stop.wait))
            # The background task ticks once a second; the example keeps a plain counter.
            while embedded.ticks < 1:  # noqa: ASYNC110
                await trio.sleep(0.05)
            async with open_client(running.url) as client:
                result = await client.call_tool("ticks_so_far")
                assert int(result.content[0]["text"]) >= 1
                assert client.era == "per-request"  # the latest revision, no session to leak
            assert running.statistics().sessions_opened == 0
            stop.set()  # drain, then embedded.main cancels its background task and returns


async def test_hypercorn_command_line() -> None:
    """``hypercorn -k trio asgi_app:app``: the lifespan starts the session manager."""
    command = [sys.executable, "-m", "hypercorn", "-k", "trio", "-b", "127.0.0.1:0"]
    async with (
        running_process(
            [*command, "asgi_app:app"],
            rb"Running on (http://127\.0\.0\.1:\d+)",
            stop=signal.SIGTERM,
        ) as (_, match),
        open_client(match.group(1).decode() + "/mcp") as client,
    ):
        result = await client.call_tool("shout", {"text": "trio"})
        assert result.content[0]["text"] == "TRIO"
    assert isinstance(asgi_app.app, McpApp)


async def test_stateless_app_under_several_workers() -> None:
    """Stateless mode: no session id, so any worker answers any request."""
    command = [sys.executable, "-m", "hypercorn", "-k", "trio", "-w", "2", "-b", "127.0.0.1:0"]
    async with (
        running_process(
            [*command, "stateless_app:app"],
            rb"Running on (http://127\.0\.0\.1:\d+)",
            stop=signal.SIGTERM,
        ) as (_, match),
        open_client(match.group(1).decode() + "/mcp") as client,
    ):
        assert client.session_id is None
        for n in range(5):
            result = await client.call_tool("add", {"a": n, "b": 1})
            assert float(result.content[0]["text"]) == n + 1


def _token(secret: str, *, subject: str = "alice", scope: str = "mcp") -> str:
    claims = {
        "iss": auth_server.ISSUER,
        "aud": auth_server.RESOURCE,
        "sub": subject,
        "scope": scope,
        "exp": int(time.time()) + 600,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


async def test_auth_server() -> None:
    """The OAuth resource server: 401 without a token, 403 without the scope, then it works."""
    secret = "a-shared-secret-long-enough-for-hs256"
    config = auth_server.build_config(secret, algorithms=["HS256"], allowed_hosts=["127.0.0.1:*"])
    async with trio.open_nursery() as nursery:
        running: RunningServer = await nursery.start(
            partial(trio_mcp_http.serve, auth_server.server, config)
        )
        with pytest.raises(McpHttpError) as missing:
            async with open_client(running.url):
                pass
        assert missing.value.status == 401
        headers = {"Authorization": f"Bearer {_token(secret, scope='other')}"}
        with pytest.raises(McpHttpError) as unscoped:
            async with open_client(running.url, headers=headers):
                pass
        assert unscoped.value.status == 403
        headers = {"Authorization": f"Bearer {_token(secret)}"}
        async with open_client(running.url, headers=headers) as client:
            result = await client.call_tool("whoami")
            assert result.content[0]["text"] == f"session {client.session_id}"
        running.shutdown()


async def test_auth_metadata_and_session_binding() -> None:
    """The RFC 9728 metadata document; a session id is useless with another principal's token."""
    secret = "a-shared-secret-long-enough-for-hs256"
    app = McpApp(
        auth_server.server,
        auth_server.build_config(secret, algorithms=["HS256"], allowed_hosts=["127.0.0.1:*"]),
    )
    async with asgi_request(app, "GET", "/.well-known/oauth-protected-resource/mcp") as response:
        assert response.status == 200
        metadata = json.loads(await response.body())
    assert metadata["resource"] == auth_server.RESOURCE
    assert metadata["authorization_servers"] == [auth_server.ISSUER]

    post = [("content-type", "application/json"), ("accept", "application/json")]
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    }
    ping = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}).encode()
    alice = ("authorization", f"Bearer {_token(secret, subject='alice')}")
    mallory = ("authorization", f"Bearer {_token(secret, subject='mallory')}")
    async with trio.open_nursery() as nursery:
        await nursery.start(app.manager.run)
        body = json.dumps(initialize).encode()
        async with asgi_request(app, "POST", headers=[*post, alice], body=body) as response:
            assert response.status == 200
            session = ("mcp-session-id", response.headers["mcp-session-id"])
            await response.body()
        headers = [*post, session, ("mcp-protocol-version", "2025-11-25")]
        async with asgi_request(app, "POST", headers=[*headers, mallory], body=ping) as response:
            assert response.status == 404  # another principal: as if the session did not exist
        async with asgi_request(app, "POST", headers=[*headers, alice], body=ping) as response:
            assert response.status == 200
        nursery.cancel_scope.cancel()


class RecordingStream(trio.abc.Stream):
    """A client connection that keeps a copy of everything the client sends."""

    def __init__(self, inner: trio.abc.Stream, sent: list[bytes]) -> None:
        self.inner = inner
        self.sent = sent

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Record, then send."""
        self.sent.append(bytes(data))
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        """As the inner stream."""
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """As the inner stream."""
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        """As the inner stream."""
        await self.inner.aclose()


async def test_resumable_stream() -> None:
    """SSE polling: the tool hangs up, the client resumes with Last-Event-ID, nothing is lost."""
    progress: list[float] = []
    sent: list[bytes] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        del total, message
        progress.append(value)

    async with trio.open_nursery() as nursery:
        running: RunningServer = await nursery.start(
            partial(trio_mcp_http.serve, resumable.server, resumable.config)
        )

        async def connect() -> trio.abc.Stream:
            inner = await trio.open_tcp_stream("127.0.0.1", running.port)
            return RecordingStream(inner, sent)

        # Resumable streams belong to the handshake era (2026-07-28 has no sessions to resume).
        async with open_client(running.url, connect=connect, mode="legacy") as client:
            with trio.fail_after(30):
                result = await client.call_tool(
                    "long_job", {"steps": 3}, progress_callback=on_progress
                )
            assert result.content[0]["text"] == "3 steps done"
            assert progress == [1, 2, 3]
            resumes = [data for data in sent if data.startswith(b"GET ")]
            assert resumes, "the client did not resume the stream"
            assert b"last-event-id:" in resumes[0].lower()
        running.shutdown()


async def test_tools() -> None:
    """Context notifications, structured output, errors as results, ToolResult."""
    progress: list[float] = []
    logs: list[object] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        del total, message
        progress.append(value)

    async def on_notification(notification: trio_mcp_http.Notification) -> None:
        if notification.method == "notifications/message":
            assert notification.params is not None
            logs.append(notification.params["data"])

    async with trio.open_nursery() as nursery:
        running: RunningServer = await nursery.start(trio_mcp_http.serve, tools.server)
        async with open_client(running.url, on_notification=on_notification) as client:
            await client.set_logging_level("info")  # log messages are opt-in
            result = await client.call_tool(
                "countdown", {"seconds": 2}, progress_callback=on_progress
            )
            assert result.content[0]["text"] == "liftoff"
            assert progress == [0, 1]
            assert logs == ["2 seconds left", "1 seconds left"]

            result = await client.call_tool("stats", {"values": [1, 2, 6]})
            assert result.structured_content == {"count": 3, "mean": 3.0}
            assert not result.is_error
            result = await client.call_tool("stats", {"values": []})
            assert result.is_error
            assert "no values given" in result.content[0]["text"]
            result = await client.call_tool("stats", {"values": "not a list"})
            assert result.is_error  # invalid arguments are reported to the model too

            result = await client.call_tool("report", {"title": "quarterly numbers"})
            assert result.content == [{"type": "text", "text": "Quarterly Numbers"}]
        running.shutdown()


async def test_mounted_app_with_own_session_manager() -> None:
    """McpApp inside a larger ASGI app; the program runs the manager and drains it."""
    stop = trio.Event()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            base: str = await nursery.start(mounted.main, "127.0.0.1:0", stop.wait)
            async with open_client(base + "/mcp") as client:
                result = await client.call_tool("hello", {"name": "trio"})
                assert result.content[0]["text"] == "Hello, trio!"
            stream = await trio.open_tcp_stream("127.0.0.1", int(base.rsplit(":", 1)[1]))
            async with stream:
                await stream.send_all(
                    b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                answer = b""
                while chunk := await stream.receive_some():
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
            assert b"\r\n\r\n2\r\nok\r\n" in answer
            stop.set()
    assert mounted.mcp.statistics().sessions == 0


async def test_raw_application() -> None:
    """The application contract alone: our client against the counter application."""
    logs: list[object] = []

    async def on_notification(notification: trio_mcp_http.Notification) -> None:
        assert notification.params is not None
        logs.append(notification.params["data"])

    async with trio.open_nursery() as nursery:
        running: RunningServer = await nursery.start(
            trio_mcp_http.serve, raw_application.application
        )
        async with open_client(running.url, on_notification=on_notification) as client:
            assert client.server_info.name == "counter"
            assert [tool.name for tool in (await client.list_tools()).tools] == ["count"]
            for expected in ("1", "2"):
                result = await client.call_tool("count")
                assert result.content[0]["text"] == expected
            assert logs == ["call 1", "call 2"]
        running.shutdown()
