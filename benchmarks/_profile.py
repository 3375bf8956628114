"""Profiling a server under load: py-spy (throughput, churn) summarised into components and hot
functions, and tracemalloc (idle sessions) by allocation site; reports go to results/.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _load import Client, open_sessions, run_wrk, wrk_mode
from _process import Server
from _scenarios import warm_sessions
from _targets import LOAD_CPU, MODERN, PY, RESULTS, ROOT, VERSION, Target

if TYPE_CHECKING:
    from harness import Plan


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
        elif scenario in ("modern", "input"):  # the 2026-07-28 wire: no session
            script, args = "throughput.lua", ["-", MODERN, scenario]
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


@dataclass
class _Tally:
    """The py-spy samples of the server's main thread, counted every way the report needs."""

    total: int = 0
    buckets: Counter[str] = field(default_factory=Counter)
    self_t: Counter[str] = field(default_factory=Counter)
    incl: Counter[str] = field(default_factory=Counter)
    by_pkg_self: Counter[str] = field(default_factory=Counter)
    callers: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, frames: list[str], count: int) -> None:
        self.total += count
        for label, markers in BUCKETS:
            if any(m in f for m in markers for f in frames):
                self.buckets[label] += count
                break
        else:
            self.buckets["trio scheduler and other (run loop, epoll, timers)"] += count
        leaf = frames[-1]
        self.self_t[leaf] += count
        self.by_pkg_self[_group(leaf.rsplit("(", 1)[-1].rstrip(")"))] += count
        for f in set(frames):
            self.incl[f] += count
        if len(frames) > 1:
            self.callers[leaf][frames[-2]] += count


def _tally(raw: Path) -> _Tally:
    """Read py-spy's raw (collapsed) output: ``frame;frame;... count`` per line."""
    tally = _Tally()
    for line in raw.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or "serve_forever" in stack:  # the side-port statistics thread
            continue
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].rsplit(":", 1)[0] + ")" if " (" in f else f
            for f in stack.split(";")
        ]
        tally.add(frames, int(count_s))
    return tally


def _components(t: _Tally, target: Target, scenario: str, load: dict[str, Any]) -> list[str]:
    """The report's heading and its table of components (with µs per unit when known)."""
    total = t.total
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
            f"| {k} | {v / total:.1%} | {v / total * per:.0f} |" for k, v in t.buckets.most_common()
        ]
        out.append(f"| total | 100% | {per:.0f} |")
    else:
        out += [f"| {k} | {v / total:.1%} |" for k, v in t.buckets.most_common()]
    return out


def _self_time(t: _Tally) -> list[str]:
    """Self time by package, then the top functions by self time with their top caller."""
    total = t.total
    out = ["", "## Self time by package", "", "| package | share |", "|---|---|"]
    out += [f"| {k} | {v / total:.1%} |" for k, v in t.by_pkg_self.most_common()]
    out += [
        "",
        "## Top functions by self time",
        "",
        "| function (file) | self | top caller |",
        "|---|---|---|",
    ]
    for k, v in t.self_t.most_common(30):
        top = t.callers[k].most_common(1)
        out.append(f"| `{k}` | {v / total:.1%} | {'`' + top[0][0] + '`' if top else ''} |")
    return out


def _inclusive_time(t: _Tally) -> list[str]:
    """Our functions (inclusive and self), then the top project and server frames (inclusive)."""
    total = t.total
    out = [
        "",
        "## trio_mcp_http functions (inclusive / self)",
        "",
        "| function (file) | inclusive | self |",
        "|---|---:|---:|",
    ]
    ours = [(k, v) for k, v in t.incl.most_common() if "trio_mcp_http" in k]
    out += [f"| `{k}` | {v / total:.1%} | {t.self_t[k] / total:.1%} |" for k, v in ours[:40]]
    out += [
        "",
        "## Top functions by inclusive time (project and server frames)",
        "",
        "| function (file) | inclusive |",
        "|---|---|",
    ]
    shown = 0
    for k, v in t.incl.most_common():
        if any(
            p in k for p in ("trio/_core", "_highlevel_serve", "<module>", "run (", "unrolled_run")
        ):
            continue
        out.append(f"| `{k}` | {v / total:.1%} |")
        shown += 1
        if shown >= 45:
            break
    return out


def summarize_profile(raw: Path, target: Target, scenario: str, load: dict[str, Any]) -> str:
    """The markdown report of one py-spy recording (``raw``) under ``load``."""
    t = _tally(raw)
    out = _components(t, target, scenario, load) + _self_time(t) + _inclusive_time(t)
    return "\n".join(out) + "\n"
