# (the report tables use the multiplication and minus signs on purpose)
"""Benchmark harness: trio_mcp_http vs the official Python SDK vs a fixed-body ceiling.

Run it through ``benchmarks/run.sh`` (which builds ``benchmarks/.venv`` and pins this process
to the load-generator CPU). Every server is a separate process pinned to the server CPU,
started fresh for each measurement, bound to 127.0.0.1, and stopped (SIGTERM, then SIGKILL)
when its measurement ends; every load phase is bounded in time and count; the whole run has a
deadline after which the remaining measurements are skipped.

    python harness.py [--quick] [--only KEY,...] [--skip throughput,churn,idle]
    python harness.py --profile ours-sse [--scenario throughput|churn] [--duration S]
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _report import loadavg, machine, missed, render, versions
from _targets import (
    CLK_TCK,
    CONNECTIONS,
    HERE,
    IDLE_TARGETS,
    LOAD_CPU,
    PY,
    RESULTS,
    ROOT,
    SERVER_CPU,
    SESSION_TARGETS,
    TARGETS,
    VERSION,
    Target,
)


@dataclass
class Plan:
    quick: bool
    warmup: float
    tp_duration: float
    churn_duration: float
    idle_sizes: tuple[int, ...]  # cumulative RSS checkpoints of the never-deleted run
    reclaim_n: int  # for our server
    reclaim_n_sdk: int  # for the SDK (informational, and much slower to open)
    idle_timeout: float
    deadline: float  # seconds for the whole run
    repeats: int = 1  # throughput and churn rounds (interleaved); the median one is reported
    profile_missed: bool = False  # profile our server where it misses a target (full mode)
    app: str = "demo"
    only: set[str] = field(default_factory=set)
    skip: set[str] = field(default_factory=set)


def make_plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        plan = Plan(True, 1.0, 4.0, 4.0, (1_000,), 1_000, 1_000, 3.0, 165.0)
    else:
        plan = Plan(False, 2.0, 8.0, 8.0, (2_000, 10_000), 10_000, 2_000, 5.0, 870.0, repeats=3)
    plan.app = args.app
    plan.profile_missed = not args.quick and not args.no_profile
    plan.only = set(filter(None, args.only.split(","))) if args.only else set()
    plan.skip = set(filter(None, args.skip.split(","))) if args.skip else set()
    return plan


# -- server processes -------------------------------------------------------------------------


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


# -- scenarios --------------------------------------------------------------------------------


def throughput(target: Target, plan: Plan) -> dict[str, Any]:
    with Server(target, plan) as srv:
        sid = "-"
        if target.kind != "ceiling":
            client = Client(srv.port)
            sid = client.open_session()
            client.close()
        args = [sid, VERSION, wrk_mode(target, plan)]
        warm = run_wrk("throughput.lua", srv.url, plan.warmup, args)
        c0, t0 = srv.cpu_seconds(), time.monotonic()
        w = run_wrk("throughput.lua", srv.url, plan.tp_duration, args)
        c1, t1 = srv.cpu_seconds(), time.monotonic()
        secs = w["duration_us"] / 1e6
        errors = sum(
            w[k]
            for k in (
                "mismatches",
                "err_connect",
                "err_read",
                "err_write",
                "err_status",
                "err_timeout",
            )
        )
        errors += warm["mismatches"] + warm["err_status"]
        return {
            "banner": srv.banner,
            "requests": w["requests"],
            "checked": w["checked"],
            "rps": w["requests"] / secs,
            "p50_ms": w["lat_p50_us"] / 1000,
            "p99_ms": w["lat_p99_us"] / 1000,
            "cpu_ms_per_req": (c1 - c0) * 1000 / max(1, w["requests"]),
            "server_cpu_util": (c1 - c0) / (t1 - t0),
            "errors": errors,
            "first_bad": w["first_bad"] or warm["first_bad"],
        }


def churn(target: Target, plan: Plan) -> dict[str, Any]:
    with Server(target, plan) as srv:
        args = [VERSION, wrk_mode(target, plan)]
        warm = run_wrk("churn.lua", srv.url, plan.warmup, args)
        c0, t0 = srv.cpu_seconds(), time.monotonic()
        w = run_wrk("churn.lua", srv.url, plan.churn_duration, args)
        c1, t1 = srv.cpu_seconds(), time.monotonic()
        time.sleep(0.3)
        left = srv.stats().get("sessions")
        secs = w["duration_us"] / 1e6
        errors = (
            w["failures"]
            + warm["failures"]
            + sum(w[k] for k in ("err_connect", "err_read", "err_write", "err_timeout"))
        )
        return {
            "sessions": w["sessions"],
            "sessions_per_s": w["sessions"] / secs,
            "requests_per_s": w["requests"] / secs,
            "cpu_ms_per_session": (c1 - c0) * 1000 / max(1, w["sessions"]),
            "server_cpu_util": (c1 - c0) / (t1 - t0),
            "p50_ms": w["lat_p50_us"] / 1000,
            "p99_ms": w["lat_p99_us"] / 1000,
            "errors": errors,
            "left_open": left,  # sessions cut by the end of the two wrk runs (<= 2 x 16)
            "first_bad": w["first_bad"] or warm["first_bad"],
        }


def warm_sessions(srv: Server, n: int = 200) -> int:
    opened, errors = open_sessions(srv.port, n)
    sids = [r[0] for r in opened if r is not None]
    return errors + delete_sessions(srv.port, sids)


def idle_memory(target: Target, plan: Plan) -> dict[str, Any]:
    """Sessions never deleted (idle timeout 1800 s, the default of both): RSS per session."""
    with Server(target, plan) as srv:
        errors = warm_sessions(srv)
        time.sleep(0.5)
        rss0 = srv.rss_kib()
        c0 = srv.cpu_seconds()
        done = 0
        points = []
        for size in plan.idle_sizes:
            opened, errs = open_sessions(srv.port, size - done, time_limit=200)
            errors += errs + sum(1 for r in opened if r is None)
            done = size
            time.sleep(0.5)
            rss = srv.rss_kib()
            live = srv.stats().get("sessions")
            points.append(
                {
                    "n": size,
                    "rss_kib": rss,
                    "live": live,
                    "kib_per_session": (rss - rss0) / size,
                }
            )
        return {
            "rss0_kib": rss0,
            "points": points,
            "errors": errors,
            "cpu_ms_per_open": (srv.cpu_seconds() - c0) * 1000 / done,
        }


def reclaim(target: Target, plan: Plan) -> dict[str, Any]:
    """Short idle timeout: every abandoned session must be freed within timeout + 1 s."""
    timeout = plan.idle_timeout
    n = plan.reclaim_n if target.kind == "ours" else plan.reclaim_n_sdk
    with Server(target, plan, idle_timeout=timeout) as srv:
        errors = warm_sessions(srv)
        time.sleep(0.5)
        samples: list[tuple[float, float, int, int]] = []  # t_send, t_recv, sessions, rss
        polling = threading.Event()
        polling.set()

        def poll() -> None:
            while polling.is_set():
                t_send = time.monotonic()
                try:
                    live = int(srv.stats()["sessions"])
                except Exception:
                    live = -1
                samples.append((t_send, time.monotonic(), live, srv.rss_kib()))
                time.sleep(0.2)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        rounds = []
        try:
            for _ in range(2):
                start = len(samples)
                rss_before = srv.rss_kib()
                opened, errs = open_sessions(srv.port, n, time_limit=200)
                ok = [r for r in opened if r is not None]
                errors += errs + (n - len(ok))
                t_last = max(r[2] for r in ok)
                # poll until the registry is empty (or well past the bound)
                zero_at = None
                while time.monotonic() < t_last + timeout + 4:
                    if samples and samples[-1][0] > t_last and samples[-1][2] == 0:
                        zero_at = samples[-1][1]
                        break
                    time.sleep(0.05)
                stats_final = srv.stats()
                gone, errs404 = count_404(srv.port, [r[0] for r in ok])
                errors += errs404
                window = samples[start:]
                # no sample may show more live sessions than could legitimately be alive:
                # those started before it and last active less than timeout + 1 s earlier.
                starts = sorted(r[1] for r in ok)
                dones = sorted(r[2] for r in ok)
                excess = max(
                    (
                        live
                        - (
                            bisect.bisect_right(starts, tr)
                            - bisect.bisect_right(dones, ts - timeout - 1.0)
                        )
                        for ts, tr, live, _ in window
                        if live >= 0
                    ),
                    default=0,
                )
                time.sleep(0.3)
                rounds.append(
                    {
                        "opened": len(ok),
                        "open_seconds": t_last - min(r[1] for r in ok),
                        "last_freed_after_s": None if zero_at is None else zero_at - t_last,
                        "max_excess_live": excess,
                        "answer_404": gone,
                        "final_stats": stats_final,
                        "rss_before_kib": rss_before,
                        "rss_peak_kib": max((s[3] for s in window), default=0),
                        "rss_after_kib": srv.rss_kib(),
                    }
                )
        finally:
            polling.clear()
            poller.join(5)
        r1, r2 = rounds
        bound = timeout + 1.0
        all_freed = all(
            r["last_freed_after_s"] is not None
            and r["last_freed_after_s"] <= bound
            and r["max_excess_live"] <= 0
            and r["answer_404"] == r["opened"]
            and r["final_stats"].get("sessions") == 0
            for r in rounds
        )
        return {
            "n": n,
            "idle_timeout": timeout,
            "rounds": rounds,
            "errors": errors,
            "all_freed_in_bound": all_freed,
            "peak_growth": r2["rss_peak_kib"] / r1["rss_peak_kib"] - 1,
            "after_growth": r2["rss_after_kib"] / r1["rss_after_kib"] - 1,
        }


# -- profiling --------------------------------------------------------------------------------


def short(path: str) -> str:
    """A source path without its site-packages, repository or stdlib prefix."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if path.startswith(str(ROOT) + "/"):
        return path[len(str(ROOT)) + 1 :]
    if "/lib/python3" in path:
        return "stdlib/" + path.split("/lib/python3", 1)[1].split("/", 1)[1]
    return path


