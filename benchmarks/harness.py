"""Benchmark harness: trio_mcp_http vs the official Python SDK vs a fixed-body ceiling.

Run it through ``benchmarks/run.sh`` (which builds ``benchmarks/.venv`` and pins this process
to the load-generator CPU). Every server is a separate process pinned to the server CPU,
started fresh for each measurement, bound to 127.0.0.1, and stopped (SIGTERM, then SIGKILL)
when its measurement ends; every load phase is bounded in time and count; the whole run has a
deadline after which the remaining measurements are skipped.

    python harness.py [--quick] [--only KEY,...] [--skip SECTION,...]
    python harness.py --render results/latest.json   # the report and plots again, no run
    python harness.py --profile ours-sse [--scenario throughput|modern|input|churn|idle]
"""

# This module holds the run plan and the orchestration (and is the entry point); the pieces
# live beside it: _process (server processes), _load (the load client and wrk), _scenarios (the
# measurements), _fanout and _listeners (open streams and fan-out), _profile (py-spy and
# tracemalloc reports), _report, _report_streams and _plots (the report) and _targets (constants
# and the servers under test). The docstring above is the --help text.

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _fanout import streams
from _plots import plot_all
from _process import kill_all
from _profile import profile
from _proxy import proxy_overhead
from _report import loadavg, machine, missed, render, versions
from _report_streams import second_edition, targets_15
from _scenarios import churn, idle_memory, input_round_trip, modern_throughput, reclaim, throughput
from _targets import (
    IDLE_TARGETS,
    INPUT_TARGETS,
    MODERN_TARGETS,
    RESULTS,
    SESSION_TARGETS,
    STREAM_ERAS,
    STREAM_TARGETS,
    TARGETS,
    Target,
)

