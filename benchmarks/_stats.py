"""A side-port statistics endpoint for the benchmark servers (not on the measured hot path).

A daemon thread answers ``GET /`` on ``127.0.0.1:<port>`` with a JSON object built by a
thread-safe ``snapshot()`` callable (which hops into the server's event loop itself), plus the
process's RSS. ``POST /notify?count=K`` (servers that pass ``notify``) raises K
``notifications/resources/updated`` for ``bench://fanout`` to every listener, one after the
other, and answers when all were raised, with the CLOCK_MONOTONIC times of the first raise and
of the end (the load generator's clock: the same on one machine). A thread blocked in
``accept()`` holds no GIL, so it costs the server nothing between polls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


_marks: dict[str, Any] = {}


def _tracemalloc(path: str) -> dict[str, Any]:
    """``/tm/mark``: remember a snapshot; ``/tm/diff``: allocation sites grown since the mark."""
    import gc  # noqa: PLC0415
    import tracemalloc  # noqa: PLC0415

    if not tracemalloc.is_tracing():
        return {"error": "tracemalloc is not tracing (start the server with --tracemalloc)"}
    gc.collect()
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    if path == "/tm/mark":
        _marks["mark"] = snap
        return {"marked": True}
    base = _marks.get("mark")
    if base is None:
        return {"error": "no mark"}
    out: dict[str, Any] = {}
    for key in ("lineno", "filename"):
        stats = snap.compare_to(base, key)
        out[key] = [
            {"where": str(s.traceback[0]), "size_diff": s.size_diff, "count_diff": s.count_diff}
            for s in stats[:40]
            if s.size_diff > 0
        ]
    out["traceback"] = [
        {
            "frames": [str(f) for f in s.traceback],
            "size_diff": s.size_diff,
            "count_diff": s.count_diff,
        }
        for s in snap.compare_to(base, "traceback")[:400]
        if s.size_diff > 0
    ]
    out["total_diff"] = sum(s.size_diff for s in snap.compare_to(base, "filename"))
    return out


FANOUT_URI = "bench://fanout"  # the resource the fan-out listeners subscribe to


def start_stats_server(
    port: int,
    snapshot: Callable[[], dict[str, Any]],
    notify: Callable[[int], None] | None = None,
) -> None:
    """Serve ``snapshot()`` (and ``notify(count)``, when given) on ``127.0.0.1:port``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            if notify is None or not self.path.startswith("/notify"):
                self._reply({"error": "no such endpoint"})
                return
            count = int(query.get("count", ["1"])[0])
            t0 = time.monotonic()
            try:
                notify(count)
            except Exception as exc:
                self._reply({"error": repr(exc)})
                return
            self._reply({"count": count, "t_raised": t0, "t_done": time.monotonic()})

        def do_GET(self) -> None:
            if self.path.startswith("/tm/"):
                self._reply(_tracemalloc(self.path))
                return
            try:
                data = snapshot()
            except Exception as exc:  # report, never crash the server
                data = {"error": repr(exc)}
            data["rss_kib"] = rss_kib()
            self._reply(data)

        def _reply(self, data: dict[str, Any]) -> None:
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="bench-stats", daemon=True).start()
