"""MemoryEventStore.load_session: a session's events taken over from another process."""

from __future__ import annotations

from trio_mcp_http import MemoryEventStore, ReplayStatus


def test_loaded_events_replay_with_their_ids_and_later_ids_follow_them() -> None:
    store = MemoryEventStore()
    store.load_session("s", [("g:1", None), ("g:2", b"a"), ("p3:3", b"b"), ("g:4", b"c")])
    replay = store.replay("s", "g:1")
    assert (replay.status, replay.events) == (ReplayStatus.OK, (("g:2", b"a"), ("g:4", b"c")))
    assert store.replay("s", "p3:3").events == ()
    assert store.append("s", "g.ab", b"d") == "g.ab:5"  # numbered after the loaded ones
    assert store.replay("s", "g:9").status is ReplayStatus.UNKNOWN


def test_ids_issued_elsewhere_but_never_copied_are_unknown_not_empty() -> None:
    store = MemoryEventStore()
    store.load_session("s", [("p1:1", None), ("p1:2", b"a")])  # p1:3 and p1:4 never copied
    store.append("s", "g.ab", b"x")
    store.append("s", "g.ab", b"y")  # seq 3 and 4 here: they must not stand for p1:3, p1:4
    assert store.replay("s", "p1:3").status is ReplayStatus.UNKNOWN
    assert store.replay("s", "p1:4").status is ReplayStatus.UNKNOWN


def test_only_the_run_after_the_last_gap_is_kept_and_before_it_is_evicted() -> None:
    store = MemoryEventStore()
    store.load_session("s", [("g:1", None), ("g:2", b"a"), ("g:5", b"x"), ("g:6", b"y")])
    assert store.replay("s", "g:4").events == (("g:5", b"x"), ("g:6", b"y"))  # nothing lost
    assert store.replay("s", "g:2").status is ReplayStatus.EVICTED  # 3 and 4 are missing
    store.load_session("s", [("g:1", b"z")])  # already there: ignored
    assert store.replay("s", "g:5").events == (("g:6", b"y"),)


def test_loading_respects_the_byte_budgets() -> None:
    store = MemoryEventStore(max_session_bytes=10_000, max_total_bytes=2_000)
    store.load_session("s", [(f"g:{n}", b"x" * 500) for n in range(1, 101)])
    assert store.total_bytes <= 2_000
    assert store.replay("s", "g:1").status is ReplayStatus.EVICTED
