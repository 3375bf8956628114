"""Resumable streams: session-scoped store, priming, SSE polling, exact replay (autojump)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing

from tests.helpers import ACCEPT_BOTH, JSON_CT, call, initialize, post, rpc, running_app
from trio_mcp_http import MemoryEventStore, ServerConfig
from trio_mcp_http._core.events import ReplayStatus
from trio_mcp_http.testing import AsgiResponse, asgi_request

IDLE = 600.0


def config(store: MemoryEventStore | None = None, **kw: Any) -> ServerConfig:
    return ServerConfig(event_store=store or MemoryEventStore(), idle_timeout=IDLE, **kw)


async def read_until_end(response: AsgiResponse) -> list[tuple[str, Any]]:
    """(event id, message or None for priming) of every event until the stream ends."""
    return [(e.id, json.loads(e.data) if e.data else None) for e in await response.events()]


def resume_headers(sid: str, last_id: str) -> list[tuple[str, str]]:
    return [("accept", "text/event-stream"), ("mcp-session-id", sid), ("last-event-id", last_id)]


# -- the store ------------------------------------------------------------------------------


def test_store_isolates_sessions_and_streams() -> None:
    store = MemoryEventStore()
    a1 = store.append("A", "p1", b"a-one")
    store.append("A", "p2", b"a-other-stream")
    store.append("A", "p1", b"a-two")
    b1 = store.append("B", "p1", b"b-one")
    store.append("B", "p1", b"b-two")
    assert store.replay("A", a1).events == (("p1:3", b"a-two"),)
    assert store.replay("B", b1).events == (("p1:2", b"b-two"),)
    # Session B's id means nothing in session A beyond A's own numbering: ids are per session.
    assert store.replay("C", a1).status is ReplayStatus.UNKNOWN
    assert store.replay("A", "p9:1").status is ReplayStatus.UNKNOWN
    assert store.replay("A", "p1:99").status is ReplayStatus.UNKNOWN
    for junk in ("", "x", ":", "p1:", "p1:-1", "p1:abc"):
        assert store.replay("A", junk).status is ReplayStatus.UNKNOWN


def test_priming_markers_are_not_replayed() -> None:
    store = MemoryEventStore()
    prime = store.append("S", "p1", None)
    store.append("S", "p1", b"m")
    assert store.replay("S", prime).events == (("p1:2", b"m"),)


def test_store_evicts_oldest_under_session_budget_and_refuses_gaps() -> None:
    store = MemoryEventStore(max_session_bytes=3 * (64 + 10))
    ids = [store.append("S", "p1", b"x" * 10) for _ in range(5)]
    # Events 1 and 2 were evicted: resuming after 1 would skip 2, resuming after 2 is whole.
    assert store.replay("S", ids[0]).status is ReplayStatus.EVICTED
    replay = store.replay("S", ids[1])
    assert replay.status is ReplayStatus.OK
    assert [eid for eid, _ in replay.events] == ids[2:]


def test_store_evicts_oldest_across_sessions_under_total_budget() -> None:
    store = MemoryEventStore(max_total_bytes=4 * (64 + 10))
    first = store.append("A", "p1", b"x" * 10)
    store.append("A", "p1", b"x" * 10)
    b_ids = [store.append("B", "g", b"y" * 10) for _ in range(4)]
    # Six events over a budget of four: A's two (the oldest) went, B's are all kept.
    assert store.total_bytes == 4 * 74
    assert store.replay("A", first).status is ReplayStatus.EVICTED
    assert len(store.replay("B", b_ids[0]).events) == 3


def test_store_frees_a_closed_session() -> None:
    store = MemoryEventStore()
    event = store.append("S", "p1", b"abc")
    store.close_session("S")
    assert store.total_bytes == 0
    assert store.replay("S", event).status is ReplayStatus.UNKNOWN


def test_idle_timeout_must_exceed_retry_interval() -> None:
    with pytest.raises(ValueError, match="retry_interval"):
        ServerConfig(event_store=MemoryEventStore(), idle_timeout=6.0, retry_interval=2.0)
    ServerConfig(event_store=MemoryEventStore(), idle_timeout=60.0, retry_interval=2.0)


# -- priming ------------------------------------------------------------------------------


async def test_priming_event_on_2025_11_25_with_store() -> None:
    async with running_app(config()) as (mcp, _):
        sid = await initialize(mcp)
        async with post(mcp, rpc("echo", {"text": "x"}, id=3), sid) as response:
            raw = await response.body()
        first_event = raw.split(b"\n\n")[0]
        assert first_event.startswith(b"id: p")
        assert b"\nretry: 2000\ndata:" in first_event
        assert raw.count(b"id: ") == 2


async def test_older_revisions_never_get_a_priming_event() -> None:
    async with running_app(config()) as (mcp, _):
        sid = await initialize(mcp, "2025-06-18")
        async with post(
            mcp, rpc("echo", {"text": "x"}, id=3), sid, version="2025-06-18"
        ) as response:
            events = await read_until_end(response)
        assert len(events) == 1
        event_id, message = events[0]
        assert message["result"] == {"echo": "x"}
        assert event_id  # events still carry ids, so the stream is resumable


async def test_no_store_no_ids_no_priming() -> None:
    async with running_app(ServerConfig()) as (mcp, _):
        sid = await initialize(mcp)
        async with post(mcp, rpc("echo", {"text": "x"}), sid) as response:
            raw = await response.body()
        assert b"id:" not in raw
        assert raw.count(b"data:") == 1


# -- exact replay -------------------------------------------------------------------------


async def drop_and_resume(
    n: int, first_cut: int, second_cut: int | None, pause: float
) -> list[Any]:
    """Receive `first_cut` events of a POST stream of n notifications + response, drop the
    connection, wait `pause`, resume; optionally drop again after `second_cut` replayed
    events and resume again. Return every message received, in order."""
    async with running_app(config()) as (mcp, _):
        sid = await initialize(mcp)
        received: list[Any] = []
        last_id = ""
        async with post(mcp, rpc("stream", {"count": n, "interval": 1}, id=1), sid) as response:
            for _ in range(first_cut):
                event = await response.next_event()
                last_id = event.id
                if event.data:
                    received.append(json.loads(event.data))
            response.disconnect()
        cuts = [second_cut] if second_cut is not None else []
        while True:
            await trio.sleep(pause)
            async with asgi_request(mcp, "GET", headers=resume_headers(sid, last_id)) as resumed:
                assert resumed.status == 200
                try:
                    while True:
                        if cuts and cuts[0] == 0:
                            cuts.pop(0)
                            resumed.disconnect()
                            break
                        event = await resumed.next_event()
                        if cuts:
                            cuts[0] -= 1
                        last_id = event.id
                        if event.data:
                            received.append(json.loads(event.data))
                except EOFError:
                    assert resumed.complete
                    return received


@pytest.mark.parametrize("n", [1, 3, 5])
async def test_resume_after_a_drop_at_every_point_loses_and_repeats_nothing(
    autojump_clock: trio.testing.MockClock, n: int
) -> None:
    expected: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": i}}
        for i in range(n)
    ]
    expected.append({"jsonrpc": "2.0", "id": 1, "result": {"sent": n}})
    # 1 priming event + n notifications + 1 response; the client must have seen the priming
    # event (it carries the first id) to be able to resume at all.
    for first_cut in range(1, n + 2):
        for pause in (0.5, 2.5, 3 * n):
            assert await drop_and_resume(n, first_cut, None, pause) == expected, (first_cut, pause)
            for second_cut in range(3):
                got = await drop_and_resume(n, first_cut, second_cut, pause)
                assert got == expected, (first_cut, second_cut, pause)


async def test_sse_polling_close_then_resume(autojump_clock: trio.testing.MockClock) -> None:
    async with running_app(config()) as (mcp, _):
        sid = await initialize(mcp)
        async with post(
            mcp, rpc("stream", {"count": 4, "interval": 1, "poll_at": 1}, id=8), sid
        ) as response:
            raw = await response.body()
            assert response.complete  # the connection ended cleanly, the stream did not
        assert raw.endswith(b"retry: 2000\n\n")
        assert b'"id":8' not in raw
        last_id = [line for line in raw.split(b"\n") if line.startswith(b"id: ")][-1][4:].decode()
        await trio.sleep(2)  # the client waits `retry`, the handler keeps producing
        async with asgi_request(mcp, "GET", headers=resume_headers(sid, last_id)) as resumed:
            rest = [m for _, m in await read_until_end(resumed)]
        assert [m.get("params", {}).get("progress") for m in rest[:-1]] == [2, 3]
        assert rest[-1] == {"jsonrpc": "2.0", "id": 8, "result": {"sent": 4}}


async def test_sse_polling_without_a_store_keeps_the_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Nothing could resume the stream: closing its connection would lose the answer."""
    async with running_app(ServerConfig(idle_timeout=IDLE)) as (mcp, _):
        sid = await initialize(mcp)
        async with post(
            mcp, rpc("stream", {"count": 3, "interval": 1, "poll_at": 0}, id=8), sid
        ) as response:
            events = await read_until_end(response)
        assert events[-1][1] == {"jsonrpc": "2.0", "id": 8, "result": {"sent": 3}}


