"""Tests for the sans-IO Server-Sent Events encoder and decoder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_mcp_http._core.sse import (
    ServerSentEvent,
    SSEDecoder,
    encode_comment,
    encode_event,
    encode_message,
    encode_retry,
)

BOM = b"\xef\xbb\xbf"

Decoded = tuple[list[ServerSentEvent], str, int | None]


def decode(chunks: Iterable[bytes], last_event_id: str = "") -> Decoded:
    """Feed every chunk, close, and return (events, last_event_id, retry)."""
    decoder = SSEDecoder(last_event_id)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events, decoder.last_event_id, decoder.retry


def feed_all(stream: bytes) -> list[ServerSentEvent]:
    return decode([stream])[0]


def byte_chunks(stream: bytes) -> list[bytes]:
    return [stream[i : i + 1] for i in range(len(stream))]


def split_at(stream: bytes, points: Iterable[int]) -> list[bytes]:
    bounds = [0, *sorted(points), len(stream)]
    return [stream[a:b] for a, b in pairwise(bounds)]


def reference_decode(stream: bytes, last_event_id: str = "") -> Decoded:
    """A deliberately naive whole-stream implementation of the WHATWG algorithm."""
    if stream.startswith(BOM):
        stream = stream[len(BOM) :]
    lines = re.split("\r\n|\r|\n", stream.decode("utf-8", "replace"))
    lines.pop()  # the trailing incomplete line (or "" after a final line end) is discarded
    events: list[ServerSentEvent] = []
    data = event = ""
    id_buffer = last = last_event_id
    retry: int | None = None
    for line in lines:
        if line == "":
            last = id_buffer
            if data:
                events.append(ServerSentEvent(data.removesuffix("\n"), event or "message", last))
            data = event = ""
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data += value + "\n"
        elif field == "event":
            event = value
        elif field == "id" and "\0" not in value:
            id_buffer = value
        elif field == "retry" and re.fullmatch("[0-9]+", value):
            retry = int(value)
    return events, last, retry


def normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- strategies -------------------------------------------------------------------------------

line_free_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
payloads = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=16), st.sampled_from(["\n", "\r\n", "\r"])
    ),
    max_size=6,
).map("".join)
ids = st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=12)
retries = st.none() | st.integers(min_value=0, max_value=10**9)
separators = st.one_of(
    st.none(),
    st.tuples(st.just("comment"), payloads),
    st.tuples(st.just("retry"), st.integers(min_value=0, max_value=10**6)),
)
event_specs = st.tuples(payloads, st.none() | line_free_text, ids, retries, separators)
TOKENS = [b"data", b"event", b"id", b"retry", b":", b" ", b"\r", b"\n", b"\r\n", b"x", b"7", BOM]
INVALID_OR_SPLIT_UTF8 = [b"\xc3", b"\xa9", b"\xe2\x82\xac", b"\xff", b"\x00", b"\xf0\x9f\x98"]
sse_ish_bytes = st.lists(
    st.sampled_from([*TOKENS, *INVALID_OR_SPLIT_UTF8]),
    max_size=60,
).map(b"".join)


# --- properties -------------------------------------------------------------------------------


@settings(deadline=None)
@given(
    specs=st.lists(event_specs, max_size=8),
    bom=st.booleans(),
    trailing_comment=st.booleans(),
    data=st.data(),
)
def test_roundtrip_property(
    specs: list[tuple[str, str | None, str | None, int | None, tuple[str, object] | None]],
    bom: bool,
    trailing_comment: bool,
    data: st.DataObject,
) -> None:
    stream = BOM if bom else b""
    expected: list[ServerSentEvent] = []
    current_id = ""
    expected_retry: int | None = None
    for payload, event, id_, retry, separator in specs:
        if separator is not None and separator[0] == "comment":
            assert isinstance(separator[1], str)
            stream += encode_comment(separator[1])
        elif separator is not None:
            assert isinstance(separator[1], int)
            stream += f"retry: {separator[1]}\n".encode()
            expected_retry = separator[1]
        stream += encode_event(payload, event=event, id=id_, retry=retry)
        if id_ is not None:
            current_id = id_
        if retry is not None:
            expected_retry = retry
        expected.append(ServerSentEvent(normalise(payload), event or "message", current_id))
    if trailing_comment:
        stream += encode_comment("keep-alive")

    points = data.draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=12))
    result = decode(split_at(stream, points))
    assert result == (expected, current_id, expected_retry)
    assert decode([stream]) == result
    assert decode(byte_chunks(stream)) == result


@settings(deadline=None)
@given(stream=sse_ish_bytes, initial_id=ids, data=st.data())
def test_chunking_invariance_and_reference(
    stream: bytes, initial_id: str | None, data: st.DataObject
) -> None:
    initial = initial_id or ""
    points = data.draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=12))
    whole = decode([stream], initial)
    assert whole == reference_decode(stream, initial)
    assert decode(byte_chunks(stream), initial) == whole
    assert decode(split_at(stream, points), initial) == whole


# --- decoder rules ----------------------------------------------------------------------------


def test_crlf_lf_cr_line_endings() -> None:
    stream = b"data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\ndata: e\rdata: f\n\r\n"
    assert feed_all(stream) == [
        ServerSentEvent("a"),
        ServerSentEvent("b"),
        ServerSentEvent("c"),
        ServerSentEvent("d\ne\nf"),
    ]


def test_cr_split_across_chunks() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # The LF completes the CRLF pair; it is not a blank line, so nothing is dispatched.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\r") == [ServerSentEvent("a\nb")]
    # Only one LF is skipped after a trailing CR: the second LF is a blank line.
    assert decoder.feed(b"data: c\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("c")]


def test_cr_at_chunk_end_is_a_line_end_immediately() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n\r") == [ServerSentEvent("x")]
    assert decoder.feed(b"\ndata: y\n\n") == [ServerSentEvent("y")]


def test_cr_followed_by_partial_line_is_not_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\rdata: b") == []
    # The CR was not the last byte of its chunk, so this LF ends "data: b" and is not skipped.
    assert decoder.feed(b"\n\n") == [ServerSentEvent("a\nb")]


def test_empty_chunk_keeps_pending_cr() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\ndata: b\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("a\nb")]


def test_leading_bom_stripped_once() -> None:
    assert feed_all(BOM + b"data: x\n\n") == [ServerSentEvent("x")]
    # A second BOM is part of the first line's field name, which is then unknown.
    assert feed_all(BOM + BOM + b"data: x\n\ndata: y\n\n") == [ServerSentEvent("y")]
    # A BOM later in the stream is ordinary data.
    assert feed_all(b"data: \xef\xbb\xbfz\n\n") == [ServerSentEvent("\ufeffz")]


def test_leading_bom_split_across_chunks() -> None:
    events, _, _ = decode([b"\xef", b"\xbb", b"\xbf", b"data: x\n\n"])
    assert events == [ServerSentEvent("x")]
    # A stream merely starting like a BOM keeps its bytes (decoded as replacement characters).
    events, _, _ = decode([b"\xef\xbb", b"data: x\n\ndata: y\n\n"])
    assert events == [ServerSentEvent("y")]


def test_comment_ignored() -> None:
    stream = b": hello\ndata: x\n:data: no\n: another\n\n:\n\n"
    assert feed_all(stream) == [ServerSentEvent("x")]


def test_field_without_colon() -> None:
    assert feed_all(b"data\n\n") == [ServerSentEvent("")]
    assert feed_all(b"data\ndata\n\n") == [ServerSentEvent("\n")]
    assert feed_all(b"event: e\nevent\ndata: x\n\n") == [ServerSentEvent("x", "message")]


def test_single_leading_space_stripped() -> None:
    stream = b"data:x\n\ndata: x\n\ndata:  x\n\nevent:  e\ndata: x \n\n"
    assert feed_all(stream) == [
        ServerSentEvent("x"),
        ServerSentEvent("x"),
        ServerSentEvent(" x"),
        ServerSentEvent("x ", " e"),
    ]


def test_value_after_first_colon_only() -> None:
    assert feed_all(b"data: a: b\nevent: ns:type\n\n") == [ServerSentEvent("a: b", "ns:type")]


def test_unknown_and_case_mismatched_fields_ignored() -> None:
    events, last_id, retry = decode([b"foo: bar\nData: x\nID: 3\nRetry: 5\n\n"])
    assert (events, last_id, retry) == ([], "", None)


def test_retry_only_all_digits() -> None:
    assert SSEDecoder().retry is None
    decoder = SSEDecoder()
    decoder.feed(b"retry: 1500\n")
    assert decoder.retry == 1500  # takes effect without a blank line
    for bad in [b"1.5", b"-1", b"abc", b"", b" 5", b"5 ", b"\xd9\xa1\xd9\xa2", b"\xc2\xb2"]:
        decoder.feed(b"retry: " + bad + b"\n")
        assert decoder.retry == 1500, bad
    decoder.feed(b"retry:0\n")
    assert decoder.retry == 0


def test_id_with_nul_ignored() -> None:
    stream = b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n"
    events, last_id, _ = decode([stream])
    assert events == [ServerSentEvent("a", id="1"), ServerSentEvent("b", id="1")]
    assert last_id == "1"


def test_last_event_id_carries_over() -> None:
    stream = b"id: 7\ndata: a\n\ndata: b\n\nevent: e\ndata: c\n\n"
    events, last_id, _ = decode([stream])
    assert [event.id for event in events] == ["7", "7", "7"]
    assert last_id == "7"


def test_initial_last_event_id_used_until_replaced() -> None:
    events, last_id, _ = decode([b"data: a\n\nid: 9\ndata: b\n\n"], last_event_id="41")
    assert events == [ServerSentEvent("a", id="41"), ServerSentEvent("b", id="9")]
    assert last_id == "9"


def test_last_event_id_committed_at_blank_line() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 5\n")
    assert decoder.last_event_id == ""
    # A blank line commits the ID even though no event is dispatched.
    assert decoder.feed(b"\n") == []
    assert decoder.last_event_id == "5"


def test_empty_id_resets() -> None:
    stream = b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\ndata: c\n\nid:\ndata: d\n\n"
    events, last_id, _ = decode([stream])
    assert [event.id for event in events] == ["1", "", "2", ""]
    assert last_id == ""


def test_empty_data_not_dispatched() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: foo\nid: 3\n\n") == []
    assert decoder.last_event_id == "3"
    # The event type buffer was reset by the blank line.
    assert decoder.feed(b"data: x\n\n") == [ServerSentEvent("x", "message", "3")]
    assert decoder.feed(b"\n\n\n") == []


def test_event_type_defaults_to_message() -> None:
    assert feed_all(b"event:\ndata: x\n\nevent: e\ndata: y\n\n") == [
        ServerSentEvent("x", "message"),
        ServerSentEvent("y", "e"),
    ]


def test_priming_event_dispatched_with_empty_data() -> None:
    encoded = encode_event("", id="prime-1")
    assert encoded == b"id: prime-1\ndata:\n\n"
    events, last_id, _ = decode([encoded])
    assert events == [ServerSentEvent("", "message", "prime-1")]
    assert last_id == "prime-1"


def test_incomplete_event_discarded_on_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: done\n\ndata: partial\nid: 2\nevent: e\n") == [
        ServerSentEvent("done")
    ]
    assert decoder.close() == []
    assert decoder.last_event_id == ""  # the uncommitted id never reached a blank line
    # An unterminated final line is discarded too.
    assert decode([b"data: x\n\ndata: y"])[0] == [ServerSentEvent("x")]


def test_utf8_split_across_chunks() -> None:
    text = "é€😀 ok"
    stream = f"data: {text}\nevent: ünï\n\n".encode()
    expected = [ServerSentEvent(text, "ünï")]
    for cut in range(len(stream) + 1):
        assert decode([stream[:cut], stream[cut:]])[0] == expected, cut
    assert decode(byte_chunks(stream))[0] == expected


def test_invalid_utf8_replaced() -> None:
    assert feed_all(b"data: a\xffb\n\n") == [ServerSentEvent("a\ufffdb")]
    # A truncated sequence before a line end does not swallow the line end.
    assert feed_all(b"data: \xe2\x82\ndata: z\n\n") == [ServerSentEvent("\ufffd\nz")]


def test_unicode_line_separators_are_not_line_ends() -> None:
    text = "a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g"
    assert feed_all(encode_event(text)) == [ServerSentEvent(text)]


def test_large_chunk_with_many_events() -> None:
    stream = b"".join(encode_event(f"line {i}\nmore", id=str(i)) for i in range(5000))
    events = feed_all(stream)
    assert len(events) == 5000
    assert events[-1] == ServerSentEvent("line 4999\nmore", id="4999")


# --- memory guard -----------------------------------------------------------------------------


def test_oversized_line_rejected() -> None:
    decoder = SSEDecoder(max_event_bytes=16)
    decoder.feed(b"data: 0123456789")  # 16 pending bytes: at the limit, accepted
    with pytest.raises(ValueError, match="max_event_bytes"):
        decoder.feed(b"X")
    # A complete oversized line arriving in one chunk is rejected as well, comments included.
    with pytest.raises(ValueError, match="max_event_bytes"):
        SSEDecoder(max_event_bytes=16).feed(b": " + b"c" * 20 + b"\n")


def test_oversized_event_data_rejected() -> None:
    decoder = SSEDecoder(max_event_bytes=16)
    assert decoder.feed(b"data: 0123\ndata: 0123\n\n") == [ServerSentEvent("0123\n0123")]
    with pytest.raises(ValueError, match="max_event_bytes"):
        decoder.feed(b"data: 0123\ndata: 0123\ndata: 0123\ndata: 0123\n")


def test_decoder_rejects_nonpositive_limit() -> None:
    with pytest.raises(ValueError, match="max_event_bytes"):
        SSEDecoder(max_event_bytes=0)


# --- encoder ----------------------------------------------------------------------------------


def test_encode_event_field_order() -> None:
    encoded = encode_event("x", event="update", id="42", retry=3000)
    assert encoded == b"id: 42\nevent: update\nretry: 3000\ndata: x\n\n"
    assert encode_event("x") == b"data: x\n\n"


def test_encode_multiline_data() -> None:
    encoded = encode_event("a\r\nb\rc\n\n d")
    assert encoded == b"data: a\ndata: b\ndata: c\ndata:\ndata:  d\n\n"
    assert feed_all(encoded) == [ServerSentEvent("a\nb\nc\n\n d")]


def test_encode_empty_id_and_event() -> None:
    encoded = encode_event("x", id="", event="")
    assert encoded == b"id:\nevent:\ndata: x\n\n"
    assert decode([b"id: 1\ndata: a\n\n" + encoded])[0][1] == ServerSentEvent("x", "message", "")


def test_encode_preserves_leading_spaces() -> None:
    encoded = encode_event(" data ", event=" ev", id=" 1")
    assert feed_all(encoded) == [ServerSentEvent(" data ", " ev", " 1")]


def test_encode_is_utf8() -> None:
    assert encode_event("é😀") == "data: é😀\n\n".encode()


@pytest.mark.parametrize("bad_id", ["a\nb", "a\rb", "a\r\n", "a\x00b"])
def test_encode_rejects_newline_in_id(bad_id: str) -> None:
    with pytest.raises(ValueError, match="id"):
        encode_event("x", id=bad_id)


@pytest.mark.parametrize("bad_event", ["a\nb", "a\rb", "\r\n"])
def test_encode_rejects_newline_in_event(bad_event: str) -> None:
    with pytest.raises(ValueError, match="event"):
        encode_event("x", event=bad_event)


def test_encode_rejects_negative_retry() -> None:
    with pytest.raises(ValueError, match="retry"):
        encode_event("x", retry=-1)
    assert encode_event("x", retry=0) == b"retry: 0\ndata: x\n\n"


def test_encode_comment() -> None:
    assert encode_comment() == b":\n\n"
    assert encode_comment("ping") == b": ping\n\n"
    assert encode_comment("a\r\nb\rc\n") == b": a\n: b\n: c\n:\n\n"
    events, last_id, retry = decode([encode_comment("data: x\nid: 1\n")])
    assert (events, last_id, retry) == ([], "", None)


@given(
    text=st.text(),
    event_id=st.none()
    | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\0")),
)
def test_message_fast_path_matches_the_encoder(text: str, event_id: str | None) -> None:
    payload = json.dumps({"jsonrpc": "2.0", "method": "x", "params": {"t": text}}).encode()
    assert encode_message(payload, event_id) == encode_event(
        payload.decode(), event="message", id=event_id
    )
    events, last_id, _ = decode([encode_message(payload, event_id)])
    assert [json.loads(e.data) for e in events] == [json.loads(payload)]
    assert last_id == (event_id or "")


def test_message_fast_path_refuses_what_would_break_framing() -> None:
    with pytest.raises(ValueError, match="one line"):
        encode_message(b'{"a":\n1}')
    with pytest.raises(ValueError, match="id"):
        encode_message(b"{}", "a\nb")


def test_encode_retry() -> None:
    assert encode_retry(2000) == b"retry: 2000\n\n"
    events, last_id, retry = decode([encode_retry(1500)])
    assert (events, last_id, retry) == ([], "", 1500)
    with pytest.raises(ValueError, match="non-negative"):
        encode_retry(-1)
