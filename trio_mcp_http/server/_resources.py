"""Resources and resource templates: registration, listing and reading.

A reader function returns ``str`` (text contents), ``bytes`` (base64 ``blob`` contents), a
:class:`TextResourceContents` / :class:`BlobResourceContents`, a list of any of these, or any
other JSON-serialisable value (JSON text, ``application/json`` by default).
"""

from __future__ import annotations

import base64
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from .._core.jsonrpc import INVALID_PARAMS, JsonRpcError, encode_json
from ._content import BlobResourceContents, TextResourceContents, dump
from ._signature import Signature, format_validation_error, inspect_function
from ._uri_template import UriTemplate, is_template

if TYPE_CHECKING:
    from ._caching import CacheScope
    from ._context import Context

__all__ = ["Resource", "ResourceTemplate", "make_resource", "to_contents"]


def _one_content(value: Any, uri: str, mime_type: str | None) -> dict[str, Any]:
    if isinstance(value, TextResourceContents | BlobResourceContents):
        return dump(value)
    if isinstance(value, str):
        return {"uri": uri, "mimeType": mime_type or "text/plain", "text": value}
    if isinstance(value, bytes | bytearray | memoryview):
        blob = base64.b64encode(bytes(value)).decode("ascii")
        return {"uri": uri, "mimeType": mime_type or "application/octet-stream", "blob": blob}
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    text = encode_json(value).decode()
    return {"uri": uri, "mimeType": mime_type or "application/json", "text": text}


def to_contents(value: Any, uri: str, mime_type: str | None) -> list[dict[str, Any]]:
    """Convert a reader's return value to the ``contents`` of ``resources/read``."""
    simple = (str, bytes, bytearray, TextResourceContents, BlobResourceContents)
    if isinstance(value, list | tuple) and value and all(isinstance(v, simple) for v in value):
        return [_one_content(item, uri, mime_type) for item in value]
    return [_one_content(value, uri, mime_type)]


async def _read(
    fn: Callable[..., Any],
    *,
    signature: Signature,
    uri: str,
    values: Mapping[str, str],
    mime_type: str | None,
    context: Context,
) -> list[dict[str, Any]]:
    try:
        kwargs = signature.bind(values, context)
    except ValidationError as exc:
        detail = format_validation_error(exc)
        message = f"Invalid resource URI {uri}: {detail}"
        raise JsonRpcError(INVALID_PARAMS, message, {"uri": uri}) from None
    value = fn(**kwargs)
    if inspect.isawaitable(value):
        value = await value
    return to_contents(value, uri, mime_type)


def _describe(
    key: str,
    value: str,
    *,
    name: str,
    title: str | None,
    description: str | None,
    mime: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {key: value, "name": name}
    if title is not None:
        out["title"] = title
    if description is not None:
        out["description"] = description
    if mime is not None:
        out["mimeType"] = mime
    return out


@dataclass(frozen=True, slots=True)
class Resource:
    """A registered resource with a fixed URI.

    Attributes:
        uri: The resource URI.
        name: Its name.
        title: An optional display title.
        description: An optional description (the docstring by default).
        mime_type: An optional MIME type.
        fn: The reader function.
        ttl_ms: Its caching hint (per-request era); ``None``: the server's.
        cache_scope: Its cache scope (per-request era); ``None``: the server's.
    """

    uri: str
    name: str
    title: str | None
    description: str | None
    mime_type: str | None
    fn: Callable[..., Any]
    signature: Signature
    ttl_ms: int | None = None
    cache_scope: CacheScope | None = None

    def describe(self) -> dict[str, Any]:
        """The entry in ``resources/list``."""
        return _describe(
            "uri",
            self.uri,
            name=self.name,
            title=self.title,
            description=self.description,
            mime=self.mime_type,
        )

    async def read(self, context: Context) -> list[dict[str, Any]]:
        """Call the reader and return the ``contents``."""
        return await _read(
            self.fn,
            signature=self.signature,
            uri=self.uri,
            values={},
            mime_type=self.mime_type,
            context=context,
        )


@dataclass(frozen=True, slots=True)
class ResourceTemplate:
    """A registered resource template: a family of resources read by one function.

    Attributes:
        template: The parsed URI template.
        name: Its name.
        title: An optional display title.
        description: An optional description (the docstring by default).
        mime_type: An optional MIME type of the resources.
        fn: The reader function; its parameters are named after the template's variables.
        ttl_ms: Its caching hint (per-request era); ``None``: the server's.
        cache_scope: Its cache scope (per-request era); ``None``: the server's.
    """

    template: UriTemplate
    name: str
    title: str | None
    description: str | None
    mime_type: str | None
    fn: Callable[..., Any]
    signature: Signature
    ttl_ms: int | None = None
    cache_scope: CacheScope | None = None

    def describe(self) -> dict[str, Any]:
        """The entry in ``resources/templates/list``."""
        return _describe(
            "uriTemplate",
            self.template.template,
            name=self.name,
            title=self.title,
            description=self.description,
            mime=self.mime_type,
        )

    def match(self, uri: str) -> dict[str, str] | None:
        """The template variables if ``uri`` belongs to this template."""
        return self.template.match(uri)

    async def read(
        self, uri: str, values: Mapping[str, str], context: Context
    ) -> list[dict[str, Any]]:
        """Call the reader with the URI's variables and return the ``contents``."""
        return await _read(
            self.fn,
            signature=self.signature,
            uri=uri,
            values=values,
            mime_type=self.mime_type,
            context=context,
        )


def make_resource(
    fn: Callable[..., Any],
    uri: str,
    name: str | None = None,
    description: str | None = None,
    mime_type: str | None = None,
    *,
    title: str | None = None,
    ttl_ms: int | None = None,
    cache_scope: CacheScope | None = None,
) -> Resource | ResourceTemplate:
    """Build a :class:`Resource`, or a :class:`ResourceTemplate` when ``uri`` has ``{vars}``.

    Raises:
        ValueError: The URI template is malformed.
        TypeError: The function's parameters do not match the template's variables (a static
            resource's function takes no parameters besides an optional ``Context``).
    """
    resource_name = name if name is not None else fn.__name__
    desc = description if description is not None else inspect.getdoc(fn)
    signature = inspect_function(fn, f"{resource_name}Variables")
    fields = signature.model.model_fields
    if not is_template(uri):
        if signature.params:
            raise TypeError(f"{fn.__qualname__}: a static resource's function takes no arguments")
        return Resource(
            uri, resource_name, title, desc, mime_type, fn, signature, ttl_ms, cache_scope
        )
    template = UriTemplate.parse(uri)
    missing = [v for v in template.variables if v not in signature.names]
    if missing:
        raise TypeError(f"{fn.__qualname__}: no parameter for template variables {missing}")
    extra = [
        name
        for name, attr in signature.params
        if name not in template.variables and fields[attr].is_required()
    ]
    if extra:
        raise TypeError(f"{fn.__qualname__}: required parameters {extra} are not in {uri!r}")
    return ResourceTemplate(
        template, resource_name, title, desc, mime_type, fn, signature, ttl_ms, cache_scope
    )
