"""The load client: a small MCP client over ``http.client``, run on parallel keep-alive
connections (open, delete and probe sessions), and the ``wrk`` runner with its scripts' modes.
"""

from __future__ import annotations

import http.client
import itertools
import json
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

from _targets import CONNECTIONS, HERE, LOAD_CPU, VERSION, Target

if TYPE_CHECKING:
    from harness import Plan

# -- a small MCP client over http.client ------------------------------------------------------

HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": VERSION,
}
INIT_BODY = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        },
    }
).encode()
INITIALIZED_BODY = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'


class Client:
    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self, method: str, body: bytes | None, sid: str | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = dict(HEADERS)
        if sid is not None:
            headers["mcp-session-id"] = sid
        for attempt in (0, 1):
            try:
                self.conn.request(method, "/mcp", body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.headers, resp.read()
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
                http.client.CannotSendRequest,
            ):
                # an idle keep-alive connection the server closed: reconnect, retry once
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def open_session(self) -> str:
        status, headers, body = self.request("POST", INIT_BODY)
        sid = headers.get("mcp-session-id")
        if status != 200 or not sid or b'"protocolVersion"' not in body:
            raise RuntimeError(f"initialize: {status} {body[:200]!r}")
        status, _, body = self.request("POST", INITIALIZED_BODY, sid)
        if status != 202:
            raise RuntimeError(f"initialized: {status} {body[:200]!r}")
        return sid

    def close(self) -> None:
        self.conn.close()


def parallel(
    n: int, work: Any, port: int, workers: int = CONNECTIONS, time_limit: float = 120.0
) -> tuple[list[Any], int]:
    """Run ``work(client, i)`` for i in range(n) on ``workers`` keep-alive connections."""
    results: list[Any] = [None] * n
    errors = [0]
    counter = itertools.count()
    stop_at = time.monotonic() + time_limit

    def worker() -> None:
        client = Client(port)
        try:
            while time.monotonic() < stop_at:
                i = next(counter)
                if i >= n:
                    return
                try:
                    results[i] = work(client, i)
                except Exception:
                    errors[0] += 1
                    client.close()
                    client = Client(port)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(time_limit + 30)
    return results, errors[0]


def open_sessions(
    port: int, n: int, time_limit: float = 150.0
) -> tuple[list[tuple[str, float, float] | None], int]:
    def work(client: Client, _i: int) -> tuple[str, float, float]:
        t0 = time.monotonic()
        sid = client.open_session()
        return sid, t0, time.monotonic()

    return parallel(n, work, port, time_limit=time_limit)


def delete_sessions(port: int, sids: list[str]) -> int:
    def work(client: Client, i: int) -> int:
        return client.request("DELETE", None, sids[i])[0]

    statuses, errors = parallel(len(sids), work, port)
    return errors + sum(1 for s in statuses if s not in (200, 204))


def count_404(port: int, sids: list[str]) -> tuple[int, int]:
    body = (
        b'{"jsonrpc":"2.0","id":9,"method":"tools/call",'
        b'"params":{"name":"echo","arguments":{"text":"gone?"}}}'
    )

    def work(client: Client, i: int) -> int:
        return client.request("POST", body, sids[i])[0]

    statuses, errors = parallel(len(sids), work, port)
    return sum(1 for s in statuses if s == 404), errors


# -- wrk ----------------------------------------------------------------------------------------


def run_wrk(script: str, url: str, duration: float, args: list[str]) -> dict[str, Any]:
    argv = [
        "taskset",
        "-c",
        LOAD_CPU,
        "wrk",
        f"-t{CONNECTIONS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / script),
        url,
        "--",
        *args,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[8:])
    raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")


def wrk_mode(target: Target, plan: Plan) -> str:
    if target.kind == "ceiling":
        return "fixed"
    return "tiny" if target.kind == "ours" and plan.app == "tiny" else "mcp"
