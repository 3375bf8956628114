"""The client against ``trio_mcp_http.serve`` (hypercorn) over real loopback sockets.

Real clock: every test is bounded by ``trio.fail_after`` and waits on events, not sleeps.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypercorn.config import Config as HypercornConfig

import trio_mcp_http
from tests.helpers import TinyApp, TinyHandler
from trio_mcp_http import (
    CloseReason,
    Notification,
    Request,
    RequestContext,
    RunningServer,
    ServerConfig,
    SessionContext,
)
from trio_mcp_http.client import open_client

#: These tests are about sessions (the handshake era): no era probe first.
open_legacy = partial(open_client, mode="legacy")

HERE = Path(__file__).parent
LIMIT = 15


@asynccontextmanager
async def serving(
    app: TinyApp, hypercorn_config: HypercornConfig | None = None
) -> AsyncIterator[RunningServer]:
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(
                lambda task_status: trio_mcp_http.serve(
                    app, ServerConfig(), hypercorn_config=hypercorn_config, task_status=task_status
                )
            )
            yield running
            running.shutdown()


async def test_full_session_over_a_socket() -> None:
    app = TinyApp()
    broadcast = trio.Event()
    seen: list[Notification] = []

    async def on_notification(notification: Notification) -> None:
        seen.append(notification)
        if notification.method == "notifications/message":
            broadcast.set()

    async def sampling(params: dict[str, Any]) -> dict[str, Any]:
        return {"answer": params["q"].upper()}

    async with serving(app) as running:
        async with open_legacy(
            running.url, on_notification=on_notification, sampling_callback=sampling, listen=True
        ) as client:
            info = client.server_info
            assert info is not None
            assert info.name == "tiny"
            assert client.listening
            assert await client.request("echo", {"text": "über"}) == {"echo": "über"}
            assert await client.request("ask", {"q": "why"}) == {"answer": "WHY"}
            assert await client.request("progress", {"count": 3}) == {"done": True}
            assert [(n.params or {}).get("progress") for n in seen] == [0, 1, 2]
            assert await client.request("broadcast", {"data": "all"}) == {}
            await broadcast.wait()
            with trio.move_on_after(0.2):
                await client.request("sleep", {"seconds": 60})
            await trio.testing.wait_all_tasks_blocked()
            assert len(app.cancelled) == 1
        await trio.testing.wait_all_tasks_blocked()
        stats = running.statistics()
        assert stats.sessions == 0
        assert stats.sessions_closed == {"deleted": 1}


async def test_sequential_requests_share_one_socket() -> None:
    async with serving(TinyApp()) as running, open_legacy(running.url) as client:
        for i in range(10):
            assert await client.request("echo", {"text": i}) == {"echo": i}
        assert client.connections_opened == 1


async def test_session_loss_over_a_socket() -> None:
    app = TinyApp()
    async with serving(app) as running, open_legacy(running.url) as client:
        old = client.session_id
        assert old is not None
        session = running.manager._find(old)
        assert session is not None
        running.manager._terminate(session, CloseReason.IDLE)
        await trio.testing.wait_all_tasks_blocked()
        assert await client.request("echo", {"text": "back"}) == {"echo": "back"}
        assert client.session_resets == 1
        assert client.session_id != old
        assert len(app.sessions) == 2


async def test_https_over_a_socket() -> None:
    config = HypercornConfig()
    config.certfile = str(HERE / "test_cert.pem")
    config.keyfile = str(HERE / "test_key.pem")
    context = ssl.create_default_context(cafile=str(HERE / "test_cert.pem"))
    async with serving(TinyApp(), config) as running:
        assert running.url.startswith("https://127.0.0.1:")
        async with open_legacy(running.url, ssl_context=context) as client:
            assert await client.request("echo", {"text": "tls"}) == {"echo": "tls"}
            assert await client.request("echo", {"text": "again"}) == {"echo": "again"}
            assert client.connections_opened == 1


class _PollingHandler(TinyHandler):
    """``poll``: notifies, closes its SSE connection (2025-11-25 polling), notifies, answers."""

    async def handle_request(self, request: Request, context: RequestContext) -> dict[str, Any]:
        if request.method != "poll":
            return await super().handle_request(request, context)
        for i in range(3):
            await context.send_notification("notifications/progress", {"progress": i})
        context.close_sse_stream()
        for i in range(3, 6):
            await context.send_notification("notifications/progress", {"progress": i})
        return {"polled": True}


class _PollingApp(TinyApp):
    def open_session(self, session: SessionContext) -> TinyHandler:
        self.sessions.append(session)
        return _PollingHandler(self, session)


async def test_resumes_a_polled_stream_from_our_event_store() -> None:
    store_class = getattr(trio_mcp_http, "MemoryEventStore", None)
    if store_class is None or not hasattr(RequestContext, "close_sse_stream"):
        pytest.skip("the server has no event store yet")
    config = ServerConfig(event_store=store_class(), retry_interval=0.05)
    seen: list[Any] = []

    async def on_notification(notification: Notification) -> None:
        seen.append((notification.params or {}).get("progress"))

    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(
                lambda task_status: trio_mcp_http.serve(
                    _PollingApp(), config, task_status=task_status
                )
            )
            async with open_legacy(running.url, on_notification=on_notification) as client:
                assert await client.request("poll") == {"polled": True}
                assert seen == [0, 1, 2, 3, 4, 5]
                assert await client.request("echo", {"text": "after"}) == {"echo": "after"}
            running.shutdown()
