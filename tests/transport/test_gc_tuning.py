"""``tune_gc``: the startup heap frozen, young collections rarer; ``serve`` tunes only if asked."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import trio

import trio_mcp_http
from tests.helpers import TinyApp
from trio_mcp_http import RunningServer
from trio_mcp_http._transport.gc_tuning import YOUNG_THRESHOLD


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Give the process back CPython's settings whatever the test did."""
    threshold = gc.get_threshold()
    frozen = gc.get_freeze_count()
    yield
    gc.set_threshold(*threshold)
    if frozen == 0:
        gc.unfreeze()


class Cycle:
    """An object in a reference cycle with itself."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_freezes_what_is_alive_and_raises_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    kept = Cycle()
    trio_mcp_http.tune_gc()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects())  # frozen: never scanned
    later = Cycle()
    assert any(o is later for o in gc.get_objects())  # made afterwards: collected as usual


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_keeps_a_larger_young_threshold() -> None:
    gc.set_threshold(YOUNG_THRESHOLD * 2, 5, 7)
    trio_mcp_http.tune_gc()
    assert gc.get_threshold() == (YOUNG_THRESHOLD * 2, 5, 7)


@pytest.mark.usefixtures("restored_gc")
@pytest.mark.parametrize("tune", [False, True])
async def test_serve_tunes_the_collector_only_when_asked(tune: bool) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    async with trio.open_nursery() as nursery:
        running: RunningServer = await nursery.start(
            lambda task_status: trio_mcp_http.serve(
                TinyApp(), tune_gc=tune, task_status=task_status
            )
        )
        assert (gc.get_freeze_count() > 0) is tune
        assert gc.get_threshold()[0] == (YOUNG_THRESHOLD if tune else 700)
        running.shutdown()
