"""Handshake-era sessions on three worker processes behind real HAProxy and nginx.

Every request of a session must reach the worker that owns it (its id's prefix names it);
when that worker dies, its sessions get 404 through the proxy, clients start new sessions on
the others, and the other workers' sessions carry on untouched.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import trio

from trio_mcp_http.client import McpClient, open_client

from .cluster import Proxy, ProxyKind, Worker, cluster
from .wire import post

SESSIONS = 200
REQUESTS = 20
WAIT = 60.0
SESSION_GONE = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}'


@pytest.fixture(params=["haproxy", "nginx"])
def deployment(request: pytest.FixtureRequest) -> Iterator[tuple[Proxy, list[Worker]]]:
    kind: ProxyKind = request.param
    with cluster(kind) as running:
        yield running


def owner_of(client: McpClient) -> str:
    assert client.session_id is not None
    return client.session_id.split("-", 1)[0]


async def whoami(client: McpClient) -> dict[str, Any]:
    result = await client.call_tool("whoami")
    answer: dict[str, Any] = json.loads(result.content[0]["text"])
    return answer


async def test_every_request_of_every_session_reaches_its_owner(
    deployment: tuple[Proxy, list[Worker]],
) -> None:
    proxy, _ = deployment
    owners: Counter[str] = Counter()
    misrouted: list[tuple[str | None, Any]] = []
    resets = 0

    async def one_session() -> None:
        nonlocal resets
        nudged = trio.Event()
        heard: list[Any] = []

        async def on_notification(notification: Any) -> None:
            heard.append(notification.params["data"]["worker"])
            nudged.set()

        async with open_client(
            proxy.url, mode="legacy", on_notification=on_notification, listen=True
        ) as client:
            owner = owner_of(client)
            owners[owner] += 1
            for _ in range(REQUESTS):
                answer = await whoami(client)
                if answer != {"worker": owner, "session": client.session_id}:
                    misrouted.append((client.session_id, answer))
            assert client.listening
            await client.call_tool("nudge")  # travels on the GET stream: the owner holds it
            await nudged.wait()
            if heard != [owner]:
                misrouted.append((client.session_id, heard))
            resets += client.session_resets

    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            for _ in range(SESSIONS):
                nursery.start_soon(one_session)
    assert misrouted == []
    assert resets == 0  # no "session not found"
    assert sum(owners.values()) == SESSIONS
    assert set(owners) == {"w1", "w2", "w3"}
    assert min(owners.values()) >= SESSIONS // 5, owners  # initializes spread round-robin


async def test_a_killed_worker_s_sessions_get_404_and_start_again_elsewhere(
    deployment: tuple[Proxy, list[Worker]],
) -> None:
    proxy, workers = deployment
    async with trio.open_nursery() as nursery:
        clients: list[McpClient] = []
        opened = trio.Event()

        async def hold_one() -> None:
            async with open_client(proxy.url, mode="legacy", listen=True) as client:
                clients.append(client)
                if len(clients) == 30:
                    opened.set()
                await trio.sleep_forever()

        for _ in range(30):
            nursery.start_soon(hold_one)
        with trio.fail_after(WAIT):
            await opened.wait()
        before = {id(client): client.session_id for client in clients}
        lost = [client for client in clients if owner_of(client) == "w1"]
        assert lost and len(lost) < len(clients)
        workers[0].kill()

        # A request for a w1 session goes to another worker, which answers 404 itself.
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        status, _, body = await post(proxy.port, ping, session_id=lost[0].session_id)
        assert (status, body) == (404, SESSION_GONE)
        with trio.fail_after(WAIT):
            for client in clients:
                answer = await whoami(client)
                assert answer["worker"] in ("w2", "w3")
                assert answer["session"] == client.session_id
        for client in clients:
            if client in lost:
                assert client.session_resets == 1 and client.session_id != before[id(client)]
            else:
                assert client.session_resets == 0 and client.session_id == before[id(client)]
        nursery.cancel_scope.cancel()
