"""What the client does with the requests a server sends it: route them to the callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._core.jsonrpc import METHOD_NOT_FOUND, JsonRpcError

if TYPE_CHECKING:
    from .._core.jsonrpc import Request
    from ._types import (
        ElicitationCallback,
        ListRootsCallback,
        NotificationCallback,
        RequestCallback,
        SamplingCallback,
    )

__all__ = ["Callbacks"]


@dataclass(frozen=True, slots=True)
class Callbacks:
    """The application's answers to server-initiated messages.

    Attributes:
        on_notification: Receives notifications (other than progress of a request that has a
            progress callback, and cancellations, which the client handles itself).
        on_request: Answers requests no typed callback takes.
        sampling: Answers ``sampling/createMessage``.
        elicitation: Answers ``elicitation/create``.
        list_roots: Answers ``roots/list``.
    """

    on_notification: NotificationCallback | None = None
    on_request: RequestCallback | None = None
    sampling: SamplingCallback | None = None
    elicitation: ElicitationCallback | None = None
    list_roots: ListRootsCallback | None = None

    def capabilities(self) -> dict[str, Any]:
        """The client capabilities implied by the typed callbacks that are set."""
        capabilities: dict[str, Any] = {}
        if self.sampling is not None:
            capabilities["sampling"] = {}
        if self.elicitation is not None:
            capabilities["elicitation"] = {}
        if self.list_roots is not None:
            capabilities["roots"] = {}
        return capabilities

    async def answer(self, request: Request) -> dict[str, Any]:
        """Compute the result of a server request.

        ``ping`` is answered at once with ``{}`` (spec: "respond promptly").

        Args:
            request: The server's request.

        Returns:
            The ``result`` member of the response.

        Raises:
            JsonRpcError: The callback's error, or -32601 when nothing handles the method.
        """
        method, params = request.method, request.params or {}
        if method == "ping":
            return {}
        if method == "sampling/createMessage" and self.sampling is not None:
            return await self.sampling(params)
        if method == "elicitation/create" and self.elicitation is not None:
            return await self.elicitation(params)
        if method == "roots/list" and self.list_roots is not None:
            return {"roots": await self.list_roots()}
        if self.on_request is not None:
            return await self.on_request(request)
        raise JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
