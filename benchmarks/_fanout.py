"""Open streams and fan-out: N listeners held open (RSS per stream, idle CPU, keep-alives),
then resource updates raised in the server and timed until the last listener has them, with
and without one listener that has stopped reading.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time
from typing import TYPE_CHECKING, Any

from _listeners import PATTERN, Fleet, open_listener
from _process import Server

if TYPE_CHECKING:
    from _targets import Target
    from harness import Plan


def streams(target: Target, plan: Plan, era: str, n: int, budget: float) -> dict[str, Any]:
    """``n`` listeners of ``era`` (``legacy``: GET streams; ``modern``: subscriptions/listen);
    the server lives at most ``budget`` seconds (plus a margin)."""
    burst = plan.burst_for(target, n)
    subscribe_with = "subscribe" if target.kind == "ours" else "watch"
    with Server(target, plan, max_seconds=budget + 120) as srv:
        fleet = Fleet()
        stalled: socket.socket | None = None
        try:
            time.sleep(0.3)
            rss0, c0 = srv.rss_kib(), srv.cpu_seconds()
            open_s = fleet.open(srv.port, era, subscribe_with, n)
            c1 = srv.cpu_seconds()
            fleet.pump(1.0)
            opened = len(fleet.listeners)
            rss1 = srv.rss_kib()
            t_hold, c2 = time.monotonic(), srv.cpu_seconds()
            fleet.pump(plan.hold)
            held = time.monotonic() - t_hold
            idle_cpu = (srv.cpu_seconds() - c2) / held
            kept_alive = sum(1 for item in fleet.listeners.values() if item.last_data > t_hold)
            result: dict[str, Any] = {
                "era": era,
                "n": n,
                "burst": burst,
                "opened": opened,
                "open_errors": len(fleet.errors),
                "first_error": fleet.errors[0] if fleet.errors else "",
                "open_s": open_s,
                "cpu_ms_per_open": (c1 - c0) * 1000 / max(1, opened),
                "rss0_kib": rss0,
                "rss_open_kib": rss1,
                "kib_per_stream": (rss1 - rss0) / max(1, opened),
                "hold_s": held,
                "idle_cpu_share": idle_cpu,
                "keepalive_seen": kept_alive,
                "open_after_hold": fleet.open_count(),
            }
            rounds = {"single": fan_round(srv, fleet, 1), "burst": fan_round(srv, fleet, burst)}
            stalled = open_listener(srv.port, era, subscribe_with, rcvbuf=2048)[0]
            fan_round(srv, fleet, burst)  # fills the stalled listener's window and buffers
            rounds["burst_stalled"] = fan_round(srv, fleet, burst)
            rounds["single_stalled"] = fan_round(srv, fleet, 1)
            result["rounds"] = rounds
            result["stalled"] = _drain(stalled, 2 * burst + 1)
            result["open_at_end"] = fleet.open_count()
            result["errors"] = (
                len(fleet.errors)
                + (n - opened)
                + sum(r["lost"] + r["duplicated"] for r in rounds.values())
            )
            return result
        finally:
            fleet.close()
            if stalled is not None:
                stalled.close()


def fan_round(srv: Server, fleet: Fleet, count: int, timeout: float = 60.0) -> dict[str, Any]:
    """Raise ``count`` updates; time each listener until it has all of them."""
    active = fleet.expect(count)
    base = {id(item): item.count for item in active}
    raised: dict[str, Any] = {}
    c0 = srv.cpu_seconds()
    trigger = threading.Thread(target=lambda: raised.update(srv.notify(count)), daemon=True)
    trigger.start()
    fleet.pump(timeout, done=lambda: fleet.pending <= 0 and not trigger.is_alive())
    cpu = srv.cpu_seconds() - c0
    trigger.join(timeout)
    fleet.pump(0.3)  # late duplicates
    if "t_raised" not in raised:
        return {"count": count, "error": str(raised)[:200], "lost": len(active), "duplicated": 0}
    t0 = raised["t_raised"]
    delays = sorted((item.reached_at - t0) * 1000 for item in active if item.reached_at)
    received = [item.count - base[id(item)] for item in active]
    delivered = sum(min(got, count) for got in received)
    return {
        "count": count,
        "listeners": len(active),
        "raise_ms": (raised["t_done"] - t0) * 1000,
        "p50_ms": _percentile(delays, 50),
        "p99_ms": _percentile(delays, 99),
        "max_ms": delays[-1] if delays else None,
        "lost": sum(1 for got in received if got < count),
        "duplicated": sum(1 for got in received if got > count),
        "cpu_us_per_delivery": cpu * 1e6 / max(1, delivered),
    }


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def _drain(sock: socket.socket, raised: int) -> dict[str, Any]:
    """Read what the stalled listener was sent: how many updates, and whether it was cut."""
    sock.setblocking(True)
    sock.settimeout(1.0)
    data, closed = b"", False
    with contextlib.suppress(TimeoutError, OSError):
        while chunk := sock.recv(262144):
            data += chunk
        closed = True
    return {"raised": raised, "received": data.count(PATTERN), "cut_by_server": closed}
