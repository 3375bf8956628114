"""Benchmark harness: trio_mcp_http vs the official Python SDK vs a fixed-body ceiling.

Run it through ``benchmarks/run.sh`` (which builds ``benchmarks/.venv`` and pins this process
to the load-generator CPU). Every server is a separate process pinned to the server CPU,
started fresh for each measurement, bound to 127.0.0.1, and stopped (SIGTERM, then SIGKILL)
when its measurement ends; every load phase is bounded in time and count; the whole run has a
deadline after which the remaining measurements are skipped.

    python harness.py [--quick] [--only KEY,...] [--skip throughput,churn,idle]
    python harness.py --profile ours-sse [--scenario throughput|churn] [--duration S]
"""

# This module holds the run plan and the orchestration (and is the entry point); the pieces
# live beside it: _process (server processes), _load (the load client and wrk), _scenarios (the
# measurements), _profile (py-spy and tracemalloc reports), _report (the report) and _targets
# (constants and the servers under test). The docstring above is the --help text.

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _process import kill_all
from _profile import profile
from _report import loadavg, machine, missed, render, versions
from _scenarios import churn, idle_memory, reclaim, throughput
from _targets import IDLE_TARGETS, RESULTS, SESSION_TARGETS, TARGETS


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

    def step(self, section: str, key: str, fn: Any, budget: float) -> None:
        """Measure ``key`` with ``fn`` if ``budget`` seconds are left; record it in ``section``."""
        results = self.data.setdefault(section, {})
        remaining = self.remaining()
        if remaining < budget:
            print(f"[skip] {section} {key}: {remaining:.0f} s left of the time budget", flush=True)
            if results.get(key) is None:
                results[key] = {"error": "skipped (time budget)"}
            return
        record(results, key, section, measure(section, key, fn, self.plan))


def measure(section: str, key: str, fn: Any, plan: Plan) -> dict[str, Any]:
    """Run one measurement; an exception becomes the result's ``error`` (the run goes on)."""
    t0 = time.monotonic()
    try:
        result: dict[str, Any] = fn(TARGETS[key], plan)
    except Exception as exc:  # record and go on: one broken server must not stop the run
        result = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    brief = {
        k: (round(v, 3) if isinstance(v, float) else v)
        for k, v in result.items()
        if not isinstance(v, (list, dict)) and k != "banner"
    }
    print(f"[{time.monotonic() - t0:5.1f}s] {section} {key}: {brief}", flush=True)
    return result


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
    cost = {"throughput": "cpu_ms_per_req", "churn": "cpu_ms_per_session"}.get(section)
    metric = {"throughput": "rps", "churn": "sessions_per_s"}.get(section)
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
    """Throughput and churn (``plan.repeats`` interleaved rounds), then idle memory and reclaim."""
    plan = run.plan
    for _ in range(plan.repeats):
        if "throughput" not in plan.skip:
            for key in TARGETS:
                if run.wanted(key):
                    run.step("throughput", key, throughput, plan.warmup + plan.tp_duration + 8)
        if "churn" not in plan.skip:
            for key in SESSION_TARGETS:
                if run.wanted(key):
                    run.step("churn", key, churn, plan.warmup + plan.churn_duration + 8)
    if "idle" not in plan.skip:
        for key in IDLE_TARGETS:
            if run.wanted(key):
                run.step("idle", key, idle_memory, 20 if plan.quick else 60)
        for key in IDLE_TARGETS:
            if run.wanted(key):
                budget = 20 if plan.quick else (90 if TARGETS[key].kind == "ours" else 45)
                run.step("reclaim", key, reclaim, budget)


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


def write_report(run: _Run, out: Path) -> None:
    """Write ``out`` (markdown) and its ``.json`` sibling, and print the markdown."""
    data = run.data
    banner = data.get("throughput", {}).get("ours-sse", {}).get("banner", "")
    if "app=" in banner:
        data["ours_app"] = banner.split("app=")[1].split()[0]
    data["elapsed_s"] = time.monotonic() - run.began
    data["loadavg_end"] = loadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data))
    out.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str))
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
    write_report(run, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
