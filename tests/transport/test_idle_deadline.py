"""The founding problem: sessions whose idle deadline is a trio cancel scope (autojump clock)."""

from __future__ import annotations

import trio
import trio.testing

from tests.helpers import TinyApp, call, initialize, rpc, running_app, start_session
from trio_mcp_http import CloseReason, McpApp, ServerConfig
from trio_mcp_http.testing import asgi_request

IDLE = 60.0
FLOODER = ("10.9.9.9", 4444)


def closed_log(
    app: TinyApp, config: ServerConfig
) -> tuple[McpApp, list[tuple[float, str | None, CloseReason]]]:
    log: list[tuple[float, str | None, CloseReason]] = []
    mcp = McpApp(
        app, config, on_session_closed=lambda sid, why: log.append((trio.current_time(), sid, why))
    )
    return mcp, log


async def serve_manager(nursery: trio.Nursery, mcp: McpApp) -> None:
    await nursery.start(mcp.manager.run)


async def test_expiry_exactly_idle_timeout_after_last_request_ends(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    config = ServerConfig(idle_timeout=IDLE)
    mcp, log = closed_log(TinyApp(), config)
    await serve_manager(nursery, mcp)
    sid = await initialize(mcp)
    await trio.sleep(IDLE - 1)  # just before expiry, a request keeps it alive
    status, _ = await call(mcp, rpc("echo", {"text": "x"}), sid)
    assert status == 200
    last_end = trio.current_time()
    await trio.sleep(IDLE - 0.5)
    assert mcp.manager._find(sid) is not None
    await trio.sleep(1)
    assert log == [(last_end + IDLE, sid, CloseReason.IDLE)]
    assert mcp.statistics().sessions == 0
    status, body = await call(mcp, rpc("echo", {"text": "x"}), sid)
    assert status == 404
    assert body[0]["error"]["message"] == "Session not found"


async def test_long_tool_call_outlives_idle_timeout(autojump_clock: trio.testing.MockClock) -> None:
    async with running_app(ServerConfig(idle_timeout=IDLE)) as (mcp, tiny):
        sid = await initialize(mcp)
        status, body = await call(mcp, rpc("sleep", {"seconds": 10 * IDLE}), sid)
        assert (status, body[-1]["result"]) == (200, {"slept": 10 * IDLE})
        assert tiny.cancelled == []
        assert mcp.manager._find(sid) is not None
        status, _ = await call(mcp, rpc("echo", {"text": "still here"}), sid)
        assert status == 200


async def test_handler_outlives_a_disconnected_post_stream(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_app(ServerConfig(idle_timeout=IDLE)) as (mcp, tiny):
        sid = await initialize(mcp)
        headers = [
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
            ("mcp-session-id", sid),
        ]
        async with asgi_request(
            mcp, "POST", headers=headers, body=rpc("sleep", {"seconds": 5 * IDLE})
        ) as response:
            assert response.status == 200
            await tiny.started.wait()
            response.disconnect()
        # The disconnect is not a cancellation (spec): the handler keeps the session alive.
        await trio.sleep(3 * IDLE)
        assert tiny.cancelled == []
        assert mcp.manager._find(sid) is not None
        stats = mcp.statistics()
        assert (stats.requests_in_flight, stats.streams) == (1, 0)  # handled, not streamed
        await trio.sleep(2 * IDLE + IDLE + 1)  # handler ends at 5*IDLE, expiry IDLE later
        assert mcp.statistics().requests_in_flight == 0
        assert mcp.manager._find(sid) is None


async def test_open_get_stream_holds_session_and_expiry_starts_when_it_closes(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    config = ServerConfig(idle_timeout=IDLE, keepalive_interval=15)
    mcp, log = closed_log(TinyApp(), config)
    await serve_manager(nursery, mcp)
    sid = await initialize(mcp)
    headers = [("accept", "text/event-stream"), ("mcp-session-id", sid)]
    async with asgi_request(mcp, "GET", headers=headers) as response:
        assert response.status == 200
        await trio.sleep(20 * IDLE + 1)  # not on a keep-alive instant (no tie to break)
        assert log == []
        response.disconnect()
        closed_at = trio.current_time()
        # 20 minutes of silence: one keep-alive comment every 15 s, then the cut.
        assert await response.body() == b": keep-alive\n\n" * 80
        assert not response.complete  # cut by the disconnect, not ended by the server
    await trio.sleep(IDLE + 1)
    assert log == [(closed_at + IDLE, sid, CloseReason.IDLE)]


async def test_request_at_the_expiry_instant_gets_404(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    config = ServerConfig(idle_timeout=IDLE)
    mcp, log = closed_log(TinyApp(), config)
    await serve_manager(nursery, mcp)
    sid = await initialize(mcp)
    await trio.sleep_until(trio.current_time() + IDLE)  # wake exactly at the deadline
    status, body = await call(mcp, rpc("echo", {"text": "x"}), sid)
    assert status == 404
    assert body[0]["error"]["code"] == -32600
    await trio.testing.wait_all_tasks_blocked()
    assert [why for _, _, why in log] == [CloseReason.IDLE]


async def test_idle_timeout_none_keeps_sessions(autojump_clock: trio.testing.MockClock) -> None:
    async with running_app(ServerConfig(idle_timeout=None)) as (mcp, _):
        sid = await initialize(mcp)
        await trio.sleep(10**7)
        assert mcp.manager._find(sid) is not None


async def test_ten_thousand_abandoned_sessions_are_reclaimed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    n = 10_000
    async with running_app(
        ServerConfig(
            idle_timeout=IDLE,
            max_sessions=n,
            max_uninitialized_sessions=n,
            max_uninitialized_sessions_per_client=n,
        )
    ) as (mcp, tiny):
        ids = [await start_session(mcp) for _ in range(n)]
        assert len(set(ids)) == n
        stats = mcp.statistics()
        assert (stats.sessions, stats.idle_sessions) == (n, n)
        await trio.sleep(IDLE + 1)
        stats = mcp.statistics()
        assert (stats.sessions, stats.idle_sessions, stats.streams, stats.requests_in_flight) == (
            0,
            0,
            0,
            0,
        )
        assert stats.sessions_closed == {"idle": n}
        assert all(mcp.manager._find(sid) is None for sid in ids)
        assert len(tiny.sessions) == n


async def test_flood_of_abandoned_initializes_never_locks_new_clients_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = ServerConfig(
        idle_timeout=IDLE, max_sessions=100, max_uninitialized_sessions=10, initialize_timeout=5
    )
    async with running_app(config) as (mcp, _):
        real = await initialize(mcp)  # a well-behaved client, handshake complete
        # Abandoned after initialize: they never send notifications/initialized. One source
        # keeps at most its quota of unfinished handshakes (a quarter of 10, at least 4).
        flood = [await start_session(mcp, client=FLOODER) for _ in range(300)]
        stats = mcp.statistics()
        assert (stats.sessions, stats.uninitialized_sessions) == (5, 4)
        assert mcp.manager._find(real) is not None  # the flood evicted only its own handshakes
        # Other sources fill the rest of the cap; at the cap the flooder's go first.
        others = [await start_session(mcp, client=(f"10.0.0.{i}", 1)) for i in range(6)]
        more_flood = [await start_session(mcp, client=FLOODER) for _ in range(50)]
        stats = mcp.statistics()
        assert (stats.sessions, stats.uninitialized_sessions) == (11, 10)
        assert all(mcp.manager._find(sid) is not None for sid in others)
        newcomer = await initialize(mcp, client=("10.0.1.1", 1))
        assert (await call(mcp, rpc("echo"), newcomer))[0] == 200
        flood += more_flood
        # Unfinished handshakes expire after the (short) initialize timeout, real ones do not.
        await trio.sleep(5 + 1)
        stats = mcp.statistics()
        assert (stats.sessions, stats.uninitialized_sessions) == (2, 0)
        assert all(mcp.manager._find(sid) is None for sid in flood)
