"""The one table of MCP protocol revisions: which era each belongs to and what it has.

Theory of operation
-------------------
MCP has had two eras of its Streamable HTTP wire:

* the **handshake era** (2025-03-26, 2025-06-18, 2025-11-25): ``initialize`` negotiates one
  version for a session (``Mcp-Session-Id``); every later request of the session carries it in
  ``MCP-Protocol-Version``; GET opens a server-to-client stream, DELETE ends the session,
  streams are resumable, and the server sends requests to the client on its streams;
* the **per-request era** (2026-07-28): no handshake and no session; every request names its
  version and the client's capabilities in ``params._meta`` (and the version in the header),
  ``server/discover`` describes the server, ``subscriptions/listen`` replaces GET, and
  input-required results replace server-to-client requests.

Everything that depends on the revision asks this table (:func:`revision`) rather than
comparing version strings, so a new revision is one new row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ASSUMED_WITHOUT_HEADER",
    "HANDSHAKE_VERSIONS",
    "LATEST",
    "LATEST_HANDSHAKE",
    "PER_REQUEST_VERSIONS",
    "REVISIONS",
    "VERSIONS",
    "Era",
    "Revision",
    "negotiate",
    "revision",
]


class Era(enum.Enum):
    """How a revision establishes who the client is and what version it speaks."""

    HANDSHAKE = "handshake"
    """``initialize`` once, then a session (2025 revisions)."""
    PER_REQUEST = "per-request"
    """Every request says it all in ``_meta``; no session (2026-07-28 and later)."""


@dataclass(frozen=True, slots=True)
class Revision:
    """One protocol revision and the features of the wire that depend on it.

    Attributes:
        version: The version string (``YYYY-MM-DD``).
        era: Handshake (sessions) or per-request.
        batches: JSON-RPC batches are allowed in a POST body (2025-03-26 only).
        priming: SSE streams start with an event that has an id and no data, so a client
            can resume a stream that dropped before its first message (2025-11-25).
        resumable: Streams have event ids and resume with ``Last-Event-ID``.
        server_requests: The server may send JSON-RPC requests (sampling, elicitation,
            roots, ping) to the client; in the per-request era it asks with input-required
            results instead.
        standard_headers: Requests carry ``Mcp-Method`` and ``Mcp-Name`` headers that must
            match the body.
    """

    version: str
    era: Era
    batches: bool = False
    priming: bool = False
    resumable: bool = True
    server_requests: bool = True
    standard_headers: bool = False

    @property
    def sessions(self) -> bool:
        """Whether the revision has sessions (``initialize``, ``Mcp-Session-Id``, GET, DELETE)."""
        return self.era is Era.HANDSHAKE


#: Every revision this package knows, oldest first.
REVISIONS: Final[tuple[Revision, ...]] = (
    Revision("2025-03-26", Era.HANDSHAKE, batches=True),
    Revision("2025-06-18", Era.HANDSHAKE),
    Revision("2025-11-25", Era.HANDSHAKE, priming=True),
    Revision(
        "2026-07-28",
        Era.PER_REQUEST,
        resumable=False,
        server_requests=False,
        standard_headers=True,
    ),
)
_BY_VERSION: Final = {r.version: r for r in REVISIONS}

#: Every known version, oldest first.
VERSIONS: Final[tuple[str, ...]] = tuple(r.version for r in REVISIONS)
#: The handshake-era versions, oldest first.
HANDSHAKE_VERSIONS: Final[tuple[str, ...]] = tuple(
    r.version for r in REVISIONS if r.era is Era.HANDSHAKE
)
#: The per-request-era versions, oldest first.
PER_REQUEST_VERSIONS: Final[tuple[str, ...]] = tuple(
    r.version for r in REVISIONS if r.era is Era.PER_REQUEST
)
#: The newest handshake-era version (what ``initialize`` falls back to).
LATEST_HANDSHAKE: Final = HANDSHAKE_VERSIONS[-1]
#: The newest version of all.
LATEST: Final = VERSIONS[-1]
#: The version assumed for a handshake-era request without ``MCP-Protocol-Version``: the spec
#: lets a server treat such a request as 2025-03-26, whose clients did not send the header.
ASSUMED_WITHOUT_HEADER: Final = HANDSHAKE_VERSIONS[0]


def revision(version: object) -> Revision | None:
    """The known revision of a version string, or ``None`` for anything else."""
    return _BY_VERSION.get(version) if isinstance(version, str) else None


def negotiate(requested: object, offered: tuple[str, ...] = HANDSHAKE_VERSIONS) -> str:
    """The version an ``initialize`` answers with: the one requested, if offered, else the latest.

    Args:
        requested: ``params.protocolVersion`` of the ``initialize`` request (any JSON value).
        offered: The handshake-era versions the server serves, oldest first.
    """
    if isinstance(requested, str) and requested in offered:
        return requested
    return offered[-1]