async def test_resumed_stream_holds_the_session(autojump_clock: trio.testing.MockClock) -> None:
    async with running_app(config()) as (mcp, _):
        sid = await initialize(mcp)
        async with post(
            mcp, rpc("stream", {"count": 2, "interval": 10 * IDLE}, id=1), sid
        ) as response:
            prime = await response.next_event()
            response.disconnect()
        async with asgi_request(mcp, "GET", headers=resume_headers(sid, prime.id)) as resumed:
            rest = await read_until_end(resumed)
        assert rest[-1][1]["result"] == {"sent": 2}
        assert mcp.manager._find(sid) is not None


async def test_standalone_stream_resume_gets_missed_notifications() -> None:
    async with running_app(config()) as (mcp, _):
        sid = await initialize(mcp)
        async with asgi_request(
            mcp, "GET", headers=[("accept", "text/event-stream"), ("mcp-session-id", sid)]
        ) as stream:
            prime = await stream.next_event()
            await call(mcp, rpc("broadcast", {"data": 1}), sid)
            first = await stream.next_event()
            assert json.loads(first.data)["params"] == {"data": 1}
            stream.disconnect()
        await trio.testing.wait_all_tasks_blocked()
        for i in (2, 3):
            await call(mcp, rpc("broadcast", {"data": i}), sid)
        async with asgi_request(mcp, "GET", headers=resume_headers(sid, first.id)) as resumed:
            got = [json.loads((await resumed.next_event()).data)["params"] for _ in range(2)]
            assert got == [{"data": 2}, {"data": 3}]
            await call(mcp, rpc("broadcast", {"data": 4}), sid)
            assert json.loads((await resumed.next_event()).data)["params"] == {"data": 4}
        assert prime.id.startswith("g:")


