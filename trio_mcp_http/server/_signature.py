"""From a Python function's signature to a pydantic arguments model (built once).

Every parameter becomes a field of a model made with :func:`pydantic.create_model`, except the
one annotated with :class:`~trio_mcp_http.server.Context`, which is injected when the function
is called. The model gives the JSON Schema of the arguments and validates incoming arguments.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ._context import Context

__all__ = ["Signature", "format_validation_error", "inspect_function", "return_annotation"]

_MODEL_CONFIG = ConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True)


@dataclass(frozen=True, slots=True)
class Signature:
    """The arguments of a registered function.

    Attributes:
        model: The pydantic model of the arguments.
        context_param: The name of the parameter receiving the :class:`Context`, if any.
        params: ``(parameter name, model attribute)`` for every argument, in order.
    """

    model: type[BaseModel]
    context_param: str | None
    params: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The argument names (as the client spells them)."""
        return tuple(name for name, _ in self.params)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments object (no top-level ``title``)."""
        schema = self.model.model_json_schema(by_alias=True)
        schema.pop("title", None)
        schema.setdefault("properties", {})
        return schema

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validate client arguments; return the keyword arguments for the function.

        Raises:
            pydantic.ValidationError: The arguments do not fit the signature.
        """
        instance = self.model.model_validate(dict(arguments))
        return {name: getattr(instance, attr) for name, attr in self.params}

    def bind(self, arguments: Mapping[str, Any], context: Context) -> dict[str, Any]:
        """Validate arguments and add the context where the function wants it."""
        kwargs = self.validate(arguments)
        if self.context_param is not None:
            kwargs[self.context_param] = context
        return kwargs


def _is_context(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Context)


def _safe_attr(name: str) -> str:
    """A model attribute for a parameter whose name would clash with BaseModel's own."""
    if name.startswith(("_", "model_")) or hasattr(BaseModel, name):
        return f"arg_{name.lstrip('_')}_"
    return name


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise TypeError(f"cannot resolve the annotations of {fn!r}: {exc}") from exc


def inspect_function(fn: Callable[..., Any], model_name: str) -> Signature:
    """Build the :class:`Signature` of ``fn``.

    Args:
        fn: A function taking keyword-compatible parameters.
        model_name: A name for the generated model (shows in error messages).

    Raises:
        TypeError: ``fn`` has ``*args``, ``**kwargs`` or positional-only parameters, several
            context parameters, or annotations that cannot be resolved.
    """
    signature = inspect.signature(fn)
    hints = _type_hints(fn)
    fields: dict[str, Any] = {}
    params: list[tuple[str, str]] = []
    context_param: str | None = None
    for param in signature.parameters.values():
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(
                f"{fn.__qualname__}: parameter {param.name!r} must be usable as a keyword"
            )
        annotation = hints.get(param.name, Any)
        if _is_context(annotation):
            if context_param is not None:
                raise TypeError(f"{fn.__qualname__}: more than one Context parameter")
            context_param = param.name
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        attr = _safe_attr(param.name)
        if attr == param.name:
            fields[attr] = (annotation, default)
        else:
            fields[attr] = (annotation, Field(default, alias=param.name, title=param.name))
        params.append((param.name, attr))
    model = create_model(model_name, __config__=_MODEL_CONFIG, **fields)
    return Signature(model, context_param, tuple(params))


def return_annotation(fn: Callable[..., Any]) -> Any:
    """The resolved return annotation of ``fn`` (``inspect.Signature.empty`` if none)."""
    return _type_hints(fn).get("return", inspect.Signature.empty)


def format_validation_error(exc: ValidationError) -> str:
    """A short, one-line description of a validation error for clients."""
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