def memory_profile(target: Target, plan: Plan, n: int = 1_000) -> Path:
    """Idle sessions under tracemalloc: which allocation sites hold the memory of a session."""
    with Server(target, plan, extra_args=("--tracemalloc", "8")) as srv:
        warm_sessions(srv)
        time.sleep(0.3)
        rss0 = srv.rss_kib()
        srv.stats("/tm/mark")
        opened, errors = open_sessions(srv.port, n, time_limit=200)
        time.sleep(0.3)
        rss1 = srv.rss_kib()
        diff = srv.stats("/tm/diff")
    ok = sum(1 for r in opened if r is not None)
    out = [
        f"# tracemalloc: {target.label}, {ok:,} idle sessions",
        "",
        f"VmRSS grew {(rss1 - rss0) / ok:.2f} KiB per session (under tracemalloc); traced "
        f"Python allocations grew {diff.get('total_diff', 0) / ok / 1024:.2f} KiB per session "
        f"({errors} errors). The rest of the RSS growth is allocator overhead and "
        "fragmentation (pymalloc arenas, malloc).",
        "",
        "## By allocation site (line)",
        "",
        "| site | bytes per session | blocks per session |",
        "|---|---:|---:|",
    ]
    out += [
        f"| `{short(d['where'])}` | {d['size_diff'] / ok:.0f} | {d['count_diff'] / ok:.2f} |"
        for d in diff.get("lineno", [])[:25]
    ]
    # who in our code caused each allocation: the innermost trio_mcp_http frame of its traceback
    by_cause: Counter[str] = Counter()
    blocks: Counter[str] = Counter()
    for d in diff.get("traceback", []):
        frames = d["frames"]
        ours = [f for f in frames if "trio_mcp_http" in f]
        cause = short(ours[-1]) if ours else "(outside trio_mcp_http: " + short(frames[-1]) + ")"
        by_cause[cause] += d["size_diff"]
        blocks[cause] += d["count_diff"]
    out += [
        "",
        "## By the trio_mcp_http line that caused it (innermost project frame)",
        "",
        "| project line | bytes per session | blocks per session |",
        "|---|---:|---:|",
    ]
    out += [f"| `{k}` | {v / ok:.0f} | {blocks[k] / ok:.2f} |" for k, v in by_cause.most_common(20)]
    out += ["", "## By file", "", "| file | bytes per session |", "|---|---:|"]
    out += [
        f"| `{short(d['where'].rsplit(':', 1)[0])}` | {d['size_diff'] / ok:.0f} |"
        for d in diff.get("filename", [])[:15]
    ]
    report = RESULTS / f"profile-{target.key}-idle.md"
    report.write_text("\n".join(out) + "\n")
    return report


