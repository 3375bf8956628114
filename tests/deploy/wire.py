"""One raw HTTP request through a proxy (for what a client library would hide: status, body)."""

from __future__ import annotations

import json
from typing import Any

from ..e2e.raw_http import request


async def post(
    port: int, message: dict[str, Any], *, session_id: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """POST one JSON-RPC message to ``/mcp`` on ``port``; the status, headers and body."""
    headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2025-11-25"),
    ]
    if session_id is not None:
        headers.append(("mcp-session-id", session_id))
    url = f"http://127.0.0.1:{port}/mcp"
    async with request(url, "POST", headers, json.dumps(message).encode()) as response:
        return response.status, response.headers, await response.body()
