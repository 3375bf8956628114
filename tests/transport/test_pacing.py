"""Notification pacing: a burst raised together goes out together, still cancellable."""

from __future__ import annotations

import json

import pytest
import trio

from tests.helpers import initialize, post, rpc, running_app
from trio_mcp_http._pacing import SENDS_PER_YIELD, paced_checkpoint


class _Yields(trio.abc.Instrument):
    """Counts the times ``task`` is rescheduled, that is, passes a schedule point."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.count = 0

    def task_scheduled(self, task: trio.lowlevel.Task) -> None:
        self.count += task is self.task


async def test_a_schedule_point_every_sends_per_yield_calls() -> None:
    yields = _Yields(trio.lowlevel.current_task())
    trio.lowlevel.add_instrument(yields)
    try:
        sends = 0
        for round_ in range(3):
            for _ in range(SENDS_PER_YIELD - 1):
                sends = await paced_checkpoint(sends)
            assert yields.count == round_  # cancel points only, so far
            sends = await paced_checkpoint(sends)
            assert (sends, yields.count) == (0, round_ + 1)
    finally:
        trio.lowlevel.remove_instrument(yields)


async def test_every_call_is_a_cancel_point() -> None:
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await paced_checkpoint(0)


async def test_a_burst_of_notifications_reaches_the_client_in_a_few_chunks() -> None:
    count = 4 * SENDS_PER_YIELD
    async with running_app() as (app, _tiny):
        sid = await initialize(app)
        async with post(app, rpc("progress", {"count": count}, id=7), sid) as response:
            assert response.headers["content-type"] == "text/event-stream"
            chunks = []
            while (chunk := await response.next_chunk()) is not None:
                chunks.append(chunk)
    messages = [
        json.loads(line[len(b"data: ") :])
        for line in b"".join(chunks).splitlines()
        if line.startswith(b"data: ")
    ]
    assert [m["params"]["progress"] for m in messages[:-1]] == list(range(count))
    assert messages[-1] == {"jsonrpc": "2.0", "id": 7, "result": {"done": True}}
    # One ASGI send per SENDS_PER_YIELD notifications (plus the answer), not one per message.
    assert len(chunks) <= count // SENDS_PER_YIELD + 2