def profile(
    target: Target,
    plan: Plan,
    scenario: str,
    duration: float,
    reference_us: float | None = None,
) -> Path:
    """Record the server with py-spy under load; write the hot spots to results/."""
    if scenario == "idle":
        return memory_profile(target, plan)
    pyspy = Path(PY).parent / "py-spy"
    raw = RESULTS / f"profile-{target.key}-{scenario}.collapsed"
    with Server(target, plan) as srv:
        if scenario == "throughput":
            sid = "-"
            if target.kind != "ceiling":
                client = Client(srv.port)
                sid = client.open_session()
                client.close()
            script, args = "throughput.lua", [sid, VERSION, wrk_mode(target, plan)]
        else:
            script, args = "churn.lua", [VERSION, wrk_mode(target, plan)]
        result: dict[str, Any] = {}
        load = threading.Thread(
            target=lambda: result.update(run_wrk(script, srv.url, duration + 3, args))
        )
        c0 = srv.cpu_seconds()
        load.start()
        time.sleep(1.5)
        # py-spy pauses the process for each sample (--nonblocking garbles trio's coroutine
        # stacks), which inflates the CPU per request a little: the shares are what matter
        subprocess.run(
            [
                "taskset",
                "-c",
                LOAD_CPU,
                str(pyspy),
                "record",
                "-p",
                str(srv.pid),
                "-d",
                str(int(duration)),
                "-r",
                "200",
                "-f",
                "raw",
                "-o",
                str(raw),
            ],
            check=True,
            capture_output=True,
            timeout=duration + 60,
        )
        load.join()
        c1 = srv.cpu_seconds()
        unit = result.get("sessions") or result.get("requests") or 1
        result["server_cpu_us_per_unit"] = round((c1 - c0) * 1e6 / unit, 1)
        if reference_us:
            result["unprofiled_cpu_us_per_unit"] = round(reference_us, 1)
    report = RESULTS / f"profile-{target.key}-{scenario}.md"
    report.write_text(summarize_profile(raw, target, scenario, result))
    return report


