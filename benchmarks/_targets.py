"""Benchmark constants and the servers under test (shared by the harness and its report)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "0")
LOAD_CPU = os.environ.get("BENCH_LOAD_CPU", "1")
VERSION = "2025-11-25"  # the session-era protocol version both servers speak
MODERN = "2026-07-28"  # the per-request era (no session), which both servers also speak
CONNECTIONS = 16


# -- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    kind: str  # ours | sdk | ceiling
    script: str
    extra: tuple[str, ...] = ()
    mode: str = "sse"  # sse | json | fixed

    def argv(
        self, port: int, stats_port: int, idle_timeout: float, app: str, max_seconds: float
    ) -> list[str]:
        argv = [PY, str(HERE / self.script), "--port", str(port), "--stats-port", str(stats_port)]
        argv += ["--max-seconds", str(round(max_seconds)), *self.extra]
        if self.kind != "ceiling":
            argv += ["--idle-timeout", str(idle_timeout)]
        if self.kind == "ours":
            argv += ["--app", app]
        return argv


TARGETS = {
    t.key: t
    for t in [
        Target(
            "ceiling",
            "fixed-body ASGI app, hypercorn-trio",
            "ceiling",
            "serve_ceiling.py",
            mode="fixed",
        ),
        Target("ours-sse", "trio_mcp_http, hypercorn-trio, SSE", "ours", "serve_ours.py"),
        Target(
            "ours-json",
            "trio_mcp_http, hypercorn-trio, JSON",
            "ours",
            "serve_ours.py",
            ("--json-response",),
            "json",
        ),
        Target(
            "sdk-hypercorn-sse",
            "SDK, hypercorn-trio, SSE",
            "sdk",
            "serve_sdk.py",
            ("--server", "hypercorn"),
        ),
        Target(
            "sdk-hypercorn-json",
            "SDK, hypercorn-trio, JSON",
            "sdk",
            "serve_sdk.py",
            ("--server", "hypercorn", "--json-response"),
            "json",
        ),
        Target(
            "sdk-uvicorn-sse", "SDK, uvicorn, SSE", "sdk", "serve_sdk.py", ("--server", "uvicorn")
        ),
        Target(
            "sdk-uvicorn-json",
            "SDK, uvicorn, JSON",
            "sdk",
            "serve_sdk.py",
            ("--server", "uvicorn", "--json-response"),
            "json",
        ),
    ]
}
SESSION_TARGETS = [k for k in TARGETS if k != "ceiling"]
IDLE_TARGETS = ["ours-sse", "sdk-hypercorn-sse", "sdk-uvicorn-sse"]
MODERN_TARGETS = SESSION_TARGETS  # the ceiling's fixed body is the same on both wires
INPUT_TARGETS = IDLE_TARGETS  # response mode does not matter: the answers are small
# streams: the same server, hypercorn-trio; the ceiling (hypercorn alone) speaks only listen
STREAM_TARGETS = ["ours-sse", "sdk-hypercorn-sse", "ceiling"]
STREAM_ERAS = {"ceiling": ("modern",)}  # the eras a stream target serves, when not all
