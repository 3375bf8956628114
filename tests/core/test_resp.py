"""RESP2: commands encode exactly; replies parse from any chunking; hostile input is bounded."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_mcp_http._core.resp import (
    MAX_DEPTH,
    NEED_DATA,
    Reply,
    RespError,
    RespParser,
    RespProtocolError,
    encode_command,
)


def encode_reply(reply: Reply) -> bytes:
    """The test's own reply encoder (bulk strings for bytes)."""
    if reply is None:
        return b"$-1\r\n"
    if isinstance(reply, RespError):
        return b"-" + reply.message.encode() + b"\r\n"
    if isinstance(reply, int):
        return b":%d\r\n" % reply
    if isinstance(reply, bytes):
        return b"$%d\r\n%s\r\n" % (len(reply), reply)
    return b"*%d\r\n" % len(reply) + b"".join(encode_reply(item) for item in reply)


replies: st.SearchStrategy[Reply] = st.recursive(
    st.none()
    | st.binary(max_size=40)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.builds(
        RespError, st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20)
    ),
    lambda children: st.lists(children, max_size=5),
    max_leaves=20,
)


def parse_all(data: bytes, cuts: list[int]) -> list[Reply]:
    parser, out = RespParser(), []
    points = sorted({min(c, len(data)) for c in cuts} | {len(data)})
    start = 0
    for point in points:
        parser.feed(data[start:point])
        start = point
        while (reply := parser.next_reply()) is not NEED_DATA:
            out.append(reply)
    return out  # type: ignore[return-value]


def test_a_command_is_an_array_of_bulk_strings() -> None:
    assert encode_command("SET", b"k\r\n", 10) == b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n10\r\n"
    with pytest.raises(ValueError, match="a name"):
        encode_command()
    with pytest.raises(TypeError):
        encode_command("SET", True)


def test_simple_strings_and_null_arrays() -> None:
    assert parse_all(b"+OK\r\n*-1\r\n:-7\r\n$0\r\n\r\n", []) == [b"OK", None, -7, b""]


@given(st.lists(replies, max_size=5), st.lists(st.integers(min_value=0, max_value=2000)))
def test_replies_round_trip_whatever_the_chunking(batch: list[Reply], cuts: list[int]) -> None:
    data = b"".join(encode_reply(reply) for reply in batch)
    assert parse_all(data, cuts) == batch


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300)))
def test_any_bytes_parse_or_raise_the_protocol_error(data: bytes, cuts: list[int]) -> None:
    with contextlib.suppress(RespProtocolError):
        parse_all(data, cuts)


@pytest.mark.parametrize(
    "data",
    [
        b"$99999999999\r\n",  # a bulk string beyond the limit: refused before it arrives
        b"*99999999999\r\n",
        b"$" + b"1" * 5000 + b"\r\n",  # beyond int()'s digit limit: still the protocol error
        b"*4000\r\n" + b"*100\r\n",  # more elements in one reply than the limit
        b"$1x\r\n",
        b"$\xb2\r\n",  # a non-ASCII digit
        b":12a\r\n",
        b"?what\r\n",
        b"$3\r\nabcXY",  # a bulk string without its CRLF
        b"*1\r\n" * (MAX_DEPTH + 1) + b":1\r\n",
        b"+" + b"a" * (70 * 1024),  # a line that never ends
    ],
)
def test_malformed_or_oversized_replies_are_refused(data: bytes) -> None:
    parser = RespParser()
    parser.feed(data)
    with pytest.raises(RespProtocolError):
        parser.next_reply()