def _group(frame_file: str) -> str:
    f = frame_file
    for key in (
        "trio_mcp_http",
        "hypercorn",
        "h11",
        "trio",
        "pydantic_core",
        "pydantic",
        "starlette",
        "sse_starlette",
        "anyio",
        "mcp",
        "uvicorn",
        "json",
        "logging",
        "typing",
        "secrets",
        "uuid",
    ):
        if f.startswith((key + "/", key + ".")) or f"/{key}/" in f:
            return key
    return "other"


# Where a sample's time goes: the first rule whose marker frame is on the stack wins.
BUCKETS = [
    ("hypercorn: ASGI send -> h11 -> socket (writing the response)", ("HTTPStream.app_send",)),
    (
        "MCP server layer (McpSessionHandler / SDK handler, the tool)",
        ("McpSessionHandler.handle_request", "_handle_request (mcp/", "ToolManager.call_tool"),
    ),
    (
        "transport: per-request task (Session._run_request: spawn, call, respond)",
        ("Session._run_request",),
    ),
    (
        "transport: SSE writer (nursery, disconnect watcher, channel, timers)",
        ("write_sse", "_watch_disconnect", "EventSourceResponse"),
    ),
    ("transport: dispatch (McpApp._dispatch)", ("McpApp._dispatch",)),
    (
        "transport: validation, body, JSON-RPC parse, session lookup (McpApp._post etc.)",
        ("McpApp", "StreamableHTTP", "RequestBodyLimitMiddleware", "Starlette"),
    ),
    ("transport: session task (Session.run)", ("Session.run",)),
    ("ceiling app", ("app (serve_ceiling.py)",)),
    ("hypercorn: read + parse request (h11), start the app task", ("TCPServer._read_data",)),
    ("hypercorn: connection/app task wrappers", ("hypercorn/",)),
]


