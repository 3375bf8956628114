"""``tune_gc``: the startup heap frozen, young collections rarer; ``serve`` tunes only if asked."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import trio

import trio_mcp_http
from tests.helpers import TinyApp
from trio_mcp_http import RunningServer
from trio_mcp_http._transport import gc_tuning
from trio_mcp_http._transport.gc_tuning import YOUNG_THRESHOLD


@pytest.fixture
def restored_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start from an unfrozen heap in a process not yet tuned; give back the settings after."""
    threshold = gc.get_threshold()
    frozen = gc.get_freeze_count()
    monkeypatch.setattr(gc_tuning, "_froze", False)
    gc.unfreeze()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()
    if frozen:
        gc.freeze()


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
@pytest.mark.parametrize("young", [YOUNG_THRESHOLD * 2, 0])
def test_tune_gc_keeps_a_larger_young_threshold_or_collection_turned_off(young: int) -> None:
    gc.set_threshold(young, 5, 7)
    trio_mcp_http.tune_gc()
    assert gc.get_threshold() == (young, 5, 7)


@pytest.mark.usefixtures("restored_gc")
def test_only_the_first_call_freezes_the_heap() -> None:
    trio_mcp_http.tune_gc()
    later = Cycle()
    trio_mcp_http.tune_gc()  # a server started again in the same process
    assert any(o is later for o in gc.get_objects())  # not frozen: still collectable


@pytest.mark.usefixtures("restored_gc")
@pytest.mark.parametrize("tune", [False, True])
async def test_serve_tunes_the_collector_only_when_asked(tune: bool) -> None:
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
