"""Worker processes and real proxies (HAProxy, nginx) in front of them, on loopback.

Each worker is ``python -m trio_mcp_http serve tests.deploy.app:server`` on port 0 with its
own session id prefix (``w1-``, ``w2-``, ...); the proxies' configs are the ones the
deployment page shows, with the ports filled in: requests carrying a session id go to the
worker its prefix names (a gone worker's sessions get the server's own 404), every other
request round-robin; when a worker is gone, its sessions' requests go to another worker.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Literal

from ..engines import find_engine, free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = Path(__file__).parent / "configs"
ProxyKind = Literal["haproxy", "nginx"]


class Worker:
    """One server process."""

    def __init__(self, name: str, env: dict[str, str], options: Sequence[str] = ()) -> None:
        self.name = name
        command = [
            sys.executable, "-m", "trio_mcp_http", "serve", "tests.deploy.app:server",
            "--port", "0", "--session-prefix", f"{name}-",
            "--client-address-header", "x-forwarded-for", "--log-level", "warning",
            *options,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env, "TMH_WORKER": name},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "trio-mcp-http X: serving MCP at http://..."
        found = re.search(r"serving MCP at (http://127\.0\.0\.1:(\d+)/mcp)", line)
        if found is None:
            self.process.kill()
            raise RuntimeError(f"worker {name} did not start: {line!r}")
        self.url, self.port = found.group(1), int(found.group(2))

    def kill(self) -> None:
        """SIGKILL: the process dies as in a crash, with its sessions."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM, the graceful drain."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


def render(template: str, directory: Path, port: int, workers: Sequence[Worker]) -> str:
    """A config of ``configs/`` with the listening port, the three workers and ``dir`` filled in."""
    assert len(workers) == 3, "the configs name three workers"
    text = (CONFIGS / template).read_text()
    for worker in workers:
        text = text.replace(f"{{{worker.name}}}", str(worker.port))
    return text.replace("{port}", str(port)).replace("{dir}", str(directory))


class Proxy:
    """HAProxy or nginx in the foreground, listening on a free loopback port."""

    def __init__(self, kind: ProxyKind, workers: Sequence[Worker]) -> None:
        self.kind = kind
        self.directory = Path(tempfile.mkdtemp(prefix=f"tmh-{kind}-"))
        for _ in range(5):  # the port is free when picked; retry if taken meanwhile
            self.port = free_port()
            self.process = self._start(workers)
            if self._wait_listening():
                break
            self.process.kill()
            self.process.wait()
        else:
            raise RuntimeError(f"{kind} did not start: {self._log()}")
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def _start(self, workers: Sequence[Worker]) -> subprocess.Popen[bytes]:
        if self.kind == "haproxy":
            config = self.directory / "haproxy.cfg"
            config.write_text(render("haproxy.cfg", self.directory, self.port, workers))
            command = [find_engine("haproxy"), "-db", "-f", str(config)]
        else:
            for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.directory / temp).mkdir(exist_ok=True)
            config = self.directory / "nginx.conf"
            config.write_text(render("nginx.conf", self.directory, self.port, workers))
            command = [find_engine("nginx"), "-p", str(self.directory), "-c", str(config)]
        with (self.directory / "stderr.log").open("wb") as log:  # the engine holds its own copy
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # an engine's startup: nothing to wait on but this
            if self.process.poll() is not None:
                return False
            if f"127.0.0.1:{self.port}" in _listening_sockets():
                return True
            time.sleep(0.02)
        return False

    def _log(self) -> str:
        return (self.directory / "stderr.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """Stop the engine and remove its directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _listening_sockets() -> set[str]:
    """``host:port`` of the IPv4 TCP sockets listening on this machine (from /proc/net/tcp)."""
    found = set()
    with open("/proc/net/tcp") as table:
        next(table)
        for row in table:
            fields = row.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            octets = [str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)]
            found.add(f"{'.'.join(octets)}:{int(port, 16)}")
    return found


@contextmanager
def cluster(
    kind: ProxyKind, env: dict[str, str] | None = None, options: Sequence[str] = ()
) -> Iterator[tuple[Proxy, list[Worker]]]:
    """Three workers (``options`` added to their command lines) behind a ``kind`` proxy."""
    with ExitStack() as stack:
        workers: list[Worker] = []
        for index in (1, 2, 3):
            worker = Worker(f"w{index}", env or {}, options)
            stack.callback(worker.stop)
            workers.append(worker)
        proxy = Proxy(kind, workers)
        stack.callback(proxy.stop)
        yield proxy, workers
