"""Proxy overhead (issue #15, item 6): the 2026-07-28 ``tools/call`` echo through HAProxy to
two workers, against the same load sent straight to one worker; server CPU per request of the
proxy and of the workers.

The 2026-07-28 wire has no sessions, so HAProxy spreads requests round-robin over the workers
(the deployment page's configuration, without the session routing this wire does not need).
HAProxy runs with one thread, on the server CPU with the workers: the figure that matters is
CPU per request, which sharing a CPU does not change.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING, Any

from _process import Server, cpu_seconds, free_port, start_process, stop_process
from _scenarios import timed_wrk
from _targets import MODERN, RESULTS, SERVER_CPU

if TYPE_CHECKING:
    from _targets import Target
    from harness import Plan

HAPROXY_CONFIG = """\
global
    nbthread 1
    maxconn 4000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 30s
    option forwardfor

frontend mcp
    bind 127.0.0.1:{port}
    default_backend workers

backend workers
    balance roundrobin
{servers}
"""


class HAProxy:
    """HAProxy in front of ``backends`` (ports on 127.0.0.1), pinned to the server CPU."""

    def __init__(self, backends: list[int]) -> None:
        binary = shutil.which("haproxy") or shutil.which("/usr/sbin/haproxy")
        if binary is None:
            raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        servers = "\n".join(f"    server w{i} 127.0.0.1:{p}" for i, p in enumerate(backends, 1))
        (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
        config = RESULTS / "logs" / "haproxy-bench.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=self.port, servers=servers))
        self.log = open(RESULTS / "logs" / "haproxy.log", "ab")  # noqa: SIM115
        argv = ["taskset", "-c", SERVER_CPU, binary, "-db", "-f", str(config)]
        self.proc = start_process(argv, self.log, stdout=self.log, stdin=subprocess.DEVNULL)
        banner = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
        words = banner.stdout.split()  # "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - ..."
        self.version = f"HAProxy {words[2].split('-')[0]}" if len(words) > 2 else "HAProxy"
        self._wait_ready(10.0)

    def _wait_ready(self, timeout: float) -> None:
        stop_at = time.monotonic() + timeout
        while time.monotonic() < stop_at:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.05)
                continue
            return
        self.stop()
        raise RuntimeError("haproxy did not start (see results/logs/haproxy.log)")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()

    def __enter__(self) -> HAProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def proxy_overhead(target: Target, plan: Plan) -> dict[str, Any]:
    """The 2026-07-28 echo straight to one worker, then through HAProxy to two."""
    args = ["-", MODERN, "modern"]
    with Server(target, plan) as srv:
        direct = timed_wrk(srv.url, plan, args, srv.cpu_seconds)
    with Server(target, plan) as w1, Server(target, plan) as w2, HAProxy([w1.port, w2.port]) as hp:
        workers = (w1, w2)
        samples: list[list[float]] = []  # [HAProxy, worker 1, worker 2] at the window's ends

        def every_cpu() -> float:
            sample = [hp.cpu_seconds(), *(w.cpu_seconds() for w in workers)]
            samples.append(sample)
            return sum(sample)

        proxied = timed_wrk(hp.url, plan, args, every_cpu)
        proxy_s, *worker_s = (b - a for a, b in zip(*samples, strict=True))
        requests = max(1, proxied["requests"])
        proxied.update(
            haproxy=hp.version,
            worker_cpu_split=[w / max(1e-9, sum(worker_s)) for w in worker_s],
            proxy_us_per_req=proxy_s * 1e6 / requests,
            workers_us_per_req=sum(worker_s) * 1e6 / requests,
        )
    return {
        "banner": srv.banner,
        "direct": direct,
        "proxied": proxied,
        "errors": direct["errors"] + proxied["errors"],
    }
