"""Tools: registration from a typed function, listing, calling and result conversion.

Return values become a ``tools/call`` result as follows:

* :class:`ToolResult` - used as it is;
* with an output schema, anything that is not content - validated against the return
  annotation (``output_schema=True``), serialised to ``structuredContent``, and repeated as
  JSON in one text block; non-object values are wrapped as ``{"result": value}``;
* ``None`` - no content; ``str`` - one text block; a content block - itself; a list of
  content blocks and strings - one block each;
* anything else - one text block with its JSON.

An exception raised by the tool (or by this conversion) becomes ``isError: true`` with the
exception's message, as MCP asks; ``trio.Cancelled`` is never caught.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import pydantic_core
from pydantic import BaseModel, TypeAdapter, ValidationError

from .._core.jsonrpc import NotJson, encode_json
from .._core.per_request import MirroredParam, mirrored_params
from ._content import CONTENT_TYPES, dump
from ._input_required import InputRequired, MissingClientCapability
from ._results import InputRequiredResult, ToolAnnotations, ToolResult
from ._signature import Signature, format_validation_error, inspect_function, return_annotation

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["Tool", "error_result", "make_tool", "to_content"]

log = logging.getLogger("trio_mcp_http.server.tools")

_TOOL_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def error_result(message: str) -> dict[str, Any]:
    """A ``tools/call`` result reporting an error to the model."""
    return {"content": [_text(message)], "isError": True}


def _json_text(value: Any) -> str:
    """JSON text of a value; ``NotJson`` (a tool error) for NaN, infinities or non-JSON values."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    return encode_json(value).decode()


def _is_blockish(item: object) -> bool:
    return isinstance(item, (str, *CONTENT_TYPES))


def to_content(value: Any) -> list[dict[str, Any]]:
    """Convert a tool's return value (without output schema) to content blocks."""
    if value is None:
        return []
    if isinstance(value, list | tuple) and all(_is_blockish(item) for item in value):
        items: list[Any] = list(value)
    else:
        items = [value]
    blocks = []
    for item in items:
        if isinstance(item, CONTENT_TYPES):
            blocks.append(dump(item))
        elif isinstance(item, str):
            blocks.append(_text(item))
        else:
            blocks.append(_text(_json_text(item)))
    return blocks


@dataclass(frozen=True, slots=True)
class _Output:
    """How a tool with an output schema serialises its return value."""

    schema: dict[str, Any]
    adapter: TypeAdapter[Any] | None
    wrap: bool

    def structured(self, value: Any) -> tuple[Any, dict[str, Any]]:
        if self.adapter is not None:
            data = self.adapter.dump_python(self.adapter.validate_python(value), mode="json")
        elif isinstance(value, BaseModel):
            data = value.model_dump(mode="json", by_alias=True)
        elif isinstance(value, Mapping):
            data = pydantic_core.to_jsonable_python(dict(value))
        else:
            raise TypeError(
                f"a tool with an output schema must return an object, not {type(value).__name__}"
            )
        return data, ({"result": data} if self.wrap else data)


def _output_spec(
    fn: Callable[..., Any], output_schema: Mapping[str, Any] | bool | None
) -> _Output | None:
    if output_schema is None or output_schema is False:
        return None
    if output_schema is True:
        annotation = return_annotation(fn)
        if annotation is inspect.Signature.empty or annotation is None:
            raise TypeError(
                f"{fn.__qualname__}: output_schema=True needs a return annotation to derive it"
            )
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        schema = adapter.json_schema(mode="serialization")
        if schema.get("type") == "object":
            return _Output(schema, adapter, wrap=False)
        defs = schema.pop("$defs", None)
        wrapped: dict[str, Any] = {
            "type": "object",
            "properties": {"result": schema},
            "required": ["result"],
        }
        if defs is not None:
            wrapped["$defs"] = defs
        return _Output(wrapped, adapter, wrap=True)
    if output_schema.get("type") != "object":
        raise ValueError("an output schema must be a JSON Schema of type 'object'")
    return _Output(dict(output_schema), None, wrap=False)


