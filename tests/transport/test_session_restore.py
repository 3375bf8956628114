"""Session restore: two endpoints ("processes") sharing a session store (in-process, MockClock).

A session initialized on one is taken over by the other with the same id, the handler's
state (client capabilities, log level, resource subscriptions) back; the record goes with
DELETE, idle expiry and eviction, stays at shutdown; a failing or slow store never hangs a
request (404 in time, counted).
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

import pytest
import trio
import trio.testing

from tests.helpers import call, initialize, rpc, running_app
from tests.server.client import serving
from trio_mcp_http import McpApp, MemoryEventStore, MemorySessionStore, ServerConfig, SessionRecord
from trio_mcp_http.server import Context, McpServer
from trio_mcp_http.testing import asgi_request

LATEST = "2025-11-25"
SSE_ACCEPT = ("accept", "text/event-stream")


def build() -> McpServer:
    server = McpServer("restore-test")

    @server.tool()
    async def state(ctx: Context) -> str:
        """What this session's handler knows."""
        return json.dumps({"level": ctx.log_level, "client": ctx.client_info.get("name")})

    @server.resource("mem://a")
    def a() -> str:
        """A resource."""
        return "a"

    return server


async def apps(
    stack: AsyncExitStack, store: MemorySessionStore, count: int = 2, **options: Any
) -> list[McpApp]:
    config = ServerConfig(session_store=store, **options)
    return [await stack.enter_async_context(serving(build(), config)) for _ in range(count)]


async def tool_text(app: McpApp, session_id: str, request_id: int = 7) -> tuple[int, Any]:
    body = rpc("tools/call", {"name": "state"}, id=request_id)
    status, messages = await call(app, body, session_id)
    if status != 200:
        return status, messages
    return status, json.loads(messages[-1]["result"]["content"][0]["text"])


@pytest.fixture
def store() -> MemorySessionStore:
    return MemorySessionStore()


async def test_a_session_moves_to_another_endpoint_with_its_state(
    store: MemorySessionStore,
) -> None:
    async with AsyncExitStack() as stack:
        first, second = await apps(stack, store)
        sid = await initialize(first)
        assert (await call(first, rpc("logging/setLevel", {"level": "error"}), sid))[0] == 200
        sub = rpc("resources/subscribe", {"uri": "mem://a"}, id=3)
        assert (await call(first, sub, sid))[0] == 200
        await trio.testing.wait_all_tasks_blocked()  # the record is written in the background
        assert len(store) == 1
        status, seen = await tool_text(second, sid)
        assert (status, seen) == (200, {"level": "error", "client": "t"})
        assert second.statistics().sessions_restored == 1
        handler = next(iter(second.manager._sessions.values())).handler
        assert handler is not None and handler.subscriptions == frozenset({"mem://a"})  # type: ignore[attr-defined]


async def test_concurrent_requests_share_one_restore(store: MemorySessionStore) -> None:
    async with AsyncExitStack() as stack:
        first, second = await apps(stack, store)
        sid = await initialize(first)
        await trio.testing.wait_all_tasks_blocked()
        statuses: list[int] = []

        async def one(request_id: int) -> None:
            statuses.append((await tool_text(second, sid, request_id))[0])

        async with trio.open_nursery() as nursery:
            for request_id in range(5):
                nursery.start_soon(one, request_id)
        assert statuses == [200] * 5
        assert second.statistics().sessions_restored == 1
        assert second.statistics().sessions == 1


async def test_each_way_a_session_ends_for_good_deletes_its_record(
    store: MemorySessionStore, autojump_clock: trio.testing.MockClock
) -> None:
    async with AsyncExitStack() as stack:
        (first,) = await apps(stack, store, 1, idle_timeout=60.0, max_sessions=2)

        deleted = await initialize(first)
        await trio.testing.wait_all_tasks_blocked()
        headers = [("mcp-session-id", deleted), ("mcp-protocol-version", LATEST)]
        async with asgi_request(first, "DELETE", headers=headers) as response:
            assert response.status == 200
        await trio.testing.wait_all_tasks_blocked()
        assert await store.load(deleted) is None

        expired = await initialize(first)
        await trio.testing.wait_all_tasks_blocked()
        assert await store.load(expired) is not None
        await trio.sleep(61)
        assert await store.load(expired) is None

        evicted = await initialize(first)
        await initialize(first)
        await initialize(first)  # the cap is 2: the least recently active one is evicted
        await trio.testing.wait_all_tasks_blocked()
        assert await store.load(evicted) is None
        assert len(store) == 2