SECTIONS = ("throughput", "modern", "input", "churn", "idle", "streams", "proxy")


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
    hold: float = 30.0  # seconds the open streams are held idle
    stream_sizes: tuple[int, ...] = (1_000, 10_000)
    stream_eras: tuple[str, ...] = ("legacy", "modern")
    burst: int = 100  # updates raised back to back in a burst round
    sdk_deliveries: int = 50_000  # the SDK's burst is cut to this many deliveries per round
    repeats: int = 1  # throughput and churn rounds (interleaved); the median one is reported
    profile_missed: bool = False  # profile our server where it misses a target (full mode)
    app: str = "demo"
    only: set[str] = field(default_factory=set)
    skip: set[str] = field(default_factory=set)

    def burst_for(self, target: Target, listeners: int) -> int:
        """The burst for ``listeners``: the SDK's is cut so that a round stays within about
        half a minute (it spends about 250 us per delivery)."""
        if target.kind != "sdk":
            return self.burst
        return max(1, min(self.burst, self.sdk_deliveries // listeners))


def make_plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        plan = Plan(True, 1.0, 3.0, 3.0, (1_000,), 1_000, 1_000, 3.0, 225.0, hold=3.0)
        plan.stream_sizes, plan.stream_eras, plan.burst, plan.sdk_deliveries = (
            (1_000,),
            ("modern",),
            20,
            20_000,
        )
    else:
        plan = Plan(False, 2.0, 6.0, 6.0, (2_000, 10_000), 10_000, 2_000, 5.0, 2_500.0, repeats=3)
    plan.app = args.app
    plan.profile_missed = not args.quick and not args.no_profile
    plan.only = set(filter(None, args.only.split(","))) if args.only else set()
    plan.skip = set(filter(None, args.skip.split(","))) if args.skip else set()
    if args.quick:
        plan.skip.add("proxy")  # three processes and HAProxy: the full run's measurement
    return plan


# -- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (under 4 minutes)")
    parser.add_argument("--only", default="", help="comma-separated target keys")
    parser.add_argument("--skip", default="", help="comma-separated: " + ",".join(SECTIONS))
    parser.add_argument("--render", metavar="JSON", help="rewrite the report from a results file")
    parser.add_argument(
        "--app",
        default="demo",
        choices=["demo", "bench", "tiny"],
        help="what serve_ours.py serves (default: the demo server)",
    )
    parser.add_argument("--profile", metavar="TARGET", help="profile one target with py-spy")
    parser.add_argument(
        "--scenario",
        default="throughput",
        choices=["throughput", "modern", "input", "churn", "idle"],
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="full mode: do not profile our server where it misses a target",
    )
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", default=str(RESULTS / "latest.md"))
    args = parser.parse_args()
    if args.render:
        data = json.loads(Path(args.render).read_text())
        write_report(data, Path(args.out))
        return 0
    plan = make_plan(args)
    raise_file_limit(max(plan.stream_sizes) * 4 // 3 + 1_000)
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


def raise_file_limit(wanted: int) -> None:
    """Raise this process's descriptor limit (the servers inherit it) for the open streams:
    each listener is a socket here and one in the server, whose ``max_connections`` default is
    three quarters of its limit (so ``wanted`` is 4/3 of the listeners, and some spare)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        if limit < wanted:
            print(f"warning: descriptor limit {limit} < {wanted}: streams will fail", flush=True)


# -- orchestration -------------------------------------------------------------------------------


@dataclass
class _Run:
    """One benchmark run: its plan, its start, the time left and the data gathered so far."""

    plan: Plan
    began: float
    data: dict[str, Any] = field(default_factory=dict)

    def remaining(self) -> float:
        return self.plan.deadline - (time.monotonic() - self.began)

    def wanted(self, key: str) -> bool:
        return not self.plan.only or key in self.plan.only

    def step(
        self, section: str, key: str, fn: Any, budget: float, target: str | None = None
    ) -> None:
        """Measure ``target`` (default: ``key``) with ``fn`` if ``budget`` seconds are left;
        record it in ``section`` under ``key``."""
        results = self.data.setdefault(section, {})
        remaining = self.remaining()
        if remaining < budget:
            print(f"[skip] {section} {key}: {remaining:.0f} s left of the time budget", flush=True)
            if results.get(key) is None:
                results[key] = {"error": "skipped (time budget)"}
            return
        record(results, key, section, measure(section, key, fn, self.plan, target or key))


def measure(section: str, key: str, fn: Any, plan: Plan, target: str) -> dict[str, Any]:
    """Run one measurement; an exception becomes the result's ``error`` (the run goes on)."""
    t0 = time.monotonic()
    try:
        result: dict[str, Any] = fn(TARGETS[target], plan)
    except Exception as exc:  # record and go on: one broken server must not stop the run
        result = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    brief = {
        k: (round(v, 3) if isinstance(v, float) else v)
        for k, v in result.items()
        if not isinstance(v, (list, dict)) and k != "banner"
    }
    print(f"[{time.monotonic() - t0:5.1f}s] {section} {key}: {brief}", flush=True)
    return result


ROUND_METRICS = {  # section: the cost that picks the median round, and the rate reported
    "throughput": ("cpu_ms_per_req", "rps"),
    "modern": ("cpu_ms_per_req", "rps"),
    "input": ("cpu_ms_per_completed", "completed_per_s"),
    "churn": ("cpu_ms_per_session", "sessions_per_s"),
}


def record(results: dict[str, Any], key: str, section: str, result: dict[str, Any]) -> None:
    """Merge a round into ``results[key]``: keep good rounds over failed ones, pick the median."""
    best = results.get(key)
    if best is None or "error" in best:
        best = None
    if "error" in result:
        if best is not None:  # keep the good rounds, note the failed one
            best["failed_rounds"] = [*best.get("failed_rounds", []), result["error"]]
            return
        results[key] = result
        return
    cost, metric = ROUND_METRICS.get(section, (None, None))
    if cost and metric:
        result = median_round(best, result, cost, metric)
    results[key] = result


def median_round(
    best: dict[str, Any] | None, result: dict[str, Any], cost: str, metric: str
) -> dict[str, Any]:
    """Several rounds: report the round with the median server CPU per unit (the lower of the
    two middle ones), list every round, count the errors of all."""
    rounds = [*(best or {}).get("rounds", []), result]
    for r in rounds:
        r.pop("rounds", None)
    ranked = sorted(rounds, key=lambda r: r[cost])
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    chosen["rounds"] = rounds
    chosen["runs"] = [round(r[metric], 1) for r in rounds]
    chosen["cpu_runs"] = [round(r[cost], 3) for r in rounds]
    chosen["errors"] = sum(r["errors"] for r in rounds)
    return chosen


def measure_all(run: _Run) -> None:
    """The wrk measurements (``plan.repeats`` interleaved rounds), then idle memory and
    reclaim, then open streams and fan-out."""
    plan = run.plan
    tp_budget = plan.warmup + plan.tp_duration + 8
    wrk_sections = [
        ("throughput", TARGETS, throughput, tp_budget),
        ("modern", MODERN_TARGETS, modern_throughput, tp_budget),
        ("input", INPUT_TARGETS, input_round_trip, tp_budget),
        ("churn", SESSION_TARGETS, churn, plan.warmup + plan.churn_duration + 8),
    ]
    for _ in range(plan.repeats):
        for section, keys, fn, budget in wrk_sections:
            for key in keys:
                if section not in plan.skip and run.wanted(key):
                    run.step(section, key, fn, budget)
    if "proxy" not in plan.skip and run.wanted("ours-sse"):
        run.step("proxy", "ours-sse", proxy_overhead, 2 * tp_budget + 10)
    if "idle" not in plan.skip:
        for key in IDLE_TARGETS:
            if run.wanted(key):
                run.step("idle", key, idle_memory, 20 if plan.quick else 60)
        # quick: the SDK's reclamation under hypercorn only (time for the streams' ceiling)
        for key in IDLE_TARGETS[:2] if plan.quick else IDLE_TARGETS:
            if run.wanted(key):
                budget = 20 if plan.quick else (90 if TARGETS[key].kind == "ours" else 45)
                run.step("reclaim", key, reclaim, budget)
    if "streams" not in plan.skip:
        for n in plan.stream_sizes:
            for key in STREAM_TARGETS:
                for era in STREAM_ERAS.get(key, plan.stream_eras):
                    if run.wanted(key) and era in plan.stream_eras:
                        budget = _stream_budget(plan, TARGETS[key], era, n)
                        run.step(
                            "streams",
                            f"{key} {era} {n}",
                            lambda target, plan, era=era, n=n, b=budget: streams(
                                target, plan, era, n, b
                            ),
                            budget,
                            target=key,
                        )


def _stream_budget(plan: Plan, target: Target, era: str, n: int) -> float:
    """Seconds an open-stream measurement may need: opening (the SDK's session-era listeners
    cost it about 10 ms each), the hold, and four fan-out rounds."""
    sdk = target.kind == "sdk"
    per_open = (0.012 if era == "legacy" else 0.003) if sdk else 0.002
    per_delivery = 300e-6 if sdk else 20e-6
    rounds = (3 * plan.burst_for(target, n) + 2) * n * per_delivery
    # the SDK's two stalled rounds may time out (60 s each) in a full run
    stalled = 120 if sdk and not plan.quick else 0
    return 10 + n * per_open + plan.hold + rounds + stalled


def profile_missed(run: _Run) -> None:
    """Profile our server where it misses a target, scaled to the unprofiled CPU per unit."""
    data = run.data
    for key, scenario in missed(data):
        remaining = run.remaining()
        if remaining < 45:
            print(f"[skip] profile {key} {scenario}: {remaining:.0f} s left", flush=True)
            continue
        t0 = time.monotonic()
        try:
            section, metric = (
                ("churn", "cpu_ms_per_session")
                if scenario == "churn"
                else ("throughput", "cpu_ms_per_req")
            )
            ref = data.get(section, {}).get(key, {}).get(metric)
            path = profile(
                TARGETS[key], run.plan, scenario, 10.0, None if ref is None else ref * 1000
            )
            data.setdefault("profiles", {})[f"{key} {scenario}"] = path.name
        except Exception as exc:
            data.setdefault("profiles", {})[f"{key} {scenario}"] = f"failed: {exc}"[:200]
        print(f"[{time.monotonic() - t0:5.1f}s] profile {key} {scenario}", flush=True)


def finish(run: _Run) -> dict[str, Any]:
    """The run's data with its closing facts."""
    data = run.data
    banner = data.get("throughput", {}).get("ours-sse", {}).get("banner", "")
    if "app=" in banner:
        data["ours_app"] = banner.split("app=")[1].split()[0]
    data["elapsed_s"] = time.monotonic() - run.began
    data["loadavg_end"] = loadavg()
    return data


def write_report(data: dict[str, Any], out: Path) -> None:
    """Write ``out`` (markdown), its ``.json`` sibling and the plots; print the markdown."""
    out.parent.mkdir(parents=True, exist_ok=True)
    data["plots"] = plot_all(data, out.parent)
    out.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str))
    out.write_text(render(data, [*second_edition(data), *targets_15(data)]))
    print(out.read_text())


def run_all(plan: Plan, out: Path) -> int:
    run = _Run(plan, time.monotonic())
    run.data.update(
        {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "plan": plan.__dict__ | {"only": sorted(plan.only), "skip": sorted(plan.skip)},
            "machine": machine(),
            "versions": versions(),
        }
    )
    measure_all(run)
    if plan.profile_missed:
        profile_missed(run)
    write_report(finish(run), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