@dataclass(frozen=True, slots=True)
class Tool:
    """A registered tool.

    Attributes:
        name: The tool's name.
        fn: The function called (sync or async).
        signature: Its arguments model.
        input_schema: The ``inputSchema`` listed.
        description: The description listed (the docstring by default).
        title: An optional display title.
        annotations: Optional behaviour hints.
        mirrored: The arguments its schema mirrors into ``Mcp-Param-*`` headers.
        own_request_state: It manages ``requestState`` itself (per-request era): the server
            neither seals nor checks it.
    """

    name: str
    fn: Callable[..., Any]
    signature: Signature
    input_schema: dict[str, Any]
    description: str | None
    title: str | None
    annotations: dict[str, Any] | None
    output: _Output | None
    mirrored: tuple[MirroredParam, ...] = ()
    own_request_state: bool = False

    @property
    def output_schema(self) -> dict[str, Any] | None:
        """The ``outputSchema`` listed, if the tool has one."""
        return None if self.output is None else self.output.schema

    def describe(self) -> dict[str, Any]:
        """The tool's entry in ``tools/list``."""
        out: dict[str, Any] = {"name": self.name}
        if self.title is not None:
            out["title"] = self.title
        if self.description is not None:
            out["description"] = self.description
        out["inputSchema"] = self.input_schema
        if self.output is not None:
            out["outputSchema"] = self.output.schema
        if self.annotations is not None:
            out["annotations"] = self.annotations
        return out

    async def call(self, arguments: Mapping[str, Any], context: Context) -> dict[str, Any]:
        """Validate the arguments, run the tool and return the ``tools/call`` result."""
        try:
            kwargs = self.signature.bind(arguments, context)
        except ValidationError as exc:
            detail = format_validation_error(exc)
            return error_result(f"Invalid arguments for tool {self.name!r}: {detail}")
        try:
            value = self.fn(**kwargs)
            if inspect.isawaitable(value):
                value = await value
            return self.to_result(value)
        except (InputRequired, MissingClientCapability):
            raise  # the request's answer, not the tool's error
        except NotJson as exc:
            log.info("tool %r returned a value that is not JSON: %s", self.name, exc)
            return error_result(f"Tool {self.name!r} returned a value that is not JSON: {exc}")
        except Exception as exc:
            log.info("tool %r failed: %r", self.name, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            return error_result(str(exc) or type(exc).__name__)

    def to_result(self, value: Any) -> dict[str, Any]:
        """Convert a return value to the ``tools/call`` result.

        Raises:
            NotJson: The value holds a non-finite number or has no JSON form.
        """
        if isinstance(value, ToolResult):
            result = value.to_result()
            encode_json(result)  # NotJson here is a tool error, not a broken response
            return result
        if isinstance(value, InputRequiredResult):
            return value.to_result()
        is_content = isinstance(value, CONTENT_TYPES) or (
            isinstance(value, list | tuple) and any(isinstance(v, CONTENT_TYPES) for v in value)
        )
        if self.output is not None and not is_content:
            data, structured = self.output.structured(value)
            return {"content": [_text(_json_text(data))], "structuredContent": structured}
        return {"content": to_content(value)}


def make_tool(
    fn: Callable[..., Any],
    name: str | None = None,
    description: str | None = None,
    *,
    title: str | None = None,
    annotations: ToolAnnotations | Mapping[str, Any] | None = None,
    output_schema: Mapping[str, Any] | Literal[True] | None = None,
    input_schema: Mapping[str, Any] | None = None,
    own_request_state: bool = False,
) -> Tool:
    """Build a :class:`Tool` from a function (see :meth:`McpServer.tool`).

    Raises:
        ValueError: The name is not a valid tool name, the output schema is not an object, or
            an ``x-mcp-header`` annotation of the input schema breaks its rules.
        TypeError: The signature cannot be turned into an input schema.
    """
    tool_name = name if name is not None else fn.__name__
    if not _TOOL_NAME.fullmatch(tool_name):
        raise ValueError(
            f"invalid tool name {tool_name!r}: use 1-128 characters among A-Z a-z 0-9 _ - ."
        )
    signature = inspect_function(fn, f"{tool_name}Arguments")
    if isinstance(annotations, ToolAnnotations):
        hints: dict[str, Any] | None = dump(annotations)
    else:
        hints = None if annotations is None else dict(annotations)
    listed = dict(input_schema) if input_schema is not None else signature.json_schema()
    return Tool(
        name=tool_name,
        fn=fn,
        signature=signature,
        input_schema=listed,
        description=description if description is not None else inspect.getdoc(fn),
        title=title,
        annotations=hints,
        output=_output_spec(fn, output_schema),
        mirrored=mirrored_params(listed),
        own_request_state=own_request_state,
    )
