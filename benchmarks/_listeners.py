"""Thousands of open streams from one load-generator thread, for the open-stream and fan-out
measurements.

Each listener is its own TCP connection holding one stream: a session-era GET stream
(``initialize``, ``notifications/initialized``, a subscription to ``bench://fanout`` — the
protocol's ``resources/subscribe`` for our server, the ``watch`` tool for the SDK, which keeps
no subscriptions — then ``GET /mcp``) or a 2026-07-28 ``subscriptions/listen`` stream for
``bench://fanout`` (open once its acknowledgement has arrived). The streams are opened by a few
threads with blocking sockets, then read by one thread with ``epoll``: a read counts the
occurrences of the resource's URI (no SSE parsing on the hot path, so that the load generator
stays much cheaper than the server) and stamps the time a round's expected count was reached.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from _stats import FANOUT_URI
from _targets import MODERN, VERSION

PATTERN = FANOUT_URI.encode()
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
}


class StreamError(Exception):
    """A listener could not be opened (status, body or connection)."""


# -- a minimal blocking HTTP/1.1 client on one socket -------------------------------------------


def _fill(sock: socket.socket, buf: bytearray) -> None:
    data = sock.recv(65536)
    if not data:
        raise StreamError("connection closed")
    buf += data


def _read_head(sock: socket.socket, buf: bytearray) -> tuple[int, dict[str, str]]:
    while (end := buf.find(b"\r\n\r\n")) < 0:
        _fill(sock, buf)
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def _read_body(sock: socket.socket, buf: bytearray, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(buf) < size:
            _fill(sock, buf)
        body = bytes(buf[:size])
        del buf[:size]
        return body
    if headers.get("transfer-encoding", "").lower() != "chunked":
        raise StreamError(f"no body framing: {headers}")
    body = bytearray()
    while True:
        while (eol := buf.find(b"\r\n")) < 0:
            _fill(sock, buf)
        size = int(bytes(buf[:eol]).split(b";")[0], 16)
        while len(buf) < eol + 2 + size + 2:
            _fill(sock, buf)
        body += buf[eol + 2 : eol + 2 + size]
        del buf[: eol + 2 + size + 2]
        if size == 0:
            return bytes(body)


def _send(sock: socket.socket, method: str, headers: dict[str, str], body: bytes) -> None:
    host, port = sock.getpeername()
    lines = [f"{method} /mcp HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def _call(
    sock: socket.socket, buf: bytearray, headers: dict[str, str], message: dict[str, Any]
) -> tuple[int, dict[str, str], bytes]:
    _send(sock, "POST", headers, json.dumps(message).encode())
    status, response_headers = _read_head(sock, buf)
    return status, response_headers, _read_body(sock, buf, response_headers)


def _rpc(method: str, params: dict[str, Any] | None = None, rid: int | None = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if rid is not None:
        message["id"] = rid
    if params is not None:
        message["params"] = params
    return message


BASE_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def open_listener(
    port: int, era: str, subscribe_with: str, rcvbuf: int | None = None
) -> tuple[socket.socket, bytes]:
    """Open one stream; return its socket and the stream bytes already read past the opening."""
    sock = socket.socket()
    if rcvbuf is not None:  # a stalled listener: a small window fills the server's buffers
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(60)
    try:
        sock.connect(("127.0.0.1", port))
        buf = bytearray()
        if era == "modern":
            return sock, _open_listen(sock, buf)
        return sock, _open_get_stream(sock, buf, subscribe_with)
    except BaseException:
        sock.close()
        raise


def _open_listen(sock: socket.socket, buf: bytearray) -> bytes:
    headers = BASE_HEADERS | {"Mcp-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"}
    params = {"notifications": {"resourceSubscriptions": [FANOUT_URI]}, "_meta": META}
    _send(sock, "POST", headers, json.dumps(_rpc("subscriptions/listen", params)).encode())
    status, _ = _read_head(sock, buf)
    if status != 200:
        raise StreamError(f"listen: {status} {bytes(buf[:200])!r}")
    # The acknowledgement names the URI too: count only what comes after its event (which
    # ends in a blank line, LF or CRLF: the SDK writes CRLF).
    while (end := _event_end(buf, buf.find(b"subscriptions/acknowledged"))) < 0:
        _fill(sock, buf)
    return bytes(buf[end:])


def _event_end(buf: bytearray, start: int) -> int:
    """The offset just past the blank line ending the SSE event at ``start``, or -1."""
    if start < 0:
        return -1
    ends = [at + len(sep) for sep in (b"\n\n", b"\r\n\r\n") if (at := buf.find(sep, start)) >= 0]
    return min(ends, default=-1)


def _open_get_stream(sock: socket.socket, buf: bytearray, subscribe_with: str) -> bytes:
    headers = BASE_HEADERS | {"Mcp-Protocol-Version": VERSION}
    init = _rpc(
        "initialize",
        {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        },
        0,
    )
    status, response_headers, body = _call(sock, buf, headers, init)
    sid = response_headers.get("mcp-session-id")
    if status != 200 or not sid:
        raise StreamError(f"initialize: {status} {body[:200]!r}")
    headers["Mcp-Session-Id"] = sid
    status, _, body = _call(sock, buf, headers, _rpc("notifications/initialized", rid=None))
    if status != 202:
        raise StreamError(f"initialized: {status} {body[:200]!r}")
    if subscribe_with == "subscribe":
        message = _rpc("resources/subscribe", {"uri": FANOUT_URI})
    else:
        message = _rpc("tools/call", {"name": "watch", "arguments": {}})
    status, _, body = _call(sock, buf, headers, message)
    if status != 200 or b'"result"' not in body or b'"isError":true' in body:
        raise StreamError(f"subscribe: {status} {body[:200]!r}")
    _send(
        sock,
        "GET",
        {"Accept": "text/event-stream"}
        | {k: v for k, v in headers.items() if k.startswith("Mcp-")},
        b"",
    )
    status, _ = _read_head(sock, buf)
    if status != 200:
        raise StreamError(f"GET: {status} {bytes(buf[:200])!r}")
    return bytes(buf)


# -- the fleet: every listener read by one epoll thread -----------------------------------------


@dataclass
class Listener:
    sock: socket.socket
    count: int = 0  # occurrences of the URI seen
    carry: bytes = b""  # the tail of the last read (a URI split across two reads)
    want: int = 0  # the count the current round waits for
    reached_at: float | None = 0.0  # None while a round waits for this listener
    closed_at: float | None = None
    last_data: float = 0.0


@dataclass
class Fleet:
    """The open listeners, read by ``pump``; ``errors`` counts listeners that failed to open."""

    listeners: dict[int, Listener] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    pending: int = 0  # listeners the current round still waits for
    epoll: select.epoll = field(default_factory=select.epoll)

    def open(
        self,
        port: int,
        era: str,
        subscribe_with: str,
        n: int,
        *,
        workers: int = 16,
        limit: float = 240,
    ) -> float:
        """Open ``n`` listeners on ``workers`` threads; the seconds it took."""
        t0 = time.monotonic()
        counter = itertools.count()
        lock = threading.Lock()
        stop_at = t0 + limit

        def worker() -> None:
            while time.monotonic() < stop_at and next(counter) < n:
                try:
                    sock, rest = open_listener(port, era, subscribe_with)
                except Exception as exc:
                    with lock:
                        self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                with lock:
                    self.add(sock, rest)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(limit + 60)
        return time.monotonic() - t0

    def add(self, sock: socket.socket, rest: bytes) -> None:
        sock.setblocking(False)
        listener = Listener(sock, last_data=time.monotonic())
        self._take(listener, rest, time.monotonic())
        self.listeners[sock.fileno()] = listener
        self.epoll.register(sock.fileno(), select.EPOLLIN)

    def _take(self, listener: Listener, data: bytes, now: float) -> None:
        listener.last_data = now
        chunk = listener.carry + data
        found = chunk.count(PATTERN)
        if found:
            listener.count += found
            if listener.reached_at is None and listener.count >= listener.want:
                listener.reached_at = now
                self.pending -= 1
        listener.carry = chunk[1 - len(PATTERN) :]

    def pump(self, seconds: float, done: Any = None) -> None:
        """Read every stream for ``seconds`` or until ``done()`` is true."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            for fd, _ in self.epoll.poll(min(left, 0.05)):
                listener = self.listeners[fd]
                try:
                    data = listener.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                now = time.monotonic()
                if data:
                    self._take(listener, data, now)
                else:
                    listener.closed_at = now
                    self.epoll.unregister(fd)
            if done is not None and done():
                return

    def expect(self, count: int) -> list[Listener]:
        """Start a round: every open listener now waits for ``count`` more occurrences."""
        active = [item for item in self.listeners.values() if item.closed_at is None]
        for listener in active:
            listener.want = listener.count + count
            listener.reached_at = None
        self.pending = len(active)
        return active

    def open_count(self) -> int:
        return sum(1 for listener in self.listeners.values() if listener.closed_at is None)

    def close(self) -> None:
        for listener in self.listeners.values():
            with contextlib.suppress(OSError):
                listener.sock.close()
        self.epoll.close()
