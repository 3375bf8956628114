"""The rule of session tasks: every task working for a session is started by ``Session.spawn``,
which registers its cancel scope with the session, so no task of a session outlives it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import trio
import trio.testing

from tests.helpers import TinyApp, TinyHandler, call, initialize, rpc
from trio_mcp_http import CloseReason, McpApp, Notification, Request, ServerConfig, SessionContext
from trio_mcp_http._transport.sinks import JsonReply
from trio_mcp_http.testing import asgi_request

TRANSPORT = Path(__file__).parents[2] / "trio_mcp_http" / "_transport"


def start_soon_callers(path: Path) -> list[str]:
    """The functions of a module that call ``.start_soon(...)``."""
    return [
        node.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Call)
        and isinstance(inner.func, ast.Attribute)
        and inner.func.attr == "start_soon"
    ]


def test_session_work_is_started_only_by_spawn() -> None:
    assert start_soon_callers(TRANSPORT / "session.py") == ["spawn"]
    for module in ("inbound.py", "client_requests.py", "sinks.py", "connection.py"):
        assert start_soon_callers(TRANSPORT / module) == [], module


class SlowNotifications(TinyHandler):
    async def handle_notification(
        self, notification: Notification, session: SessionContext
    ) -> None:
        if notification.method == "slow":
            try:
                await trio.sleep_forever()
            except trio.Cancelled:
                self.app.cancelled.append("notification")
                raise
        await super().handle_notification(notification, session)


class SlowApp(TinyApp):
    def open_session(self, session: SessionContext) -> TinyHandler:
        self.sessions.append(session)
        return SlowNotifications(self, session)


@pytest.mark.parametrize("ending", ["delete", "shutdown"])
async def test_no_task_of_a_session_outlives_it(
    autojump_clock: trio.testing.MockClock, ending: str
) -> None:
    tiny = SlowApp()
    mcp = McpApp(tiny, ServerConfig())
    async with trio.open_nursery() as outer:
        await outer.start(mcp.manager.run)
        sid = await initialize(mcp)
        headers = [
            ("accept", "application/json, text/event-stream"),
            ("mcp-session-id", sid),
            ("mcp-protocol-version", "2025-11-25"),
        ]
        async with trio.open_nursery() as clients:
            # Every kind of session work at once: a long request, a request waiting for the
            # client's answer, a long notification handler, and the standalone stream.
            clients.start_soon(call, mcp, rpc("sleep", {"seconds": 10**6}, id=1), sid)
            clients.start_soon(call, mcp, rpc("ask", {"q": "?"}, id=2), sid)
            clients.start_soon(call, mcp, rpc("slow", id=None), sid)

            async def standalone() -> None:
                async with asgi_request(mcp, "GET", headers=headers) as response:
                    await response.body()

            clients.start_soon(standalone)
            await trio.testing.wait_all_tasks_blocked()
            assert mcp.statistics().session_tasks == 4  # the session and its three tasks
            if ending == "delete":
                async with asgi_request(mcp, "DELETE", headers=headers) as response:
                    assert response.status == 200
            else:
                await mcp.manager.drain(grace=1)
        await trio.testing.wait_all_tasks_blocked()
        stats = mcp.statistics()
        assert (stats.session_tasks, stats.requests_in_flight, stats.streams) == (0, 0, 0)
        assert sorted(map(str, tiny.cancelled)) == ["1", "notification"]
        outer.cancel_scope.cancel()


async def test_a_session_ended_before_its_work_starts_runs_none_of_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tiny = TinyApp()
    mcp = McpApp(tiny, ServerConfig())
    async with trio.open_nursery() as outer:
        await outer.start(mcp.manager.run)
        sid = await initialize(mcp)
        session = mcp.manager._find(sid)
        assert session is not None and session.acquire()
        mcp.manager._terminate(session, CloseReason.DELETED)
        reply = JsonReply(1)
        session.start_request(Request(jsonrpc="2.0", id=9, method="sleep"), reply)
        session.release()
        await trio.testing.wait_all_tasks_blocked()
        assert not tiny.started.is_set()  # its scope was cancelled before the handler ran
        assert b"Request cancelled" in await reply.wait_body()
        assert mcp.statistics().session_tasks == 0
        outer.cancel_scope.cancel()
