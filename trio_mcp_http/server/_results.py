"""Typed results: what tools may return in full, and what the client answers the server."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._content import ContentBlock, dump

__all__ = [
    "ElicitResult",
    "InputRequiredResult",
    "Root",
    "SamplingResult",
    "ToolAnnotations",
    "ToolResult",
]


def _wire(name: str, default: Any = None) -> Any:
    return Field(default, validation_alias=name, serialization_alias=name)


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True
    )


class ToolAnnotations(_Model):
    """Hints about a tool's behaviour, listed with it (clients must not trust them).

    Attributes:
        title: A display title.
        read_only_hint: The tool does not modify its environment.
        destructive_hint: The tool may perform destructive updates.
        idempotent_hint: Calling it again with the same arguments has no further effect.
        open_world_hint: The tool interacts with an open world of external entities.
    """

    title: str | None = None
    read_only_hint: bool | None = _wire("readOnlyHint")
    destructive_hint: bool | None = _wire("destructiveHint")
    idempotent_hint: bool | None = _wire("idempotentHint")
    open_world_hint: bool | None = _wire("openWorldHint")


class ToolResult(_Model):
    """A complete ``tools/call`` result, for tools that need full control over it.

    Attributes:
        content: The content blocks.
        structured_content: The structured result (for tools with an output schema).
        is_error: Whether the result reports an error.
        meta: Optional ``_meta`` object.
    """

    content: list[ContentBlock] = Field(default_factory=list)
    structured_content: dict[str, Any] | None = _wire("structuredContent")
    is_error: bool = _wire("isError", False)
    meta: dict[str, Any] | None = _wire("_meta")

    def to_result(self) -> dict[str, Any]:
        """Return the wire ``result`` object (``isError`` only when true)."""
        out = dump(self)
        if not self.is_error:
            out.pop("isError", None)
        return out


class InputRequiredResult(_Model):
    """An input-required answer built by the handler itself (per-request era).

    For handlers that manage ``requestState`` themselves (``own_request_state=True``); others
    just await ``ctx.elicit(...)`` and friends, and the server builds this answer.

    Attributes:
        input_requests: What the client must answer, by key: ``{"method", "params"}`` each.
        request_state: An opaque string the client sends back with its answers.
    """

    input_requests: dict[str, dict[str, Any]] = _wire("inputRequests", None)
    request_state: str | None = _wire("requestState")

    def to_result(self) -> dict[str, Any]:
        """The wire ``result`` object."""
        out: dict[str, Any] = {"resultType": "input_required"}
        if self.input_requests:
            out["inputRequests"] = self.input_requests
        if self.request_state is not None:
            out["requestState"] = self.request_state
        return out


class SamplingResult(_Model):
    """The client's answer to ``sampling/createMessage``.

    Attributes:
        role: Who wrote the message (normally ``"assistant"``).
        content: The content block, or a list of blocks (2025-11-25), as sent by the client.
        model: The model that produced it.
        stop_reason: Why sampling stopped (``endTurn``, ``maxTokens``, ...), if given.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        protected_namespaces=(),
    )

    role: str
    content: dict[str, Any] | list[dict[str, Any]]
    model: str
    stop_reason: str | None = _wire("stopReason")

    @property
    def text(self) -> str | None:
        """The text of the first text block, or ``None`` if there is none."""
        blocks = self.content if isinstance(self.content, list) else [self.content]
        for block in blocks:
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                text: str = block["text"]
                return text
        return None


class ElicitResult(_Model):
    """The client's answer to ``elicitation/create``.

    Attributes:
        action: ``"accept"``, ``"decline"`` or ``"cancel"``.
        content: The values the user submitted (with ``"accept"`` only).
    """

    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None


class Root(_Model):
    """A root the client exposes (from ``roots/list``).

    Attributes:
        uri: The root's URI (a ``file://`` URI).
        name: An optional name.
    """

    uri: str
    name: str | None = None
