"""``hypercorn -k trio -w 2`` on one port, the 2026-07-28 wire: what the workers share.

The kernel hands each connection to either worker, so an input-required retry may reach the
other one (shared ``requestState`` keys), and listeners sit on either (a real redis-server
carries each change to all of them).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import trio

from trio_mcp_http.client import open_client

from ..engines import running_redis
from .cluster import ROOT

WAIT = 60.0
MODERN: Final = "2026-07-28"


@asynccontextmanager
async def hypercorn_workers(env: dict[str, str]) -> AsyncIterator[str]:
    """Two hypercorn-trio workers serving ``tests.deploy.app:app``; yields the endpoint URL."""
    command = [sys.executable, "-m", "hypercorn", "-k", "trio", "-w", "2",
               "-b", "127.0.0.1:0", "tests.deploy.app:app"]  # fmt: skip
    process = subprocess.Popen(  # noqa: ASYNC220 (started once; its output read in a thread)
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        with trio.fail_after(WAIT):
            while True:
                line = await trio.to_thread.run_sync(process.stdout.readline)
                found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
                if found is not None or not line:
                    break
        assert found is not None, "hypercorn did not start"
        yield found.group(1) + "/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


async def test_two_hypercorn_workers_share_request_state_and_changes() -> None:
    with running_redis() as redis:
        env = {"TMH_REDIS_URL": redis.url, "TMH_STATE_KEYS": secrets.token_hex(32)}
        async with hypercorn_workers(env) as url:
            pids: set[int] = set()

            async def elicit(params: dict[str, Any]) -> dict[str, Any]:
                return {"action": "accept", "content": {"name": "Ada"}}

            async def calls() -> None:
                async with open_client(
                    url, mode=MODERN, elicitation_callback=elicit, max_idle_connections=0
                ) as client:
                    for _ in range(10):
                        result = await client.call_tool("greet")
                        answer = json.loads(result.content[0]["text"])
                        assert answer["hello"] == "Ada"
                        pids.add(answer["pid"])

            heard: list[list[str]] = []
            ready = trio.Semaphore(0)

            async def listen() -> None:
                async with (
                    open_client(url, mode=MODERN) as client,
                    client.subscribe(resource_uris=["mem://doc/1"]) as changes,
                ):
                    mine: list[str] = []
                    heard.append(mine)
                    ready.release()
                    async for notification in changes:
                        assert notification.params is not None
                        mine.append(notification.params["uri"])

            with trio.fail_after(WAIT):
                async with trio.open_nursery() as nursery:
                    for _ in range(20):  # 200 calls, each an input-required round and a retry
                        nursery.start_soon(calls)
                async with trio.open_nursery() as nursery:
                    for _ in range(6):
                        nursery.start_soon(listen)
                    for _ in range(6):
                        await ready.acquire()
                    async with open_client(url, mode=MODERN) as caller:
                        await caller.call_tool("touch", {"uri": "mem://doc/1"})
                    while any(len(uris) < 1 for uris in heard):  # noqa: ASYNC110 (sockets)
                        await trio.sleep(0.01)
                    await trio.sleep(0.2)  # a duplicate would arrive right behind
                    assert heard == [["mem://doc/1"]] * 6
                    nursery.cancel_scope.cancel()
            print(f"calls answered by {len(pids)} worker processes")