def summarize_profile(  # noqa: PLR0915
    raw: Path, target: Target, scenario: str, load: dict[str, Any]
) -> str:
    total = 0
    buckets: Counter[str] = Counter()
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    by_pkg_self: Counter[str] = Counter()
    callers: dict[str, Counter[str]] = defaultdict(Counter)
    for line in raw.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or "serve_forever" in stack:  # the side-port statistics thread
            continue
        count = int(count_s)
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].rsplit(":", 1)[0] + ")" if " (" in f else f
            for f in stack.split(";")
        ]
        total += count
        for label, markers in BUCKETS:
            if any(m in f for m in markers for f in frames):
                buckets[label] += count
                break
        else:
            buckets["trio scheduler and other (run loop, epoll, timers)"] += count
        leaf = frames[-1]
        self_t[leaf] += count
        by_pkg_self[_group(leaf.rsplit("(", 1)[-1].rstrip(")"))] += count
        for f in set(frames):
            incl[f] += count
        if len(frames) > 1:
            callers[leaf][frames[-2]] += count
    out = [
        f"# py-spy profile: {target.label}, {scenario}",
        "",
        f"{total} samples of the server's main thread at 200 Hz (idle samples excluded); "
        f"load during the recording: {json.dumps(load)}",
        "",
        "## Where the time goes (each sample counted once, first matching rule)",
        "",
        "| component | share |",
        "|---|---|",
    ]
    per = load.get("server_cpu_us_per_unit")
    unit = "session" if scenario == "churn" else "request"
    reference = load.get("unprofiled_cpu_us_per_unit")
    if per and reference:
        out[-2:-2] = [
            f"µs per {unit} are the shares applied to the unprofiled server CPU of the "
            f"benchmark run ({reference:.0f} µs; with py-spy attached it was {per:.0f} µs).",
            "",
        ]
        per = reference
    if per:
        out[-2:] = [f"| component | share | server CPU µs per {unit} |", "|---|---:|---:|"]
        out += [
            f"| {k} | {v / total:.1%} | {v / total * per:.0f} |" for k, v in buckets.most_common()
        ]
        out.append(f"| total | 100% | {per:.0f} |")
    else:
        out += [f"| {k} | {v / total:.1%} |" for k, v in buckets.most_common()]
    out += ["", "## Self time by package", "", "| package | share |", "|---|---|"]
    out += [f"| {k} | {v / total:.1%} |" for k, v in by_pkg_self.most_common()]
    out += [
        "",
        "## Top functions by self time",
        "",
        "| function (file) | self | top caller |",
        "|---|---|---|",
    ]
    for k, v in self_t.most_common(30):
        top = callers[k].most_common(1)
        out.append(f"| `{k}` | {v / total:.1%} | {'`' + top[0][0] + '`' if top else ''} |")
    out += [
        "",
        "## trio_mcp_http functions (inclusive / self)",
        "",
        "| function (file) | inclusive | self |",
        "|---|---:|---:|",
    ]
    ours = [(k, v) for k, v in incl.most_common() if "trio_mcp_http" in k]
    out += [f"| `{k}` | {v / total:.1%} | {self_t[k] / total:.1%} |" for k, v in ours[:40]]
    out += [
        "",
        "## Top functions by inclusive time (project and server frames)",
        "",
        "| function (file) | inclusive |",
        "|---|---|",
    ]
    shown = 0
    for k, v in incl.most_common():
        if any(
            p in k for p in ("trio/_core", "_highlevel_serve", "<module>", "run (", "unrolled_run")
        ):
            continue
        out.append(f"| `{k}` | {v / total:.1%} |")
        shown += 1
        if shown >= 45:
            break
    return "\n".join(out) + "\n"


