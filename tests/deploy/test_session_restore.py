"""Session restore across worker processes: a killed worker's sessions carry on elsewhere.

Three workers save their sessions in a real redis-server (``--session-store``); when one is
killed with SIGKILL, the proxy sends its sessions' requests to the next worker, which restores
them from Redis: same session ids, no new initialize, the client's log level and resource
subscriptions kept, the GET stream resumed on the new owner from the events in Redis.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import trio

from trio_mcp_http import RedisSessionStore
from trio_mcp_http.client import McpClient, open_client

from ..engines import Redis, running_redis
from .cluster import Proxy, ProxyKind, Worker, cluster

SESSIONS = 30
WAIT = 60.0
NEXT = {"w1": "w2", "w2": "w3", "w3": "w1"}  # the failover order of both configs


@pytest.fixture(params=["haproxy", "nginx"])
def deployment(request: pytest.FixtureRequest) -> Iterator[tuple[Proxy, list[Worker], Redis]]:
    kind: ProxyKind = request.param
    with running_redis() as redis:
        env = {"TMH_REDIS_URL": redis.url}  # the bus too: a change reaches every worker
        options = ["--session-store", redis.url, "--event-store", redis.url]
        with cluster(kind, env, options) as (proxy, workers):
            yield proxy, workers, redis


async def wait_until_saved(redis: Redis, clients: list[McpClient]) -> None:
    """Until every session's record holds its last change (written in the background)."""
    store = RedisSessionStore(redis.url)
    with trio.fail_after(WAIT):
        for client in clients:
            assert client.session_id is not None
            while True:
                record = await store.load(client.session_id)
                if record is not None and record.state.get("logLevel") == "error":
                    break
                await trio.sleep(0.01)
    await store.aclose()


async def whoami(client: McpClient) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads((await client.call_tool("whoami")).content[0]["text"])
    return answer


async def test_a_killed_worker_s_sessions_are_restored_by_the_next_one(
    deployment: tuple[Proxy, list[Worker], Redis],
) -> None:
    proxy, workers, redis = deployment
    updates: dict[str, list[str]] = {}
    clients: list[McpClient] = []
    opened = trio.Event()

    async def hold_one(index: int) -> None:
        uri = f"mem://doc/{index}"

        async def on_notification(notification: Any) -> None:
            if notification.method == "notifications/resources/updated":
                updates.setdefault(uri, []).append(notification.params["uri"])

        async with open_client(
            proxy.url, mode="legacy", listen=True, on_notification=on_notification
        ) as client:
            await client.subscribe_resource(uri)
            await client.set_logging_level("error")
            clients.append(client)
            if len(clients) == SESSIONS:
                opened.set()
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        for index in range(SESSIONS):
            nursery.start_soon(hold_one, index)
        with trio.fail_after(WAIT):
            await opened.wait()
        ids = {id(client): client.session_id for client in clients}
        moved = [c for c in clients if (c.session_id or "").startswith("w1-")]
        assert moved and len(moved) < SESSIONS
        await wait_until_saved(redis, clients)
        workers[0].kill()

        with trio.fail_after(WAIT):
            for client in clients:
                answer = await whoami(client)
                owner = (client.session_id or "").split("-")[0]
                assert answer == {"worker": NEXT.get(owner, owner) if client in moved else owner,
                                  "session": ids[id(client)]}  # fmt: skip
        assert all(client.session_resets == 0 for client in clients)  # never re-initialized
        assert all(client.session_id == ids[id(client)] for client in clients)

        # The subscriptions moved too: an update raised anywhere reaches every session, the
        # moved ones on their GET stream reopened on the new owner.
        with trio.fail_after(WAIT):
            while not all(client.listening for client in clients):  # noqa: ASYNC110
                await trio.sleep(0.02)
            for index in range(SESSIONS):
                await clients[0].call_tool("touch", {"uri": f"mem://doc/{index}"})
            while len(updates) < SESSIONS or any(len(u) < 1 for u in updates.values()):  # noqa: ASYNC110
                await trio.sleep(0.02)
        assert all(uris == [uri] for uri, uris in updates.items())  # each once, its own
        nursery.cancel_scope.cancel()
