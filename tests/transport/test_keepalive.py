"""The keep-alive clock: one task tells each silent stream when its comment is due."""

from __future__ import annotations

import trio
import trio.testing

from trio_mcp_http._transport.connection import Connection
from trio_mcp_http._transport.keepalive import KeepaliveClock


class Stream:
    def __init__(self, name: str, told: list[tuple[str, float]]) -> None:
        self.name = name
        self.told = told

    def keepalive_due(self) -> None:
        self.told.append((self.name, trio.current_time()))


async def running_clock(
    nursery: trio.Nursery, interval: float
) -> tuple[KeepaliveClock, list[tuple[str, float]]]:
    """A started clock and the list its test streams record their comments in."""
    clock = KeepaliveClock(interval)
    await nursery.start(clock.run)
    return clock, []


async def test_each_armed_stream_is_told_one_interval_after_its_last_write(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    clock, told = await running_clock(nursery, 10)
    t0 = trio.current_time()
    a, b, c = Stream("a", told), Stream("b", told), Stream("c", told)
    clock.arm(a)
    await trio.sleep(3)
    clock.arm(b)
    clock.arm(c)
    await trio.sleep(4)
    clock.arm(a)  # a wrote again at t0 + 7: its comment moves to t0 + 17
    clock.disarm(c)  # c ended
    await trio.sleep(20)
    assert [(name, round(at - t0, 6)) for name, at in told] == [("b", 13), ("a", 17)]
    assert len(clock) == 0  # told streams stay disarmed until they write again


async def test_streams_due_together_are_told_in_one_wakeup(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    clock, told = await running_clock(nursery, 15)
    for i in range(100):
        clock.arm(Stream(str(i), told))
        await trio.sleep(0.0001)  # within the slack (a thousandth of the interval)
    await trio.sleep(16)
    assert len(told) == 100
    assert len({at for _, at in told}) == 1


async def test_an_empty_clock_waits_for_the_first_arm(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    clock, told = await running_clock(nursery, 5)
    await trio.sleep(3600)
    t0 = trio.current_time()
    clock.arm(Stream("late", told))
    await trio.sleep(6)
    assert told == [("late", t0 + 5)]


async def test_due_keepalive_wakes_a_parked_writer_and_is_taken_once() -> None:
    connection = Connection(4)
    woke = trio.Event()

    async def writer() -> None:
        await connection.wait()
        woke.set()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            await trio.testing.wait_all_tasks_blocked()
            connection.keepalive_due()
            await woke.wait()
    assert connection.take_keepalive()
    assert not connection.take_keepalive()
    assert connection.take() == ([], False)


async def test_a_parked_writer_can_be_cancelled_and_nothing_wakes_it_later(
    autojump_clock: trio.testing.MockClock,
) -> None:
    connection = Connection(4)
    with trio.move_on_after(1) as scope:
        await connection.wait()
    assert scope.cancelled_caught
    connection.push(b"x")  # nobody is parked any more: no reschedule of a finished wait
    connection.keepalive_due()
    await connection.wait()  # returns at once: a frame is queued
    assert connection.take() == ([b"x"], False)


async def test_abort_wakes_a_parked_writer_then_cancels_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    connection = Connection(4)
    with trio.CancelScope() as scope:
        connection.bind_writer(scope)
        async with trio.open_nursery() as nursery:

            async def abort_later() -> None:
                await trio.sleep(1)
                connection.abort()

            nursery.start_soon(abort_later)
            await connection.wait()  # woken by the abort...
            assert connection.aborted
            await trio.lowlevel.checkpoint()  # ...and cancelled at its next checkpoint
            raise AssertionError("the aborted writer went on")  # pragma: no cover
    assert scope.cancelled_caught
    assert connection.aborted
