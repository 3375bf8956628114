# ruff: noqa: RUF001
# (the report tables use the multiplication and minus signs on purpose)
"""The benchmark report: machine and versions, the tables, and the verdicts on the targets."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from typing import Any

from _targets import CONNECTIONS, LOAD_CPU, RESULTS, ROOT, SERVER_CPU, TARGETS


def versions() -> dict[str, str]:
    v = {}
    for name in (
        "trio-mcp-http",
        "mcp",
        "hypercorn",
        "trio",
        "h11",
        "uvicorn",
        "uvloop",
        "httptools",
        "starlette",
        "sse-starlette",
        "anyio",
        "pydantic",
        "pydantic-core",
    ):
        try:
            v[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            v[name] = "-"
    v["python"] = platform.python_version()
    v["wrk"] = (
        subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        .stdout.split("\n")[0]
        .split(" Copyright")[0]
    )
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "trio_mcp_http",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        v["commit"] = head + (" + uncommitted changes in trio_mcp_http/" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        v["commit"] = "-"
    return v


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine() -> dict[str, str]:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f.readline().split()[1]
    return {
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "mem_gib": f"{int(mem) / 2**20:.0f}",
        "kernel": platform.release(),
        "loadavg": loadavg(),
    }


def fmt(x: Any, spec: str = ".0f") -> str:
    return "n/a" if x is None else format(x, spec)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def render(data: dict[str, Any], later: list[str] | None = None) -> str:  # noqa: PLR0915
    """The markdown report; ``later``: the sections placed before issue #8's targets."""

    tp, ch, idle, rec = (data.get(k, {}) for k in ("throughput", "churn", "idle", "reclaim"))
    plan = data["plan"]
    ceil = tp.get("ceiling", {}).get("rps")
    mode = "quick" if plan["quick"] else "full"
    lines = [
        "# trio_mcp_http benchmarks: latest run",
        "",
        f"- date: {data['date']} ({mode} mode, {data['elapsed_s']:.0f} s); "
        f"command: `benchmarks/run.sh{' --quick' if plan['quick'] else ''}`",
        "- machine: "
        + ", ".join(f"{k} {v}" for k, v in data["machine"].items())
        + f"; load average at the end: {data['loadavg_end']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        f"- our app: `{data.get('ours_app', plan['app'])}`; SDK app: `MCPServer` with "
        "`async def echo(text: str) -> str`; ceiling: fixed JSON-RPC body",
        f"- server pinned to CPU {SERVER_CPU}, wrk and the Python load generator to CPU "
        f"{LOAD_CPU}; {CONNECTIONS} connections (wrk threads = connections); throughput "
        f"{plan['tp_duration']:.0f} s, churn {plan['churn_duration']:.0f} s per target "
        f"after {plan['warmup']:.0f} s of warm-up; {plan.get('repeats', 1)} interleaved "
        "round(s), the round with the median server CPU per request/session reported",
        "- the machine is shared and noisy: compare the ratios within one run, not absolute "
        "figures across runs",
        "",
        "## 1. Throughput: one session, `tools/call` echo, 16 connections",
        "",
        "Wall: requests/s as measured. CPU: capacity = 1 / (server CPU time per request), i.e. "
        "requests per second of server CPU, which a noisy neighbour on the server's CPU does "
        'not skew (a "server CPU use" well under 100% means the server did not get its CPU).',
        "",
        "| server | req/s | % of ceiling (wall / CPU) | × SDK hypercorn, same mode (wall / CPU) "
        "| p50 ms | p99 ms | server CPU ms/req | server CPU use | errors "
        "| each round: req/s (CPU ms/req) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in tp.items():
        t = TARGETS[key]
        if "error" in r:
            lines.append(f"| {t.label} | failed: {r['error']} |||||||| |")
            continue
        sdk = tp.get(f"sdk-hypercorn-{t.mode}", {})
        ceil_cpu = tp.get("ceiling", {}).get("cpu_ms_per_req")
        lines.append(
            f"| {t.label} | {r['rps']:.0f} | {fmt(ratio(r['rps'], ceil), '.0%')} / "
            f"{fmt(ratio(ceil_cpu, r['cpu_ms_per_req']), '.0%')} | "
            + (
                f"{fmt(ratio(r['rps'], sdk.get('rps')), '.2f')} / "
                f"{fmt(ratio(sdk.get('cpu_ms_per_req'), r['cpu_ms_per_req']), '.2f')} | "
                if t.kind != "ceiling"
                else "- | "
            )
            + f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['cpu_ms_per_req']:.2f} | "
            f"{r['server_cpu_util']:.0%} | {r['errors']} / {r['checked']} checked | "
            f"{rounds_cell(r)} |"
        )
    lines += [
        "",
        "## 2. Session churn: initialize → initialized → tools/call → DELETE "
        "(new connection per session), 16 clients",
        "",
        "| server | sessions/s | × SDK hypercorn, same mode (wall / CPU) "
        "| server CPU ms/session "
        "| server CPU use | request p50 / p99 ms | errors | left open at the end "
        "| each round: sessions/s (CPU ms/session) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in ch.items():
        t = TARGETS[key]
        if "error" in r:
            lines.append(f"| {t.label} | failed: {r['error']} |||||| |")
            continue
        sdk = ch.get(f"sdk-hypercorn-{t.mode}", {})
        lines.append(
            f"| {t.label} | {r['sessions_per_s']:.0f} | "
            f"{fmt(ratio(r['sessions_per_s'], sdk.get('sessions_per_s')), '.2f')} / "
            f"{fmt(ratio(sdk.get('cpu_ms_per_session'), r['cpu_ms_per_session']), '.2f')} | "
            f"{r['cpu_ms_per_session']:.2f} | {r['server_cpu_util']:.0%} | "
            f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} | {r['errors']} | {r['left_open']} | "
            f"{rounds_cell(r)} |"
        )
    sizes = plan["idle_sizes"]
    lines += [
        "",
        "## 3. Idle sessions (initialize + initialized, never deleted)",
        "",
        "RSS per session = (VmRSS after opening N − VmRSS after a warm-up of 200 "
        "opened-and-deleted sessions) / N; checkpoints are cumulative in one process.",
        "",
        "| server | "
        + " | ".join(f"KiB/session at N={n:,}" for n in sizes)
        + " | live sessions | server CPU ms per open |",
        "|---|" + "---:|" * len(sizes) + "---:|---:|",
    ]
    for key, r in idle.items():
        t = TARGETS[key]
        if "error" in r:
            lines.append(f"| {t.label} | failed: {r['error']} |" + "|" * len(sizes))
            continue
        cells = " | ".join(f"{p['kib_per_session']:.1f}" for p in r["points"])
        live = ", ".join(str(p["live"]) for p in r["points"])
        lines.append(f"| {t.label} | {cells} | {live} | {r['cpu_ms_per_open']:.2f} |")
    lines += [
        "",
        f"### Reclamation: idle timeout {plan['idle_timeout']:g} s, "
        f"N abandoned sessions (ours {plan['reclaim_n']:,}, SDK "
        f"{plan.get('reclaim_n_sdk', plan['reclaim_n']):,}), opened twice",
        "",
        "Pass = the registry is empty and every id answers 404 within timeout + 1 s of "
        "the last session's last request, and no statistics sample (every 0.2 s) ever "
        "shows more live sessions than those active in the last timeout + 1 s.",
        "",
        "| server | round | open time s | last freed after s | max excess live "
        "| ids → 404 | RSS before / peak / after MiB | in bound |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in rec.items():
        t = TARGETS[key]
        if "error" in r:
            lines.append(f"| {t.label} | failed: {r['error']} |||||| |")
            continue
        for i, rd in enumerate(r["rounds"], 1):
            lines.append(
                f"| {t.label} | {i} | {rd['open_seconds']:.1f} | "
                f"{fmt(rd['last_freed_after_s'], '.2f')} | {rd['max_excess_live']} | "
                f"{rd['answer_404']:,}/{rd['opened']:,} | {rd['rss_before_kib'] / 1024:.1f} / "
                f"{rd['rss_peak_kib'] / 1024:.1f} / {rd['rss_after_kib'] / 1024:.1f} | "
                f"{'yes' if r['all_freed_in_bound'] else 'NO'} |"
            )
        lines.append(
            f"| {t.label} | 2 vs 1 | RSS growth: peak {r['peak_growth']:+.1%}, "
            f"after reclaim {r['after_growth']:+.1%} ||||||"
        )
    lines += ["", *(later or [])]
    lines += [
        "",
        "## Targets (issue #8): trio_mcp_http under hypercorn-trio",
        "",
        "Throughput and churn verdicts use the CPU-normalised ratio (server CPU per "
        "request or session, robust to a noisy shared machine); the wall-clock ratio is "
        "shown beside it and noted where it disagrees.",
        "",
        "| target | goal | measured | verdict |",
        "|---|---|---|---|",
    ]
    lines += targets_table(data)
    lines += [
        "",
        "Reference (issue #8, the SDK under hypercorn-trio, SSE, same kind of machine): "
        "27% of the ceiling, 3.2 ms CPU per `tools/call`, 9 ms CPU per churned session, "
        "38 KB RSS per idle session. This run: SDK hypercorn SSE at "
        f"{fmt(ratio(tp.get('sdk-hypercorn-sse', {}).get('rps'), ceil), '.0%')} of the "
        "ceiling, "
        f"{fmt(tp.get('sdk-hypercorn-sse', {}).get('cpu_ms_per_req'), '.2f')} ms/call, "
        f"{fmt(ch.get('sdk-hypercorn-sse', {}).get('cpu_ms_per_session'), '.2f')} ms/session, "
        f"{fmt(_last_kib(idle.get('sdk-hypercorn-sse')), '.1f')} KiB/idle session.",
        "",
    ]
    profiles = data.get("profiles", {})
    if profiles:
        lines += [
            "## Profiles of our server where it missed a target",
            "",
            "py-spy (200 Hz) under the same load, or tracemalloc for idle memory; the "
            "full reports (top functions by self and inclusive time) are beside this "
            "file. Shares are of the server's main-thread samples.",
            "",
        ]
        for name, file in profiles.items():
            lines.append(f"### {name}: `{file}`")
            lines.append("")
            path = RESULTS / file
            if path.exists():
                text = path.read_text().split("\n## ")
                intro = [x for x in text[0].split("\n")[1:] if x.strip()]
                if "idle" in file:
                    lines += [*intro[:1], ""]
                sections = [t for t in text[1:] if t.startswith("By the trio_mcp_http")]
                section = sections[0] if sections else (text[1] if len(text) > 1 else "")
                if section:
                    lines.append("#### " + section.strip())
                lines.append("")
    return "\n".join(lines)


def rounds_cell(r: dict[str, Any]) -> str:
    return ", ".join(
        f"{x:.0f} ({c:.2f})" for x, c in zip(r.get("runs", []), r.get("cpu_runs", []), strict=False)
    )


def _last_kib(r: dict[str, Any] | None) -> float | None:
    if not r or "points" not in r:
        return None
    return r["points"][-1]["kib_per_session"]


def missed(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(target, scenario) pairs to profile, for each target of the issue our server missed."""
    tp, ch, idle = (data.get(k, {}) for k in ("throughput", "churn", "idle"))
    g = lambda d, k, f: d.get(k, {}).get(f)  # noqa: E731
    ceil = g(tp, "ceiling", "cpu_ms_per_req")
    out = []
    sse = ratio(ceil, g(tp, "ours-sse", "cpu_ms_per_req"))
    sdk = ratio(g(tp, "sdk-hypercorn-sse", "cpu_ms_per_req"), g(tp, "ours-sse", "cpu_ms_per_req"))
    if (sse is not None and sse < 0.75) or (sdk is not None and sdk < 3):
        out.append(("ours-sse", "throughput"))
    js = ratio(ceil, g(tp, "ours-json", "cpu_ms_per_req"))
    if js is not None and js < 0.85:
        out.append(("ours-json", "throughput"))
    cr = ratio(
        g(ch, "sdk-hypercorn-sse", "cpu_ms_per_session"), g(ch, "ours-sse", "cpu_ms_per_session")
    )
    if cr is not None and cr < 2.5:
        out.append(("ours-sse", "churn"))
    kib = _last_kib(idle.get("ours-sse"))
    if kib is not None and kib > 5:
        out.append(("ours-sse", "idle"))
    return out


def _pair(wall: float | None, cpu: float | None, spec: str, suffix: str = "") -> str:
    return f"{fmt(wall, spec)}{suffix} wall, {fmt(cpu, spec)}{suffix} CPU"


def _judge(wall: float | None, cpu: float | None, ok: Any) -> str:
    """Verdict on the CPU-normalised ratio (robust to a noisy machine); wall one alongside."""
    if cpu is None:
        return "n/a"
    v = verdict(ok(cpu))
    if wall is not None and ok(wall) != ok(cpu):
        v += f" (wall: {'met' if ok(wall) else 'missed'})"
    return v


def targets_table(data: dict[str, Any]) -> list[str]:
    tp, ch, idle, rec = (data.get(k, {}) for k in ("throughput", "churn", "idle", "reclaim"))
    g = lambda d, k, f: d.get(k, {}).get(f)  # noqa: E731
    cpu = lambda d, a, b, f: ratio(g(d, b, f), g(d, a, f))  # noqa: E731  (a's capacity / b's)
    rows = []
    w_sse_sdk = ratio(g(tp, "ours-sse", "rps"), g(tp, "sdk-hypercorn-sse", "rps"))
    c_sse_sdk = cpu(tp, "ours-sse", "sdk-hypercorn-sse", "cpu_ms_per_req")
    w_sse_ceil = ratio(g(tp, "ours-sse", "rps"), g(tp, "ceiling", "rps"))
    c_sse_ceil = cpu(tp, "ours-sse", "ceiling", "cpu_ms_per_req")
    w_json_ceil = ratio(g(tp, "ours-json", "rps"), g(tp, "ceiling", "rps"))
    c_json_ceil = cpu(tp, "ours-json", "ceiling", "cpu_ms_per_req")
    w_churn = ratio(
        g(ch, "ours-sse", "sessions_per_s"), g(ch, "sdk-hypercorn-sse", "sessions_per_s")
    )
    c_churn = cpu(ch, "ours-sse", "sdk-hypercorn-sse", "cpu_ms_per_session")
    w_churn_j = ratio(
        g(ch, "ours-json", "sessions_per_s"), g(ch, "sdk-hypercorn-json", "sessions_per_s")
    )
    c_churn_j = cpu(ch, "ours-json", "sdk-hypercorn-json", "cpu_ms_per_session")
    kib = _last_kib(idle.get("ours-sse"))
    r = rec.get("ours-sse", {})
    errs = sum(
        (x.get("errors") or 0) for d in (tp, ch) for k, x in d.items() if k.startswith("ours")
    )
    rows.append(
        f"| SSE throughput vs SDK (hypercorn-trio, SSE) | ≥ 3× | "
        f"{_pair(w_sse_sdk, c_sse_sdk, '.2f', '×')} | "
        f"{_judge(w_sse_sdk, c_sse_sdk, lambda x: x >= 3)} |"
    )
    rows.append(
        f"| SSE throughput vs ceiling | ≥ 75% | {_pair(w_sse_ceil, c_sse_ceil, '.0%')} | "
        f"{_judge(w_sse_ceil, c_sse_ceil, lambda x: x >= 0.75)} |"
    )
    rows.append(
        f"| JSON throughput vs ceiling | ≥ 85% | {_pair(w_json_ceil, c_json_ceil, '.0%')} "
        f"| {_judge(w_json_ceil, c_json_ceil, lambda x: x >= 0.85)} |"
    )
    rows.append(
        f"| churn sessions/s vs SDK (hypercorn-trio, SSE) | ≥ 2.5× | "
        f"{_pair(w_churn, c_churn, '.2f', '×')} | "
        f"{_judge(w_churn, c_churn, lambda x: x >= 2.5)} |"
    )
    rows.append(
        f"| churn, JSON mode (for information) | ≥ 2.5× | "
        f"{_pair(w_churn_j, c_churn_j, '.2f', '×')} | "
        f"{_judge(w_churn_j, c_churn_j, lambda x: x >= 2.5)} |"
    )
    rows.append(
        f"| idle RSS per session (largest N) | ≤ 5 KB | {fmt(kib, '.1f')} KiB "
        f"| {verdict(None if kib is None else kib <= 5)} |"
    )
    if r and "rounds" in r:
        rows.append(
            f"| abandoned sessions freed within idle timeout + 1 s | 100% | "
            f"{'100%' if r['all_freed_in_bound'] else 'not all'} "
            f"| {verdict(r['all_freed_in_bound'])} |"
        )
        rows.append(
            f"| RSS on reopening N (peak, round 2 vs 1) | ≤ +10% | "
            f"{r['peak_growth']:+.1%} | {verdict(r['peak_growth'] <= 0.10)} |"
        )
    rows.append(f"| errors (throughput + churn, ours) | 0 | {errs} | {verdict(errs == 0)} |")
    return rows
