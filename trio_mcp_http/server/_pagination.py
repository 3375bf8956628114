"""Opaque cursors for the ``*/list`` methods.

A cursor encodes the list it belongs to and the offset of the next page; clients must treat
it as opaque. A cursor that does not decode, or belongs to another list, is invalid params.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from .._core.jsonrpc import INVALID_PARAMS, JsonRpcError

__all__ = ["decode_cursor", "encode_cursor", "paginate"]

T = TypeVar("T")


def encode_cursor(kind: str, offset: int) -> str:
    """The cursor of the page of list ``kind`` that starts at ``offset``."""
    return base64.urlsafe_b64encode(f"{kind}:{offset}".encode()).decode("ascii")


def decode_cursor(kind: str, cursor: str) -> int:
    """The offset a cursor of list ``kind`` points to.

    Raises:
        JsonRpcError: -32602 when the cursor is not one this server issued for ``kind``.
    """
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != kind or not number.isascii() or not number.isdigit():
        raise JsonRpcError(INVALID_PARAMS, f"Invalid cursor: {cursor!r}", {"cursor": cursor})
    offset = int(number)
    if encode_cursor(kind, offset) != cursor:  # only the exact cursors this server issues
        raise JsonRpcError(INVALID_PARAMS, f"Invalid cursor: {cursor!r}", {"cursor": cursor})
    return offset


def paginate(
    kind: str, items: Sequence[T], params: dict[str, Any], page_size: int
) -> tuple[Sequence[T], str | None]:
    """Cut the page a ``*/list`` request asks for.

    Args:
        kind: The list's name, bound into its cursors.
        items: The whole list, in a stable order.
        params: The request's params (``cursor`` is read).
        page_size: The most items in one page.

    Returns:
        The page and the ``nextCursor`` (``None`` on the last page).

    Raises:
        JsonRpcError: -32602 for an invalid cursor.
    """
    cursor = params.get("cursor")
    if cursor is None:
        offset = 0
    elif isinstance(cursor, str):
        offset = decode_cursor(kind, cursor)
    else:
        raise JsonRpcError(INVALID_PARAMS, "Invalid cursor: not a string")
    end = offset + page_size
    page = items[offset:end]
    return page, (encode_cursor(kind, end) if end < len(items) else None)
