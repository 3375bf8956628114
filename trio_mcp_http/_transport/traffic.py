"""What is in flight at the HTTP level: requests being served and SSE responses being written.

The one owner of these counts; the endpoint's handlers enter its context managers and
:meth:`~trio_mcp_http.McpApp.statistics` reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Traffic"]


class Traffic:
    """Counts of one endpoint's HTTP traffic.

    Attributes:
        http_requests: HTTP requests being served (each holds a connection).
        streams: SSE responses being written.
    """

    __slots__ = ("http_requests", "streams")

    def __init__(self) -> None:
        self.http_requests = 0
        self.streams = 0

    @contextmanager
    def http_request(self) -> Iterator[None]:
        """Count one HTTP request for as long as it is served."""
        self.http_requests += 1
        try:
            yield
        finally:
            self.http_requests -= 1

    @contextmanager
    def stream(self) -> Iterator[None]:
        """Count one SSE response for as long as it is written."""
        self.streams += 1
        try:
            yield
        finally:
            self.streams -= 1