async def test_shutdown_keeps_the_record_for_the_next_process(
    store: MemorySessionStore,
) -> None:
    config = ServerConfig(session_store=store)
    async with serving(build(), config) as first:
        sid = await initialize(first)
        await trio.testing.wait_all_tasks_blocked()
    assert await store.load(sid) is not None  # the first process is gone
    async with serving(build(), config) as second:
        assert (await tool_text(second, sid))[0] == 200


async def test_no_record_another_principal_or_an_unknown_version_is_not_found(
    store: MemorySessionStore,
) -> None:
    async with AsyncExitStack() as stack:
        (app,) = await apps(stack, store, 1)
        assert (await tool_text(app, "nobody"))[0] == 404
        await store.save("alice-s", SessionRecord(LATEST, "alice", {}), None)
        assert (await tool_text(app, "alice-s"))[0] == 404
        await store.save("old-s", SessionRecord("1999-01-01", None, {}), None)
        assert (await tool_text(app, "old-s"))[0] == 404
        assert app.statistics().sessions_restored == 0


class BrokenStore(MemorySessionStore):
    def __init__(self, *, hang: bool) -> None:
        super().__init__()
        self.hang = hang

    async def load(self, session_id: str) -> SessionRecord | None:
        if self.hang:
            await trio.sleep_forever()
        raise OSError("store down")

    async def save(self, session_id: str, record: SessionRecord, ttl: float | None) -> None:
        raise OSError("store down")


@pytest.mark.parametrize("hang", [False, True])
async def test_a_failing_or_hanging_store_answers_404_in_time(
    hang: bool, autojump_clock: trio.testing.MockClock
) -> None:
    config = ServerConfig(session_store=BrokenStore(hang=hang), session_store_timeout=1.0)
    async with serving(build(), config) as app:
        sid = await initialize(app)  # its save fails: counted, the session works on
        await trio.testing.wait_all_tasks_blocked()
        assert (await tool_text(app, sid))[0] == 200
        started = trio.current_time()
        assert (await tool_text(app, "elsewhere"))[0] == 404
        assert trio.current_time() - started <= 1.0 + 1e-6
        assert app.statistics().session_store_errors >= 2


async def test_a_handler_without_restore_is_not_restored(store: MemorySessionStore) -> None:
    config = ServerConfig(session_store=store)
    async with running_app(config) as (first, _), running_app(config) as (second, _):
        sid = await initialize(first)
        await trio.testing.wait_all_tasks_blocked()
        assert await store.load(sid) == SessionRecord(LATEST, None, {})
        status, _ = await call(second, rpc("echo", {"x": 1}), sid)
        assert status == 404


async def test_a_handler_whose_restore_raises_is_not_found_not_a_500(
    store: MemorySessionStore,
) -> None:
    async with AsyncExitStack() as stack:
        (app,) = await apps(stack, store, 1)
        # A record whose state the handler refuses (capabilities must be an object).
        await store.save("bad-s", SessionRecord(LATEST, None, {"capabilities": 5}), None)
        assert (await tool_text(app, "bad-s"))[0] == 404
        assert app.statistics().sessions == 0


class SlowStore(MemorySessionStore):
    """Operations that take time (of the mock clock)."""

    def __init__(self, load: float = 0.0, save: float = 0.0, delete: float = 0.0) -> None:
        super().__init__()
        self.delays = {"load": load, "save": save, "delete": delete}

    async def load(self, session_id: str) -> SessionRecord | None:
        await trio.sleep(self.delays["load"])
        return await super().load(session_id)

    async def save(self, session_id: str, record: SessionRecord, ttl: float | None) -> None:
        await trio.sleep(self.delays["save"])
        await super().save(session_id, record, ttl)

    async def delete(self, session_id: str) -> None:
        await trio.sleep(self.delays["delete"])
        await super().delete(session_id)


