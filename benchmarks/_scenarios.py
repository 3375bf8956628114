"""The measurements: throughput on both wires, the input-required round trip and session churn
(wrk), idle memory per session and the reclaiming of abandoned sessions (the Python load
client); each starts its own server. Open streams and fan-out live in ``_fanout``.
"""

from __future__ import annotations

import bisect
import threading
import time
from typing import TYPE_CHECKING, Any

from _load import Client, count_404, delete_sessions, open_sessions, run_wrk, wrk_mode
from _process import Server
from _targets import MODERN, VERSION, Target

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness import Plan


def throughput(target: Target, plan: Plan) -> dict[str, Any]:
    """tools/call echo in one session (2025-11-25) on 16 connections."""
    return _throughput(target, plan, "legacy")


def modern_throughput(target: Target, plan: Plan) -> dict[str, Any]:
    """tools/call echo on the 2026-07-28 wire (no session; ``_meta`` and headers per request)."""
    return _throughput(target, plan, "modern")


def input_round_trip(target: Target, plan: Plan) -> dict[str, Any]:
    """tools/call of ``confirm`` on the 2026-07-28 wire: an ``input_required`` result asking
    one elicitation, then the retry carrying the answer and the request state."""
    return _throughput(target, plan, "input")


def _throughput(target: Target, plan: Plan, wire: str) -> dict[str, Any]:
    """``wire``: ``legacy`` (one session), ``modern`` or ``input`` (no session)."""
    with Server(target, plan) as srv:
        sid = "-"
        mode = wrk_mode(target, plan)
        if wire != "legacy" and mode != "fixed":
            mode = wire
        elif target.kind != "ceiling":
            client = Client(srv.port)
            sid = client.open_session()
            client.close()
        args = [sid, VERSION if wire == "legacy" else MODERN, mode]
        result = {"banner": srv.banner, **timed_wrk(srv.url, plan, args, srv.cpu_seconds)}
        if wire == "input":  # two requests per call: the first asks, the retry completes it
            cpu_s, secs = result["cpu_s"], result["duration_s"]
            result["completed_per_s"] = result["completed"] / secs
            result["cpu_ms_per_completed"] = cpu_s * 1000 / max(1, result["completed"])
            result["completed_per_cpu_s"] = result["completed"] / max(1e-9, cpu_s)
        return result


WRK_ERRORS = ("mismatches", "err_connect", "err_read", "err_write", "err_status", "err_timeout")


def timed_wrk(url: str, plan: Plan, args: list[str], cpu: Callable[[], float]) -> dict[str, Any]:
    """A warm-up, then the measured wrk run of ``throughput.lua`` at ``url``; ``cpu``: the
    server side's CPU seconds so far (one process or several)."""
    warm = run_wrk("throughput.lua", url, plan.warmup, args)
    c0, t0 = cpu(), time.monotonic()
    w = run_wrk("throughput.lua", url, plan.tp_duration, args)
    c1, t1 = cpu(), time.monotonic()
    secs = w["duration_us"] / 1e6
    errors = sum(w[k] for k in WRK_ERRORS) + warm["mismatches"] + warm["err_status"]
    return {
        "requests": w["requests"],
        "checked": w["checked"],
        "completed": w.get("completed", 0),
        "duration_s": secs,
        "cpu_s": c1 - c0,
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
