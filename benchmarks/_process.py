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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def start_process(argv: list[str], log: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a process in its own session (so that it and its children can be stopped
    together); ``kill_all`` ends it if nothing else does."""
    proc = subprocess.Popen(argv, stderr=log, start_new_session=True, **kwargs)
    _LIVE.add(proc)
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to its process group, then SIGKILL after 5 s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    _LIVE.discard(proc)


class Server:
    """One server process pinned to the server CPU; ``stop()`` always ends it."""

    def __init__(
        self,
        target: Target,
        plan: Plan,
        idle_timeout: float = 1800.0,
        extra_args: tuple[str, ...] = (),
        max_seconds: float = 300.0,
    ) -> None:
        """Start ``target``; it also exits by itself after ``max_seconds``."""
        self.target = target
        self.port = free_port()
        self.stats_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        argv = [
            "taskset",
            "-c",
            SERVER_CPU,
            *target.argv(self.port, self.stats_port, idle_timeout, plan.app, max_seconds),
            *extra_args,
        ]
        RESULTS.mkdir(exist_ok=True)
        self.log = open(RESULTS / "logs" / f"{target.key}.log", "ab")  # noqa: SIM115
        self.log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(argv)}\n".encode())
        self.log.flush()
        self.proc = start_process(argv, self.log, stdout=subprocess.PIPE, cwd=HERE)
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
        return cpu_seconds(self.pid)

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
        stop_process(self.proc)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kill_all() -> None:
    for proc in list(_LIVE):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