# -- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (about 3 minutes)")
    parser.add_argument("--only", default="", help="comma-separated target keys")
    parser.add_argument("--skip", default="", help="comma-separated: throughput,churn,idle")
    parser.add_argument(
        "--app",
        default="demo",
        choices=["demo", "bench", "tiny"],
        help="what serve_ours.py serves (default: the demo server)",
    )
    parser.add_argument("--profile", metavar="TARGET", help="profile one target with py-spy")
    parser.add_argument("--scenario", default="throughput", choices=["throughput", "churn", "idle"])
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="full mode: do not profile our server where it misses a target",
    )
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", default=str(RESULTS / "latest.md"))
    args = parser.parse_args()
    plan = make_plan(args)
    (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
    for old_log in (RESULTS / "logs").glob("*.log"):  # one run's server logs at a time
        old_log.unlink()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.profile:
            report = profile(TARGETS[args.profile], plan, args.scenario, args.duration)
            print(report.read_text())
            return 0
        return run_all(plan, Path(args.out))
    finally:
        kill_all()


def run_all(plan: Plan, out: Path) -> int:  # noqa: PLR0915
    began = time.monotonic()
    data: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "plan": plan.__dict__ | {"only": sorted(plan.only), "skip": sorted(plan.skip)},
        "machine": machine(),
        "versions": versions(),
    }

    def wanted(key: str) -> bool:
        return not plan.only or key in plan.only

    def step(section: str, key: str, fn: Any, budget: float) -> None:
        results = data.setdefault(section, {})
        best = results.get(key)
        remaining = plan.deadline - (time.monotonic() - began)
        if remaining < budget:
            print(f"[skip] {section} {key}: {remaining:.0f} s left of the time budget", flush=True)
            if best is None:
                results[key] = {"error": "skipped (time budget)"}
            return
        t0 = time.monotonic()
        try:
            result = fn(TARGETS[key], plan)
        except Exception as exc:  # record and go on: one broken server must not stop the run
            result = {"error": f"{type(exc).__name__}: {exc}"[:200]}
        brief = {
            k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in result.items()
            if not isinstance(v, (list, dict)) and k != "banner"
        }
        print(f"[{time.monotonic() - t0:5.1f}s] {section} {key}: {brief}", flush=True)
        cost = {"throughput": "cpu_ms_per_req", "churn": "cpu_ms_per_session"}.get(section)
        metric = {"throughput": "rps", "churn": "sessions_per_s"}.get(section)
        if best is None or "error" in best:
            best = None
        if "error" in result:
            if best is not None:  # keep the good rounds, note the failed one
                best["failed_rounds"] = [*best.get("failed_rounds", []), result["error"]]
                return
            results[key] = result
            return
        if cost and metric:
            # several rounds: report the round with the median server CPU per unit (the
            # lower of the two middle ones), list every round, count the errors of all
            rounds = [*(best or {}).get("rounds", []), result]
            for r in rounds:
                r.pop("rounds", None)
            ranked = sorted(rounds, key=lambda r: r[cost])
            chosen = dict(ranked[(len(ranked) - 1) // 2])
            chosen["rounds"] = rounds
            chosen["runs"] = [round(r[metric], 1) for r in rounds]
            chosen["cpu_runs"] = [round(r[cost], 3) for r in rounds]
            chosen["errors"] = sum(r["errors"] for r in rounds)
            result = chosen
        results[key] = result

    for _ in range(plan.repeats):
        if "throughput" not in plan.skip:
            for key in TARGETS:
                if wanted(key):
                    step("throughput", key, throughput, plan.warmup + plan.tp_duration + 8)
        if "churn" not in plan.skip:
            for key in SESSION_TARGETS:
                if wanted(key):
                    step("churn", key, churn, plan.warmup + plan.churn_duration + 8)
    if "idle" not in plan.skip:
        for key in IDLE_TARGETS:
            if wanted(key):
                step("idle", key, idle_memory, 20 if plan.quick else 60)
        for key in IDLE_TARGETS:
            if wanted(key):
                budget = 20 if plan.quick else (90 if TARGETS[key].kind == "ours" else 45)
                step("reclaim", key, reclaim, budget)
    if plan.profile_missed:
        for key, scenario in missed(data):
            remaining = plan.deadline - (time.monotonic() - began)
            if remaining < 45:
                print(f"[skip] profile {key} {scenario}: {remaining:.0f} s left", flush=True)
                continue
            t0 = time.monotonic()
            try:
                section, field = (
                    ("churn", "cpu_ms_per_session")
                    if scenario == "churn"
                    else ("throughput", "cpu_ms_per_req")
                )
                ref = data.get(section, {}).get(key, {}).get(field)
                path = profile(
                    TARGETS[key], plan, scenario, 10.0, None if ref is None else ref * 1000
                )
                data.setdefault("profiles", {})[f"{key} {scenario}"] = path.name
            except Exception as exc:
                data.setdefault("profiles", {})[f"{key} {scenario}"] = f"failed: {exc}"[:200]
            print(f"[{time.monotonic() - t0:5.1f}s] profile {key} {scenario}", flush=True)
    banner = data.get("throughput", {}).get("ours-sse", {}).get("banner", "")
    if "app=" in banner:
        data["ours_app"] = banner.split("app=")[1].split()[0]
    data["elapsed_s"] = time.monotonic() - began
    data["loadavg_end"] = loadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data))
    out.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
