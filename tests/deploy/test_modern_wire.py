"""The 2026-07-28 wire on three worker processes behind real HAProxy and nginx, no affinity.

What crosses workers: the ``requestState`` keys (shared by configuration, so an
input-required retry may land anywhere) and the notification bus (a real redis-server, so a
change raised on one worker reaches the listeners of all of them).
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Iterator
from typing import Any, Final

import pytest
import trio

from trio_mcp_http.client import open_client

from ..engines import Redis, running_redis
from .cluster import Proxy, ProxyKind, Worker, cluster

CALLS = 500  # each is two requests: the input-required round and the retry
URIS = [f"mem://doc/{n}" for n in range(20)]
WAIT = 60.0
MODERN: Final = "2026-07-28"


@pytest.fixture
def redis() -> Iterator[Redis]:
    with running_redis() as server:
        yield server


@pytest.fixture(params=["haproxy", "nginx"])
def deployment(
    request: pytest.FixtureRequest, redis: Redis
) -> Iterator[tuple[Proxy, list[Worker], Redis]]:
    kind: ProxyKind = request.param
    env = {"TMH_REDIS_URL": redis.url, "TMH_STATE_KEYS": secrets.token_hex(32)}
    with cluster(kind, env) as (proxy, workers):
        yield proxy, workers, redis


def text_of(result: Any) -> Any:
    return json.loads(result.content[0]["text"])


async def test_input_required_retries_are_verified_by_whichever_worker_gets_them(
    deployment: tuple[Proxy, list[Worker], Redis],
) -> None:
    proxy, _, _ = deployment
    pairs: Counter[tuple[str, str]] = Counter()

    async def calls(count: int) -> None:
        asked_by: list[str] = []

        async def elicit(params: dict[str, Any]) -> dict[str, Any]:
            asked_by.append(params["message"].removeprefix("Name? (asked by ").rstrip(")"))
            return {"action": "accept", "content": {"name": "Ada"}}

        async with open_client(proxy.url, mode=MODERN, elicitation_callback=elicit) as client:
            for _ in range(count):
                answer = text_of(await client.call_tool("greet"))
                assert answer["hello"] == "Ada"
                pairs[(asked_by.pop(), answer["worker"])] += 1

    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(calls, CALLS // 20)
    assert sum(pairs.values()) == CALLS
    crossed = sum(n for (asker, completer), n in pairs.items() if asker != completer)
    assert crossed >= CALLS // 4, pairs  # round-robin sends most retries to another worker


async def listen_everywhere(
    nursery: trio.Nursery, proxy: Proxy, workers: list[Worker], heard: dict[int, list[str]]
) -> None:
    """Two listeners on each worker (directly) and three through the proxy, all acknowledged."""
    urls = [worker.url for worker in workers for _ in range(2)] + [proxy.url] * 3
    ready = trio.Semaphore(0)

    async def listen(index: int, url: str) -> None:
        async with (
            open_client(url, mode=MODERN) as client,
            client.subscribe(resource_uris=URIS) as changes,
        ):
            assert changes.honoured == {"resourceSubscriptions": sorted(URIS)}
            heard[index] = []
            ready.release()
            async for notification in changes:  # only those carrying its subscription id
                assert notification.params is not None
                heard[index].append(notification.params["uri"])

    for index, url in enumerate(urls):
        nursery.start_soon(listen, index, url)
    with trio.fail_after(WAIT):
        for _ in urls:
            await ready.acquire()


async def wait_for(heard: dict[int, list[str]], count: int) -> None:
    with trio.fail_after(WAIT):
        while any(len(uris) < count for uris in heard.values()):  # noqa: ASYNC110 (real sockets)
            await trio.sleep(0.01)
    await trio.sleep(0.2)  # a duplicate would arrive right behind: give it the chance


async def test_listeners_on_every_worker_hear_each_change_once(
    deployment: tuple[Proxy, list[Worker], Redis],
) -> None:
    proxy, workers, _ = deployment
    heard: dict[int, list[str]] = {}
    async with trio.open_nursery() as nursery, open_client(proxy.url, mode=MODERN) as caller:
        await listen_everywhere(nursery, proxy, workers, heard)
        raised_on: Counter[str] = Counter()
        for uri in URIS:
            raised_on[(await caller.call_tool("touch", {"uri": uri})).content[0]["text"]] += 1
        assert set(raised_on) == {"w1", "w2", "w3"}  # changes raised on every worker
        await wait_for(heard, len(URIS))
        assert len(heard) == 9
        for uris in heard.values():
            assert sorted(uris) == sorted(URIS)  # 0 lost, 0 duplicated
        nursery.cancel_scope.cancel()


async def bus_health(worker: Worker) -> dict[str, Any]:
    async with open_client(worker.url, mode=MODERN) as client:
        health: dict[str, Any] = text_of(await client.call_tool("bus_health"))
        return health


async def test_redis_restarted_mid_run_holds_no_request_and_the_bus_reconnects(
    deployment: tuple[Proxy, list[Worker], Redis],
) -> None:
    proxy, workers, redis = deployment
    heard: dict[int, list[str]] = {}
    async with trio.open_nursery() as nursery, open_client(proxy.url, mode=MODERN) as caller:
        await listen_everywhere(nursery, proxy, workers, heard)
        redis.stop()
        slowest, raised_on = 0.0, {}
        for uri in URIS[:10]:  # Redis is gone: every call is answered all the same, at once
            started = trio.current_time()
            with trio.fail_after(3):
                result = await caller.call_tool("touch", {"uri": uri})
            raised_on[uri] = result.content[0]["text"]
            slowest = max(slowest, trio.current_time() - started)
        assert slowest < 2.0
        redis.start()
        with trio.fail_after(WAIT):
            while not all([(await bus_health(worker))["connected"] for worker in workers]):  # noqa: ASYNC110
                await trio.sleep(0.05)
        assert all([(await bus_health(worker))["reconnects"] >= 1 for worker in workers])
        for uri in URIS[10:]:
            await caller.call_tool("touch", {"uri": uri})
        with trio.fail_after(WAIT):
            while any(not set(URIS[10:]) <= set(uris) for uris in heard.values()):  # noqa: ASYNC110
                await trio.sleep(0.01)
        await trio.sleep(0.2)  # a duplicate would arrive right behind: give it the chance
        for index, uris in heard.items():
            assert len(uris) == len(set(uris))  # never twice
            if index < 6:  # on the worker that raised it, a change was heard at once
                worker = workers[index // 2].name
                assert {uri for uri, w in raised_on.items() if w == worker} <= set(uris)
        nursery.cancel_scope.cancel()
