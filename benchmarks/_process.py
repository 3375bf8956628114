"""Server processes under test: start one pinned to the server CPU, read its CPU time, RSS and
side-port statistics, and always stop it (SIGTERM, then SIGKILL); ``kill_all`` ends any left.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

from _targets import CLK_TCK, HERE, RESULTS, SERVER_CPU, Target

if TYPE_CHECKING:
    from harness import Plan


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_LIVE: set[subprocess.Popen[bytes]] = set()


class Server:
    """One server process pinned to the server CPU; ``stop()`` always ends it."""

    def __init__(
        self,
        target: Target,
        plan: Plan,
        idle_timeout: float = 1800.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.target = target
        self.port = free_port()
        self.stats_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        argv = [
            "taskset",
            "-c",
            SERVER_CPU,
            *target.argv(self.port, self.stats_port, idle_timeout, plan.app),
            *extra_args,
        ]
        RESULTS.mkdir(exist_ok=True)
        self.log = open(RESULTS / "logs" / f"{target.key}.log", "ab")  # noqa: SIM115
        self.log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(argv)}\n".encode())
        self.log.flush()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self.log, start_new_session=True, cwd=HERE
        )
        _LIVE.add(self.proc)
        self.pid = self.proc.pid  # taskset execs the interpreter: same pid
        self.banner = self._wait_ready(40.0)

    def _wait_ready(self, timeout: float) -> str:
        found: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                self.log.write(raw)
                self.log.flush()
                if line.startswith("READY") and not ready.is_set():
                    found.append(line)
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"{self.target.key} did not start (see results/logs)")
        return found[0]

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stats(self, path: str = "/") -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.stats_port, timeout=60)
        try:
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def notify(self, count: int) -> dict[str, Any]:
        """Have the server raise ``count`` resource updates (the side port's ``/notify``)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.stats_port, timeout=300)
        try:
            conn.request("POST", f"/notify?count={count}", body=b"")
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        _LIVE.discard(self.proc)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kill_all() -> None:
    for proc in list(_LIVE):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
