"""Caching hints of per-request-era results (``ttlMs``, ``cacheScope``).

``server/discover`` and the lists carry the server's hints; ``resources/read`` those of the
resource read (its registration's, else the server's read defaults). A result produced by an
input-required retry is never cacheable (``ttlMs: 0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

__all__ = ["CacheHints", "CacheScope"]

CacheScope: TypeAlias = Literal["public", "private"]
"""Who may reuse a cached result: anyone, or the same authorization context only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheHints:
    """The server's caching hints.

    Attributes:
        ttl_ms: How long discover and list results stay fresh, in milliseconds (0: stale).
        scope: Who may reuse them.
        read_ttl_ms: The same for ``resources/read``, unless the resource has its own.
        read_scope: The same for ``resources/read``, unless the resource has its own.
    """

    ttl_ms: int = 0
    scope: CacheScope = "public"
    read_ttl_ms: int = 0
    read_scope: CacheScope = "private"

    def __post_init__(self) -> None:
        if self.ttl_ms < 0 or self.read_ttl_ms < 0:
            raise ValueError("ttl_ms must not be negative")

    def hints(self) -> dict[str, Any]:
        """The hints of discover and list results."""
        return {"ttlMs": self.ttl_ms, "cacheScope": self.scope}

    def read_hints(
        self, ttl_ms: int | None, scope: CacheScope | None, *, retried: bool
    ) -> dict[str, Any]:
        """The hints of a read (a resource's own ``ttl_ms``/``scope`` when not ``None``)."""
        ttl = 0 if retried else (self.read_ttl_ms if ttl_ms is None else ttl_ms)
        return {"ttlMs": ttl, "cacheScope": self.read_scope if scope is None else scope}
