"""LocalBus: every subscriber gets every change in order; one that falls behind is dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from trio_mcp_http.server import Change, LocalBus, SubscriptionLost


async def collect(changes: AsyncIterator[Change], into: list[Change]) -> None:
    async for change in changes:
        into.append(change)  # noqa: PERF401 (kept as they come: the reader is cancelled)


async def test_each_subscriber_gets_every_change_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus = LocalBus()
    got: tuple[list[Change], list[Change]] = ([], [])
    async with trio.open_nursery() as nursery:
        for into in got:

            async def listen(into: list[Change] = into) -> None:
                async with bus.subscribe() as changes:
                    await collect(changes, into)

            nursery.start_soon(listen)
        await trio.testing.wait_all_tasks_blocked()
        assert bus.subscribers == 2
        sent = [Change("resource", f"mem://{i}") for i in range(300)]
        for change in sent[:200]:  # a burst: queued while the readers are not running
            await bus.publish(change)
        await trio.testing.wait_all_tasks_blocked()
        for change in sent[200:]:  # one at a time: each reader parks in between
            await bus.publish(change)
            await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert got == (sent, sent)
    assert bus.subscribers == 0


async def test_a_subscriber_that_falls_behind_reads_what_it_had_then_is_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus = LocalBus(buffer=5)
    async with bus.subscribe() as slow, bus.subscribe() as live:
        for i in range(5):
            await bus.publish(Change("resource", f"mem://{i}"))
            assert (await live.__anext__()).uri == f"mem://{i}"
        await bus.publish(Change("tools"))  # the sixth change unread: the slow one is dropped
        assert bus.subscribers == 1
        assert await live.__anext__() == Change("tools")
        assert [(await slow.__anext__()).uri for _ in range(5)] == [f"mem://{i}" for i in range(5)]
        with pytest.raises(SubscriptionLost):
            await slow.__anext__()


@pytest.mark.parametrize("buffer", [0, 2])
async def test_a_change_handed_to_a_waiting_reader_takes_no_buffer_slot(
    buffer: int, autojump_clock: trio.testing.MockClock
) -> None:
    bus = LocalBus(buffer=buffer)  # as a memory channel: the waiting reader, then the buffer
    got: list[Change] = []
    async with trio.open_nursery() as nursery:

        async def listen() -> None:
            async with bus.subscribe() as changes:
                with pytest.raises(SubscriptionLost):
                    await collect(changes, got)

        nursery.start_soon(listen)
        await trio.testing.wait_all_tasks_blocked()
        for i in range(buffer + 2):  # the last one overflows
            await bus.publish(Change("resource", f"mem://{i}"))
    assert [change.uri for change in got] == [f"mem://{i}" for i in range(buffer + 1)]


async def test_a_reader_that_never_quite_catches_up_holds_a_bounded_queue(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus = LocalBus(buffer=10)
    async with bus.subscribe() as changes:
        await bus.publish(Change("tools"))
        for _ in range(1000):  # always one change behind
            await bus.publish(Change("prompts"))
            await changes.__anext__()
            assert len(changes._subscriber.changes) <= 64 + 10  # type: ignore[attr-defined]
        assert await changes.__anext__() == Change("prompts")


async def test_leaving_or_cancelling_a_subscription_unsubscribes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus = LocalBus()
    with trio.move_on_after(1):
        async with bus.subscribe() as changes:
            assert bus.subscribers == 1
            await changes.__anext__()  # parked until cancelled
    assert bus.subscribers == 0
    await bus.publish(Change("tools"))  # nobody to deliver to
