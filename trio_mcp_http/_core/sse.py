"""Sans-IO Server-Sent Events encoding and decoding.

The encoder produces ``text/event-stream`` bytes; the decoder is an incremental parser that
follows the WHATWG HTML "event stream interpretation" rules. Nothing here performs I/O or
depends on an async library, so both halves can be driven from any transport.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SSEDecoder",
    "ServerSentEvent",
    "encode_comment",
    "encode_event",
    "encode_message",
    "encode_retry",
]

_BOM = b"\xef\xbb\xbf"
_LF = 0x0A
_CR = 0x0D


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    r"""One dispatched event.

    Attributes:
        data: The event data, with line endings normalised to ``"\n"``.
        event: The event type; ``"message"`` when no (or an empty) ``event:`` field was seen.
        id: The decoder's last-event-ID buffer at dispatch time (WHATWG ``lastEventId``),
            ``""`` if none.
    """

    data: str = ""
    event: str = "message"
    id: str = ""


def _split_lines(text: str) -> list[str]:
    """Split ``text`` on CRLF, CR and LF only (unlike `str.splitlines`)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def encode_event(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """Encode one event as ``text/event-stream`` bytes.

    Fields are written in the order ``id``, ``event``, ``retry``, then one ``data:`` line per
    line of ``data`` (split on CRLF, CR and LF), then a blank line. Empty ``data`` yields a
    single ``data:`` line, so the event is still dispatched (with empty data) by a decoder.

    Args:
        data: The event payload.
        event: Optional event type.
        id: Optional event ID; ``""`` resets the client's last event ID.
        retry: Optional reconnection time in milliseconds.

    Returns:
        The UTF-8 encoded event, terminated by a blank line.

    Raises:
        ValueError: If ``id`` or ``event`` contains CR or LF, ``id`` contains NUL, or
            ``retry`` is negative.
    """
    head = ""
    if id is not None:
        if "\n" in id or "\r" in id or "\0" in id:
            raise ValueError(f"SSE id must not contain CR, LF or NUL: {id!r}")
        head = "id: " + id + "\n" if id else "id:\n"
    if event is not None:
        if "\n" in event or "\r" in event:
            raise ValueError(f"SSE event type must not contain CR or LF: {event!r}")
        head += "event: " + event + "\n" if event else "event:\n"
    if retry is not None:
        if retry < 0:
            raise ValueError(f"SSE retry must be non-negative: {retry!r}")
        head += f"retry: {retry:d}\n"
    if "\n" not in data and "\r" not in data:
        body = "data: " + data + "\n\n" if data else "data:\n\n"
    else:
        body = "".join(["data: " + ln + "\n" if ln else "data:\n" for ln in _split_lines(data)])
        body += "\n"
    return (head + body).encode("utf-8")


def encode_message(payload: bytes, event_id: str | None = None) -> bytes:
    """Frame one serialised JSON-RPC message as an SSE ``message`` event, from bytes.

    The hot path of every SSE answer: compact JSON never holds a raw line break (they are
    escaped inside strings), so the payload is one ``data:`` line and nothing is re-encoded.
    The result equals ``encode_event(payload.decode(), event="message", id=event_id)``.

    Raises:
        ValueError: If ``payload`` holds CR or LF, or ``event_id`` CR, LF or NUL.
    """
    if b"\n" in payload or b"\r" in payload:
        raise ValueError("an SSE message payload must be one line (compact JSON)")
    if event_id is None:
        return b"event: message\ndata: " + payload + b"\n\n"
    if "\n" in event_id or "\r" in event_id or "\0" in event_id:
        raise ValueError(f"SSE id must not contain CR, LF or NUL: {event_id!r}")
    head = b"id: " + event_id.encode("utf-8") if event_id else b"id:"
    return head + b"\nevent: message\ndata: " + payload + b"\n\n"


def encode_retry(retry: int) -> bytes:
    """Encode a block holding only a ``retry`` field (how long to wait before reconnecting).

    It dispatches no event; a client only updates its reconnection time.

    Raises:
        ValueError: If ``retry`` is negative.
    """
    if retry < 0:
        raise ValueError(f"SSE retry must be non-negative: {retry!r}")
    return f"retry: {retry:d}\n\n".encode()


def encode_comment(text: str = "") -> bytes:
    r"""Encode a comment block, e.g. a keep-alive, followed by a blank line.

    Args:
        text: Comment text; each of its lines (split on CRLF, CR and LF) becomes one
            comment line.

    Returns:
        The UTF-8 encoded comment, such as ``b": text\n\n"``.
    """
    lines = _split_lines(text)
    return ("".join([": " + ln + "\n" if ln else ":\n" for ln in lines]) + "\n").encode("utf-8")


class SSEDecoder:
    """Incremental decoder following the WHATWG HTML "event stream interpretation" rules.

    Feed it byte chunks of any size; it returns the events completed by each chunk. Lines end
    with CRLF, LF or CR (also when split across chunks), a leading UTF-8 BOM is stripped once,
    and invalid UTF-8 is replaced with U+FFFD. After `feed` raises, discard the decoder.

    Args:
        last_event_id: Initial value of the last-event-ID buffer and of `last_event_id`,
            e.g. the ID a resumed stream was requested from.
        max_event_bytes: Limit on the pending incomplete line plus the buffered data of the
            current event (and on any single line); exceeding it makes `feed` raise.

    Raises:
        ValueError: If ``max_event_bytes`` is not positive.
    """

    def __init__(self, last_event_id: str = "", *, max_event_bytes: int = 16 * 1024 * 1024) -> None:
        if max_event_bytes < 1:
            raise ValueError(f"max_event_bytes must be positive: {max_event_bytes!r}")
        self._max = max_event_bytes
        self._buf = bytearray()  # pending incomplete line (raw bytes)
        self._bom_checked = False
        self._skip_lf = False  # previous chunk ended with CR: drop one leading LF
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._id_buf = last_event_id
        self._last_event_id = last_event_id
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last event ID string, updated at each blank line (event boundary)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The last valid reconnection time (ms) seen in a ``retry:`` field, else None."""
        return self._retry

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume a chunk of the stream.

        Args:
            chunk: The next bytes of the stream, split anywhere.

        Returns:
            The events dispatched by complete lines in this chunk, in order.

        Raises:
            ValueError: If a line, or the pending line plus the current event's data,
                exceeds ``max_event_bytes``.
        """
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if not chunk:
            return []
        buf = self._buf
        if not self._bom_checked:
            buf += chunk
            if len(buf) < len(_BOM) and _BOM.startswith(buf):
                return []
            self._bom_checked = True
            if buf.startswith(_BOM):
                del buf[: len(_BOM)]
            chunk = bytes(buf)
            buf.clear()
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) + 1
        if not cut:
            buf += chunk
            self._check_size()
            return []
        if buf:
            buf += chunk[:cut]
            complete = bytes(buf)
            buf.clear()
        else:
            complete = chunk[:cut]
        buf += chunk[cut:]
        self._skip_lf = cut == len(chunk) and chunk[-1] == _CR
        events: list[ServerSentEvent] = []
        # CR and LF never occur inside a multi-byte UTF-8 sequence, so decoding the complete
        # lines in one go is equivalent to decoding line by line.
        for line in _split_lines(complete.decode("utf-8", "replace"))[:-1]:
            if not line:
                self._dispatch(events)
            elif len(line) > self._max:
                raise ValueError(f"SSE line exceeds max_event_bytes ({self._max})")
            elif line[0] != ":":
                self._process_field(line)
        self._check_size()
        return events

    def close(self) -> list[ServerSentEvent]:
        """Signal the end of the stream.

        Per WHATWG, an incomplete event (one without a terminating blank line) is discarded.

        Returns:
            The events dispatched at end of stream; always empty under the WHATWG rules.
        """
        self._buf.clear()
        self._data.clear()
        self._data_size = 0
        self._event = ""
        self._skip_lf = False
        return []

    def _process_field(self, line: str) -> None:
        field, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
            self._data_size += len(value) + 1
            if self._data_size > self._max:
                raise ValueError(f"SSE event data exceeds max_event_bytes ({self._max})")
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id_buf = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        self._last_event_id = self._id_buf
        if self._data:
            events.append(
                ServerSentEvent("\n".join(self._data), self._event or "message", self._id_buf)
            )
            self._data.clear()
            self._data_size = 0
        self._event = ""

    def _check_size(self) -> None:
        if len(self._buf) + self._data_size > self._max:
            raise ValueError(f"SSE pending line/event exceeds max_event_bytes ({self._max})")