async def test_unknown_or_foreign_last_event_id_gets_400() -> None:
    async with running_app(config()) as (mcp, _):
        sid = await initialize(mcp)
        other = await initialize(mcp)
        async with post(mcp, rpc("echo", id=1), other) as response:
            foreign = (await response.next_event()).id
            await response.body()
        for bad in ("nonsense", "p1:999", foreign.replace("p", "q")):
            async with asgi_request(mcp, "GET", headers=resume_headers(sid, bad)) as resumed:
                assert resumed.status == 400
                assert "Last-Event-ID" in json.loads(await resumed.body())["error"]["message"]


async def test_evicted_last_event_id_gets_410() -> None:
    store = MemoryEventStore(max_session_bytes=400)
    async with running_app(config(store)) as (mcp, _):
        sid = await initialize(mcp)
        async with post(mcp, rpc("progress", {"count": 20}, id=1), sid) as response:
            prime = await response.next_event()
            await response.body()
        async with asgi_request(mcp, "GET", headers=resume_headers(sid, prime.id)) as resumed:
            assert resumed.status == 410


async def test_store_freed_on_idle_expiry_and_delete(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = MemoryEventStore()
    async with running_app(config(store)) as (mcp, _):
        expiring = await initialize(mcp)
        deleted = await initialize(mcp)
        for sid in (expiring, deleted):
            await call(mcp, rpc("progress", {"count": 5}), sid)
        assert store.total_bytes > 0
        async with asgi_request(mcp, "DELETE", headers=[("mcp-session-id", deleted)]):
            pass
        await trio.sleep(IDLE + 1)
        assert store.total_bytes == 0
        assert mcp.statistics().sessions == 0


async def test_store_freed_after_the_last_words_of_cancelled_requests(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """DELETE during a request waiting on the client: its cancellation events are freed too.

    (Found by the fuzz test: the store was freed before the cancelled handler's error and the
    ``notifications/cancelled`` of its request to the client were stored.)
    """
    store = MemoryEventStore()
    async with running_app(config(store)) as (mcp, _):
        sid = await initialize(mcp)
        async with post(mcp, rpc("ask", {"q": "?"}, id=1), sid) as response:
            await response.next_event()  # priming
            await response.next_event()  # the server's request to the client
            async with asgi_request(mcp, "DELETE", headers=[("mcp-session-id", sid)]) as gone:
                assert gone.status == 200
            await response.body()
        await trio.sleep(1)
        assert mcp.statistics().session_tasks == 0
        assert store.total_bytes == 0


async def test_event_store_that_raises_does_not_break_the_session() -> None:
    class BrokenStore(MemoryEventStore):
        def append(self, session_id: str, stream_id: str, payload: bytes | None) -> str:
            raise OSError("disk on fire")

    async with running_app(config(BrokenStore())) as (mcp, _):
        sid = await initialize(mcp)
        status, messages = await call(mcp, rpc("echo", {"text": "still"}), sid)
        assert (status, messages[-1]["result"]) == (200, {"echo": "still"})


async def test_json_mode_ignores_the_store() -> None:
    async with running_app(config(json_response=True)) as (mcp, _):
        sid = await initialize(mcp)
        async with post(
            mcp, rpc("echo", {"text": "j"}), sid, headers=(ACCEPT_BOTH, JSON_CT)
        ) as response:
            assert json.loads(await response.body())["result"] == {"echo": "j"}
