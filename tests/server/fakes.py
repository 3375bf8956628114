"""Fake transport contexts, to drive a session handler directly (no HTTP at all)."""

from __future__ import annotations

from typing import Any

import trio

from trio_mcp_http import Notification, Request, RequestId

Sent = list[tuple[str, dict[str, Any] | None]]


class FakeSession:
    """A SessionContext that records what is sent on the standalone stream."""

    def __init__(self, session_id: str | None = "s1", protocol_version: str = "2025-03-26") -> None:
        self._session_id = session_id
        self._protocol_version = protocol_version
        self.sent: Sent = []
        #: What the transport would say: stateless exchanges count as initialized.
        self.handshake_complete = session_id is None

    @property
    def initialized(self) -> bool:
        return self.handshake_complete

    @property
    def principal(self) -> str | None:
        return None

    @property
    def session_id(self) -> str | None:
        return self._session_id

    @property
    def protocol_version(self) -> str:
        return self._protocol_version

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.sent.append((method, params))

    def close_standalone_stream(self) -> None:
        self.sent.append(("<close standalone>", None))

    async def send_request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        raise AssertionError(f"unexpected unrelated request {method}")


class FakeRequest:
    """A RequestContext that records related messages and answers requests from a table."""

    def __init__(
        self,
        session: FakeSession,
        request_id: RequestId = 1,
        answers: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self._session = session
        self._request_id = request_id
        self.answers = answers or {}
        self.notifications: Sent = []
        self.requests: Sent = []
        self.closed_connections = 0

    @property
    def session(self) -> FakeSession:
        return self._session

    @property
    def request_id(self) -> RequestId:
        return self._request_id

    def header(self, name: str) -> str | None:
        return None

    async def wait_draining(self) -> None:
        await trio.sleep_forever()

    async def send_notification(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.notifications.append((method, params))

    def close_sse_stream(self) -> None:
        self.closed_connections += 1

    async def send_request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.requests.append((method, params))
        return self.answers[method]


def request(
    method: str, params: dict[str, Any] | None = None, request_id: RequestId = 1
) -> Request:
    return Request(jsonrpc="2.0", id=request_id, method=method, params=params)


def notification(method: str, params: dict[str, Any] | None = None) -> Notification:
    return Notification(jsonrpc="2.0", method=method, params=params)
