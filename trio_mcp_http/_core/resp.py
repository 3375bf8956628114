"""RESP, the Redis serialization protocol (RESP2), sans-IO: commands out, replies in.

:func:`encode_command` turns a command into bytes; :class:`RespParser` is fed whatever bytes
arrive, in any chunks, and returns each complete reply: ``bytes`` (simple and bulk strings),
``int``, ``None`` (null bulk string or array), ``list`` (arrays, nested), or a
:class:`RespError` value (an error reply is data here; the I/O layer raises it). Malformed
input raises :class:`RespProtocolError`; sizes and nesting are bounded, so a hostile or broken
peer cannot make the parser allocate without limit.
"""

from __future__ import annotations

from typing import Final, TypeAlias

__all__ = [
    "NEED_DATA",
    "NeedData",
    "Reply",
    "RespError",
    "RespParser",
    "RespProtocolError",
    "encode_command",
]

Reply: TypeAlias = "bytes | int | RespError | list[Reply] | None"

MAX_BULK: Final = 64 * 1024 * 1024  # bytes in one bulk string
MAX_ARRAY: Final = 4096  # elements in one reply, nested ones included (ours are small)
MAX_DEPTH: Final = 16  # nesting of arrays
MAX_LINE: Final = 64 * 1024  # a simple string, error or length line


class NeedData:
    """The type of :data:`NEED_DATA`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by :meth:`RespParser.next_reply` when no whole reply has arrived yet.
NEED_DATA: Final = NeedData()


class RespProtocolError(Exception):
    """The peer sent something that is not RESP (or beyond the parser's limits)."""


class RespError:
    """An error reply (``-ERR ...``), as a value.

    Attributes:
        message: The error text, e.g. ``"ERR unknown command"``.
    """

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RespError) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)

    def __repr__(self) -> str:
        return f"RespError({self.message!r})"


def encode_command(*args: bytes | str | int) -> bytes:
    """A command as a RESP array of bulk strings (``str`` as UTF-8, ``int`` in decimal)."""
    if not args:
        raise ValueError("a command has at least a name")
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bool) or not isinstance(arg, bytes | str | int):
            raise TypeError(f"a command argument is bytes, str or int, not {type(arg).__name__}")
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RespParser:
    """Incremental RESP2 reply parser.

    :meth:`feed` it bytes, then call :meth:`next_reply` until it returns :data:`NEED_DATA`.
    """

    __slots__ = ("_buffer", "_position")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._position = 0

    def feed(self, data: bytes | bytearray) -> None:
        """Add bytes received from the peer."""
        if self._position:
            del self._buffer[: self._position]
            self._position = 0
        self._buffer += data

    def next_reply(self) -> Reply | NeedData:
        """The next complete reply, or :data:`NEED_DATA` (nothing is consumed then)."""
        # First only find where a whole reply ends (no copies: an unfinished reply is walked
        # again on every call), then build it once.
        if self._parse(self._position, 0, [0], build=False) is None:
            return NEED_DATA
        result = self._parse(self._position, 0, [0], build=True)
        assert result is not None
        reply, self._position = result
        return reply

    def _line(self, start: int) -> tuple[bytes, int] | None:
        end = self._buffer.find(b"\r\n", start, start + MAX_LINE + 2)
        if end < 0:
            if len(self._buffer) - start > MAX_LINE + 1:
                raise RespProtocolError("a line longer than the limit")
            return None
        return bytes(self._buffer[start:end]), end + 2

    @staticmethod
    def _length(text: bytes, limit: int) -> int:
        if not (text.isdigit() and text.isascii() and len(text) <= 20) and text != b"-1":
            raise RespProtocolError(f"not a length: {text[:40]!r}")
        length = int(text)
        if length > limit:
            raise RespProtocolError(f"length {length} beyond the limit {limit}")
        return length

    def _parse(
        self, start: int, depth: int, elements: list[int], *, build: bool
    ) -> tuple[Reply, int] | None:
        # ``elements`` counts the array elements of the whole reply: each call re-walks an
        # unfinished reply from its start, so bounding them keeps that walk short.
        if start >= len(self._buffer):
            return None
        line = self._line(start + 1)
        if line is None:
            return None
        text, after = line
        kind = self._buffer[start : start + 1]
        if kind == b"+":
            return text, after
        if kind == b"-":
            return RespError(text.decode("utf-8", "replace")), after
        if kind == b":":
            stripped = text[1:] if text[:1] == b"-" else text
            if not (stripped.isdigit() and stripped.isascii()) or len(stripped) > 20:
                raise RespProtocolError(f"not an integer: {text[:40]!r}")
            return int(text), after
        if kind == b"$":
            length = self._length(text, MAX_BULK)
            if length < 0:
                return None, after
            if len(self._buffer) < after + length + 2:
                return None
            if self._buffer[after + length : after + length + 2] != b"\r\n":
                raise RespProtocolError("a bulk string without its CRLF")
            data = bytes(self._buffer[after : after + length]) if build else None
            return data, after + length + 2
        if kind == b"*":
            count = self._length(text, MAX_ARRAY)
            if count < 0:
                return None, after
            if depth >= MAX_DEPTH:
                raise RespProtocolError("arrays nested beyond the limit")
            elements[0] += count
            if elements[0] > MAX_ARRAY:
                raise RespProtocolError(f"more than {MAX_ARRAY} elements in one reply")
            items: list[Reply] = []
            position = after
            for _ in range(count):
                parsed = self._parse(position, depth + 1, elements, build=build)
                if parsed is None:
                    return None
                item, position = parsed
                items.append(item)
            return items, position
        raise RespProtocolError(f"unknown reply type {bytes(kind)!r}")
