"""Content blocks, resource contents and messages, as small pydantic models.

Fields are snake_case in Python and camelCase on the wire: construct them with
``ImageContent(data=..., mime_type=...)`` and serialise them with :func:`dump`. Models also
validate wire data (``ImageContent.model_validate({"data": ..., "mimeType": ...})``).
"""

from __future__ import annotations

import base64
from typing import Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AudioContent",
    "BlobResourceContents",
    "ContentBlock",
    "EmbeddedResource",
    "ImageContent",
    "PromptMessage",
    "ResourceContents",
    "ResourceLink",
    "Role",
    "SamplingMessage",
    "TextContent",
    "TextResourceContents",
    "dump",
]

Role: TypeAlias = Literal["user", "assistant"]
"""Who speaks a prompt or sampling message."""


def _wire(name: str, default: Any = None) -> Any:
    """A field spelled ``name`` on the wire (validation accepts the Python name too)."""
    return Field(default, validation_alias=name, serialization_alias=name)


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True
    )


class TextContent(_Model):
    """A text content block.

    Attributes:
        text: The text.
        annotations: Optional MCP annotations (``audience``, ``priority``, ...).
        meta: Optional ``_meta`` object.
    """

    type: Literal["text"] = "text"
    text: str
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = _wire("_meta")


class ImageContent(_Model):
    """An image content block.

    Attributes:
        data: The image, base64-encoded.
        mime_type: Its MIME type, e.g. ``image/png``.
        annotations: Optional MCP annotations.
        meta: Optional ``_meta`` object.
    """

    type: Literal["image"] = "image"
    data: str
    mime_type: str = _wire("mimeType", ...)
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = _wire("_meta")

    @classmethod
    def from_bytes(cls, data: bytes, mime_type: str) -> ImageContent:
        """Build an image block from raw bytes (they are base64-encoded)."""
        return cls(data=base64.b64encode(data).decode("ascii"), mime_type=mime_type)


class AudioContent(_Model):
    """An audio content block.

    Attributes:
        data: The audio, base64-encoded.
        mime_type: Its MIME type, e.g. ``audio/wav``.
        annotations: Optional MCP annotations.
        meta: Optional ``_meta`` object.
    """

    type: Literal["audio"] = "audio"
    data: str
    mime_type: str = _wire("mimeType", ...)
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = _wire("_meta")

    @classmethod
    def from_bytes(cls, data: bytes, mime_type: str) -> AudioContent:
        """Build an audio block from raw bytes (they are base64-encoded)."""
        return cls(data=base64.b64encode(data).decode("ascii"), mime_type=mime_type)


class ResourceLink(_Model):
    """A link to a resource the client may read (protocol 2025-06-18 and later).

    Attributes:
        uri: The resource URI.
        name: A name for it.
        title: An optional display title.
        description: An optional description.
        mime_type: An optional MIME type.
        size: An optional size in bytes.
    """

    type: Literal["resource_link"] = "resource_link"
    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = _wire("mimeType")
    size: int | None = None
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = _wire("_meta")


class TextResourceContents(_Model):
    """The text contents of a resource.

    Attributes:
        uri: The resource URI.
        text: The text.
        mime_type: An optional MIME type.
        meta: Optional ``_meta`` object.
    """

    uri: str
    text: str
    mime_type: str | None = _wire("mimeType")
    meta: dict[str, Any] | None = _wire("_meta")


class BlobResourceContents(_Model):
    """The binary contents of a resource.

    Attributes:
        uri: The resource URI.
        blob: The bytes, base64-encoded.
        mime_type: An optional MIME type.
        meta: Optional ``_meta`` object.
    """

    uri: str
    blob: str
    mime_type: str | None = _wire("mimeType")
    meta: dict[str, Any] | None = _wire("_meta")

    @classmethod
    def from_bytes(
        cls, uri: str, data: bytes, mime_type: str | None = None
    ) -> BlobResourceContents:
        """Build blob contents from raw bytes (they are base64-encoded)."""
        return cls(uri=uri, blob=base64.b64encode(data).decode("ascii"), mime_type=mime_type)


ResourceContents: TypeAlias = TextResourceContents | BlobResourceContents
"""Either kind of resource contents."""


class EmbeddedResource(_Model):
    """A resource embedded in a tool result or prompt message.

    Attributes:
        resource: The resource's contents.
        annotations: Optional MCP annotations.
        meta: Optional ``_meta`` object.
    """

    type: Literal["resource"] = "resource"
    resource: TextResourceContents | BlobResourceContents
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = _wire("_meta")


ContentBlock: TypeAlias = (
    TextContent | ImageContent | AudioContent | ResourceLink | EmbeddedResource
)
"""Any content block of a tool result or prompt message."""

CONTENT_TYPES: Final = (
    TextContent,
    ImageContent,
    AudioContent,
    ResourceLink,
    EmbeddedResource,
)
"""The content block classes, for ``isinstance`` checks."""


class PromptMessage(_Model):
    """One message of a prompt.

    Attributes:
        role: ``"user"`` or ``"assistant"``.
        content: One content block.
    """

    role: Role
    content: ContentBlock

    @classmethod
    def user(cls, content: str | ContentBlock) -> PromptMessage:
        """A user message; a string becomes a text block."""
        return cls(role="user", content=_block(content))

    @classmethod
    def assistant(cls, content: str | ContentBlock) -> PromptMessage:
        """An assistant message; a string becomes a text block."""
        return cls(role="assistant", content=_block(content))


class SamplingMessage(_Model):
    """One message sent to the client's LLM with ``sampling/createMessage``.

    Attributes:
        role: ``"user"`` or ``"assistant"``.
        content: A text, image or audio block.
    """

    role: Role
    content: TextContent | ImageContent | AudioContent

    @classmethod
    def user(cls, text: str) -> SamplingMessage:
        """A user text message."""
        return cls(role="user", content=TextContent(text=text))


def _block(content: str | ContentBlock) -> ContentBlock:
    return TextContent(text=content) if isinstance(content, str) else content


def dump(model: BaseModel) -> dict[str, Any]:
    """Serialise a model as its wire JSON object (camelCase, ``None`` fields left out)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)
