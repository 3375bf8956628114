"""MemoryEventStore.load_session: a session's events taken over from another process."""

from __future__ import annotations

from trio_mcp_http import MemoryEventStore, ReplayStatus


def test_loaded_events_replay_with_their_ids_and_later_ids_follow_them() -> None:
    store = MemoryEventStore()
    store.load_session("s", [("g:1", None), ("g:2", b"a"), ("p3:3", b"b"), ("g:4", b"c")],
                       complete=True)  # fmt: skip
    replay = store.replay("s", "g:1")
    assert (replay.status, replay.events) == (ReplayStatus.OK, (("g:2", b"a"), ("g:4", b"c")))
    assert store.replay("s", "p3:3").events == ()
    assert store.append("s", "g.ab", b"d") == "g.ab:5"  # numbered after the loaded ones
    assert store.replay("s", "g:9").status is ReplayStatus.UNKNOWN


def test_an_incomplete_list_refuses_resumes_from_before_it_as_evicted() -> None:
    store = MemoryEventStore()
    store.load_session("s", [("g:7", b"x"), ("g:8", b"y")], complete=False)
    assert store.replay("s", "g:6").events == (("g:7", b"x"), ("g:8", b"y"))  # nothing lost
    assert store.replay("s", "g:5").status is ReplayStatus.EVICTED
    store.load_session("s", [("g:1", b"z")], complete=True)  # already there: ignored
    assert store.replay("s", "g:7").events == (("g:8", b"y"),)
