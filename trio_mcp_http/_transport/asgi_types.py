"""The ASGI callables, typed once for the transport."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["ASGIReceive", "ASGISend", "Scope"]

Scope = dict[str, Any]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
