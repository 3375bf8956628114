"""Prompts: registration from a function, listing and rendering.

The arguments come from the function's parameters (required when they have no default;
``Annotated[str, Field(description=...)]`` gives them a description). A prompt function
returns a ``str`` (one user text message), a :class:`PromptMessage`, a content block (a user
message), or a list of these.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .._core.jsonrpc import INVALID_PARAMS, JsonRpcError
from ._content import CONTENT_TYPES, PromptMessage, dump
from ._signature import Signature, format_validation_error, inspect_function

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["Prompt", "make_prompt", "to_messages"]


def _message(item: Any) -> dict[str, Any]:
    if isinstance(item, PromptMessage):
        return dump(item)
    if isinstance(item, str):
        return dump(PromptMessage.user(item))
    if isinstance(item, CONTENT_TYPES):
        return dump(PromptMessage.user(item))
    if isinstance(item, Mapping) and "role" in item and "content" in item:
        return dump(PromptMessage.model_validate(item))
    raise TypeError(f"a prompt cannot return {type(item).__name__}")


def to_messages(value: Any) -> list[dict[str, Any]]:
    """Convert a prompt function's return value to ``messages``."""
    if isinstance(value, list | tuple):
        return [_message(item) for item in value]
    return [_message(value)]


@dataclass(frozen=True, slots=True)
class Prompt:
    """A registered prompt.

    Attributes:
        name: The prompt's name.
        title: An optional display title.
        description: The description (the docstring by default).
        fn: The function rendering it.
        arguments: The ``arguments`` listed: ``name``, ``description``, ``required``.
    """

    name: str
    title: str | None
    description: str | None
    fn: Callable[..., Any]
    signature: Signature
    arguments: tuple[dict[str, Any], ...]

    def describe(self) -> dict[str, Any]:
        """The entry in ``prompts/list``."""
        out: dict[str, Any] = {"name": self.name}
        if self.title is not None:
            out["title"] = self.title
        if self.description is not None:
            out["description"] = self.description
        out["arguments"] = list(self.arguments)
        return out

    async def render(self, arguments: Mapping[str, Any], context: Context) -> dict[str, Any]:
        """Render the prompt: the ``prompts/get`` result.

        Raises:
            JsonRpcError: -32602 when arguments are missing or invalid.
        """
        try:
            kwargs = self.signature.bind(arguments, context)
        except ValidationError as exc:
            detail = format_validation_error(exc)
            raise JsonRpcError(
                INVALID_PARAMS, f"Invalid arguments for prompt {self.name!r}: {detail}"
            ) from None
        value = self.fn(**kwargs)
        if inspect.isawaitable(value):
            value = await value
        out: dict[str, Any] = {}
        if self.description is not None:
            out["description"] = self.description
        out["messages"] = to_messages(value)
        return out


def _arguments(signature: Signature) -> tuple[dict[str, Any], ...]:
    properties = signature.json_schema().get("properties", {})
    fields = signature.model.model_fields
    arguments = []
    for name, attr in signature.params:
        entry: dict[str, Any] = {"name": name}
        description = properties.get(name, {}).get("description")
        if isinstance(description, str):
            entry["description"] = description
        entry["required"] = fields[attr].is_required()
        arguments.append(entry)
    return tuple(arguments)


def make_prompt(
    fn: Callable[..., Any],
    name: str | None = None,
    description: str | None = None,
    title: str | None = None,
) -> Prompt:
    """Build a :class:`Prompt` from a function (see :meth:`McpServer.prompt`).

    Raises:
        TypeError: The signature has parameters that cannot be prompt arguments.
    """
    prompt_name = name if name is not None else fn.__name__
    signature = inspect_function(fn, f"{prompt_name}Arguments")
    return Prompt(
        name=prompt_name,
        title=title,
        description=description if description is not None else inspect.getdoc(fn),
        fn=fn,
        signature=signature,
        arguments=_arguments(signature),
    )