async def test_a_request_right_after_delete_is_not_found_while_the_delete_is_slow(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = SlowStore(delete=0.5)
    async with serving(build(), ServerConfig(session_store=store)) as app:
        sid = await initialize(app)
        await trio.testing.wait_all_tasks_blocked()
        headers = [("mcp-session-id", sid), ("mcp-protocol-version", LATEST)]
        async with asgi_request(app, "DELETE", headers=headers) as response:
            assert response.status == 200
        assert (await tool_text(app, sid))[0] == 404  # the record is still there: not restored
        await trio.sleep(1)
        assert await store.load(sid) is None
        assert app.statistics().sessions_restored == 0


async def test_waiters_on_a_restore_share_its_outcome_and_its_principal_check(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = SlowStore(load=0.2)
    await store.save("alice-s", SessionRecord(LATEST, "alice", {"capabilities": {}}), None)
    async with serving(build(), ServerConfig(session_store=store)) as app:
        got: dict[str | None, Any] = {}
        started = trio.current_time()

        async def restore(principal: str | None) -> None:
            got[principal] = await app.manager._restore("alice-s", principal)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(restore, "alice")
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(restore, "mallory")  # waits on alice's restore
        assert got["alice"] is not None and got["mallory"] is None
        got["alice"].release()
        statuses = []

        async def missing(request_id: int) -> None:
            statuses.append((await tool_text(app, "nobody-s", request_id))[0])

        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            for request_id in range(5):
                nursery.start_soon(missing, request_id)
        assert statuses == [404] * 5
        assert trio.current_time() - started == pytest.approx(0.2)  # one load, not five


async def test_shutdown_writes_what_is_pending(autojump_clock: trio.testing.MockClock) -> None:
    store = SlowStore(save=0.5)
    config = ServerConfig(session_store=store)
    async with serving(build(), config) as app:
        sid = await initialize(app)  # its save is still being written when the manager stops
        assert (await call(app, rpc("logging/setLevel", {"level": "error"}), sid))[0] == 200
    record = await store.load(sid)
    assert record is not None and record.state["logLevel"] == "error"  # not an empty state


class FlakyDeletes(MemorySessionStore):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def delete(self, session_id: str) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("store down for a moment")
        await super().delete(session_id)


async def test_a_failed_delete_is_retried_and_the_session_never_comes_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FlakyDeletes()
    async with serving(build(), ServerConfig(session_store=store)) as app:
        sid = await initialize(app)
        await trio.testing.wait_all_tasks_blocked()
        headers = [("mcp-session-id", sid), ("mcp-protocol-version", LATEST)]
        async with asgi_request(app, "DELETE", headers=headers) as response:
            assert response.status == 200
        assert (await tool_text(app, sid))[0] == 404
        await trio.sleep(5)  # the retry, after the failure's pause
        assert await store.load(sid) is None
        assert (await tool_text(app, sid))[0] == 404
        assert app.statistics().sessions_restored == 0


async def test_a_restored_session_never_reissues_the_previous_process_s_event_ids(
    store: MemorySessionStore, autojump_clock: trio.testing.MockClock
) -> None:
    """Each process its own event store: old ids must not name new events (400, no replay)."""
    async with AsyncExitStack() as stack:
        first, second = [
            await stack.enter_async_context(
                serving(build(), ServerConfig(session_store=store, event_store=MemoryEventStore()))
            )
            for _ in range(2)
        ]
        sid = await initialize(first)
        await trio.testing.wait_all_tasks_blocked()
        headers = [("mcp-session-id", sid), ("mcp-protocol-version", LATEST), SSE_ACCEPT]
        async with asgi_request(first, "GET", headers=headers) as response:
            old_id = (await response.next_event()).id  # the priming event
        assert old_id.startswith("g:")
        assert (await tool_text(second, sid))[0] == 200  # restored there
        async with asgi_request(second, "GET", headers=headers) as response:
            new_id = (await response.next_event()).id
        assert new_id.startswith("g.")
        resume = [*headers, ("last-event-id", old_id)]
        async with asgi_request(second, "GET", headers=resume) as response:
            assert response.status == 400  # unknown there, never a replay of other events
