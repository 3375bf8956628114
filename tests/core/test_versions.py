"""The table of protocol revisions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trio_mcp_http._core.versions import (
    ASSUMED_WITHOUT_HEADER,
    HANDSHAKE_VERSIONS,
    LATEST,
    LATEST_HANDSHAKE,
    PER_REQUEST_VERSIONS,
    REVISIONS,
    VERSIONS,
    Era,
    negotiate,
    revision,
)


def test_the_revisions_in_order_and_by_era() -> None:
    assert VERSIONS == ("2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")
    assert sorted(VERSIONS) == list(VERSIONS)
    assert VERSIONS[:3] == HANDSHAKE_VERSIONS
    assert PER_REQUEST_VERSIONS == ("2026-07-28",)
    assert (LATEST_HANDSHAKE, LATEST, ASSUMED_WITHOUT_HEADER) == (
        "2025-11-25",
        "2026-07-28",
        "2025-03-26",
    )


def test_features_of_each_revision() -> None:
    features = {
        r.version: (r.batches, r.priming, r.resumable, r.server_requests, r.sessions)
        for r in REVISIONS
    }
    assert features == {
        "2025-03-26": (True, False, True, True, True),
        "2025-06-18": (False, False, True, True, True),
        "2025-11-25": (False, True, True, True, True),
        "2026-07-28": (False, False, False, False, False),
    }
    assert all(r.standard_headers == (r.era is Era.PER_REQUEST) for r in REVISIONS)


@given(st.one_of(st.text(max_size=12), st.integers(), st.none(), st.booleans()))
def test_unknown_values_name_no_revision(value: object) -> None:
    found = revision(value)
    assert found is None or found.version == value


def test_negotiate_answers_the_requested_version_or_the_latest() -> None:
    assert negotiate("2025-06-18") == "2025-06-18"
    assert negotiate("2026-07-28") == "2025-11-25"  # not a handshake version
    assert negotiate("1999-01-01") == negotiate(None) == negotiate(3) == "2025-11-25"
    assert negotiate("2025-11-25", ("2025-03-26",)) == "2025-03-26"
