"""Light typed views of MCP results, and the client's callback types.

The models keep every member the server sent (``extra="allow"``), name fields in snake_case
(``result.next_cursor`` for ``nextCursor``) and validate leniently: they type the members the
client relies on without rejecting a server that adds more. Content blocks, schemas and
capabilities stay plain ``dict`` objects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from .._core.jsonrpc import Notification, Request
from ._errors import McpProtocolError

__all__ = [
    "CallToolResult",
    "CompleteResult",
    "Completion",
    "ElicitationCallback",
    "GetPromptResult",
    "Implementation",
    "InitializeResult",
    "ListPromptsResult",
    "ListResourceTemplatesResult",
    "ListResourcesResult",
    "ListRootsCallback",
    "ListToolsResult",
    "NotificationCallback",
    "ProgressCallback",
    "PromptArgument",
    "PromptInfo",
    "ReadResourceResult",
    "ReconnectPolicy",
    "RequestCallback",
    "ResourceInfo",
    "ResourceTemplateInfo",
    "SamplingCallback",
    "SessionResetCallback",
    "ToolInfo",
]


_M = TypeVar("_M", bound=BaseModel)


def validate(model: type[_M], result: dict[str, Any]) -> _M:
    """Read a server's result as ``model``; ``McpProtocolError`` if it does not fit."""
    try:
        return model.model_validate(result)
    except ValidationError as exc:
        raise McpProtocolError(f"invalid {model.__name__} from the server: {exc}") from exc


class McpModel(BaseModel):
    """Base of the result models: snake_case fields, camelCase on the wire, extras kept."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )


class Implementation(McpModel):
    """The name and version of an MCP implementation (``serverInfo``)."""

    name: str
    version: str
    title: str | None = None


class InitializeResult(McpModel):
    """The server's answer to ``initialize``."""

    protocol_version: str
    capabilities: dict[str, Any] = Field(default_factory=dict)
    server_info: Implementation
    instructions: str | None = None


class ToolInfo(McpModel):
    """A tool the server offers."""

    name: str
    title: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None


class ListToolsResult(McpModel):
    """One page of ``tools/list``."""

    tools: list[ToolInfo]
    next_cursor: str | None = None


class CallToolResult(McpModel):
    """The result of ``tools/call``; a tool's own failure has ``is_error`` set."""

    content: list[dict[str, Any]] = Field(default_factory=list)
    structured_content: dict[str, Any] | None = None
    is_error: bool = False


class ResourceInfo(McpModel):
    """A resource the server offers."""

    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None


class ListResourcesResult(McpModel):
    """One page of ``resources/list``."""

    resources: list[ResourceInfo]
    next_cursor: str | None = None


class ResourceTemplateInfo(McpModel):
    """A parameterised resource (RFC 6570 URI template)."""

    uri_template: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None


class ListResourceTemplatesResult(McpModel):
    """One page of ``resources/templates/list``."""

    resource_templates: list[ResourceTemplateInfo]
    next_cursor: str | None = None


class ReadResourceResult(McpModel):
    """The contents of ``resources/read`` (text or blob items, as sent)."""

    contents: list[dict[str, Any]]


class PromptArgument(McpModel):
    """An argument a prompt accepts."""

    name: str
    description: str | None = None
    required: bool | None = None


class PromptInfo(McpModel):
    """A prompt the server offers."""

    name: str
    title: str | None = None
    description: str | None = None
    arguments: list[PromptArgument] | None = None


class ListPromptsResult(McpModel):
    """One page of ``prompts/list``."""

    prompts: list[PromptInfo]
    next_cursor: str | None = None


class GetPromptResult(McpModel):
    """The messages of ``prompts/get``."""

    description: str | None = None
    messages: list[dict[str, Any]]


class Completion(McpModel):
    """Completion values for one argument."""

    values: list[str]
    total: int | None = None
    has_more: bool | None = None


class CompleteResult(McpModel):
    """The result of ``completion/complete``."""

    completion: Completion


NotificationCallback: TypeAlias = Callable[[Notification], Awaitable[None]]
"""Receives a server notification. Called in order, from the task reading the stream."""

RequestCallback: TypeAlias = Callable[[Request], Awaitable[dict[str, Any]]]
"""Answers a server request with its ``result``; raise ``JsonRpcError`` to answer an error."""

SamplingCallback: TypeAlias = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""Answers ``sampling/createMessage``: takes its params, returns its result."""

ElicitationCallback: TypeAlias = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""Answers ``elicitation/create``: takes its params, returns its result."""

ListRootsCallback: TypeAlias = Callable[[], Awaitable[list[dict[str, Any]]]]
"""Answers ``roots/list``: returns the roots (``{"uri": ..., "name": ...}`` objects)."""

ProgressCallback: TypeAlias = Callable[[float, float | None, str | None], Awaitable[None]]
"""Receives ``(progress, total, message)`` of a request's progress notifications."""

SessionResetCallback: TypeAlias = Callable[[str | None, str | None], Awaitable[None]]
"""Told ``(old_session_id, new_session_id)`` after the client started a new session."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconnectPolicy:
    """How SSE streams are reconnected (standalone stream) and resumed (request streams).

    The wait before a reconnection is the server's ``retry`` value when it sent one (the spec's
    MUST), else ``initial_delay``. After failed attempts it doubles with each one, up to
    ``max_delay`` (but never below the server's ``retry``). A stream that delivered events
    resets the count.

    Attributes:
        initial_delay: Seconds to wait when the server sent no ``retry`` field.
        max_delay: The cap of the exponential backoff, in seconds.
        max_attempts: Consecutive failed attempts after which the stream is given up.
    """

    initial_delay: float = 1.0
    max_delay: float = 30.0
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("reconnection delays must not be negative")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, failures: int, retry_ms: int | None) -> float:
        """Seconds to wait before the next attempt.

        Args:
            failures: Consecutive failed attempts so far (0 after a stream simply ended).
            retry_ms: The server's last ``retry`` value in milliseconds, if any.

        Returns:
            The delay in seconds.
        """
        base = retry_ms / 1000 if retry_ms is not None else self.initial_delay
        if failures <= 1:
            return base
        return max(base, min(base * 2.0 ** (failures - 1), self.max_delay))
