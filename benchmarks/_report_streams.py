# ruff: noqa: RUF001
# (the report tables use the multiplication sign on purpose)
"""The report's second-edition sections (issue #15): the 2026-07-28 wire, the input-required
round trip, open streams and fan-out, the plots, and the verdicts on the issue's targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _plots import cpu_figure, ratio_rows, stream_series
from _report import fmt, ratio, verdict
from _targets import TARGETS

ERA_NAMES = {"legacy": "GET streams, 2025-11-25", "modern": "subscriptions/listen, 2026-07-28"}
ROUND_NAMES = {
    "single": "1 update",
    "burst": "burst",
    "burst_stalled": "burst, 1 stalled",
    "single_stalled": "1 update, 1 stalled",
}


def second_edition(data: dict[str, Any]) -> list[str]:
    """Every section of the second edition that the run has data for."""
    lines: list[str] = []
    for section, title in (
        ("modern", "## 4. Throughput on the 2026-07-28 wire: no session, `tools/call` echo"),
        (
            "input",
            "## 5. Input-required round trip (2026-07-28): `confirm` asks, the retry answers",
        ),
    ):
        if data.get(section):
            lines += [title, "", *_wire_table(data, section), ""]
    if data.get("streams"):
        lines += _streams(data)
    lines += _proxy(data)
    if data.get("plots"):
        lines += [
            "## Plots",
            "",
            "Drawn by the harness from this file's data, beside it: "
            + ", ".join(f"`{name}`" for name in data["plots"].values())
            + " (shown on the documentation's benchmark page).",
            "",
        ]
    return lines


def _wire_table(data: dict[str, Any], section: str) -> list[str]:
    rows = data[section]
    ceiling = data.get("throughput", {}).get("ceiling", {})
    is_input = section == "input"
    if is_input:
        head = (
            "| server | completed calls/s | requests/s | × SDK hypercorn (wall / completed per "
            "CPU s) | request p50 / p99 ms | server CPU ms per completed call | errors |"
        )
        lines = [
            "Each call is two requests: the first answers `resultType: input_required` with "
            "one elicitation and a `requestState`; the retry carries the answer and the state "
            "and completes. Latency is per request (wrk).",
            "",
            head,
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
    else:
        lines = [
            "Per-request `_meta` (protocol version, client capabilities and info), "
            "`Mcp-Method` and `Mcp-Name` headers, no session. Ceiling: the fixed-body app of "
            "section 1 (the same on both wires).",
            "",
            "| server | req/s | % of ceiling (wall / CPU) | × SDK hypercorn, same mode "
            "(wall / CPU) | p50 / p99 ms | p99 ÷ SDK's | server CPU ms/req | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for key, r in rows.items():
        t = TARGETS[key]
        if "error" in r:
            lines.append(f"| {t.label} | failed: {r['error']} |||||||")
            continue
        sdk = rows.get(f"sdk-hypercorn-{t.mode}", {})
        errors = f"{r['errors']} / {r['checked']} checked"
        if is_input:
            lines.append(
                f"| {t.label} | {r['completed_per_s']:.0f} | {r['rps']:.0f} | "
                f"{fmt(ratio(r['completed_per_s'], sdk.get('completed_per_s')), '.2f')} / "
                f"{fmt(ratio(r['completed_per_cpu_s'], sdk.get('completed_per_cpu_s')), '.2f')}"
                f" | {r['p50_ms']:.1f} / {r['p99_ms']:.1f} | {r['cpu_ms_per_completed']:.2f} "
                f"| {errors} |"
            )
            continue
        lines.append(
            f"| {t.label} | {r['rps']:.0f} | {fmt(ratio(r['rps'], ceiling.get('rps')), '.0%')} / "
            f"{fmt(ratio(ceiling.get('cpu_ms_per_req'), r['cpu_ms_per_req']), '.0%')} | "
            f"{fmt(ratio(r['rps'], sdk.get('rps')), '.2f')} / "
            f"{fmt(ratio(sdk.get('cpu_ms_per_req'), r['cpu_ms_per_req']), '.2f')} | "
            f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} | "
            f"{fmt(ratio(r['p99_ms'], sdk.get('p99_ms')), '.2f')} | "
            f"{r['cpu_ms_per_req']:.2f} | {errors} |"
        )
    return lines


def _streams(data: dict[str, Any]) -> list[str]:
    plan = data["plan"]
    lines = [
        "## 6. Open streams and fan-out of `resources/updated`",
        "",
        f"N listeners, each its own connection, held open {plan.get('hold', 30):g} s: "
        "session-era listeners initialize, subscribe (ours: `resources/subscribe`; the SDK, "
        "which keeps no subscriptions: a `watch` tool call) and open the GET stream; "
        "2026-07-28 listeners POST `subscriptions/listen` for the resource. RSS per stream = "
        "(RSS with N open − RSS before) / N; idle CPU = server CPU over the hold / hold time; "
        "keep-alives = streams that received bytes during the hold (ours sends a `:` comment "
        "after 15 s of silence; the SDK sends none). The ceiling is hypercorn-trio alone: "
        "`serve_ceiling.py` answers `subscriptions/listen` with a fixed acknowledgement and "
        "fixed update events, one writer task and one disconnect watcher per stream, "
        "keep-alives as ours (no JSON, no MCP): the floor of any stream on this server.",
        "",
        "| server | streams | opened / still open at end | KiB RSS per stream "
        "| server CPU ms per open | idle CPU (share of a core) | got keep-alives | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in data["streams"].items():
        key, era, n = name.split()
        label = TARGETS[key].label
        if "error" in r:
            lines.append(f"| {label} | {ERA_NAMES[era]} × {int(n):,} | failed: {r['error']} ||||||")
            continue
        lines.append(
            f"| {label} | {ERA_NAMES[era]} × {r['n']:,} | {r['opened']:,} / {r['open_at_end']:,} "
            f"| {r['kib_per_stream']:.1f} | {r['cpu_ms_per_open']:.2f} | "
            f"{r['idle_cpu_share']:.2%} | {r['keepalive_seen']:,} | {r['errors']} |"
        )
    lines += [
        "",
        "Fan-out: the server raises the updates (our server: `notify_resource_updated`; the "
        "SDK: `send_resource_updated` to every watching session, or the listen streams' "
        "notification; the ceiling: every stream owes the update) from its statistics port; "
        "time from the first raise until each listener has all of them. Rounds in order: "
        "1 update; a burst; then one listener that stops reading joins (its window is "
        "filled by one more burst) and the rounds repeat. The SDK's burst is cut to "
        f"{plan.get('sdk_deliveries', 0):,} deliveries per round (about 250 µs each).",
        "",
        "| server | listeners | round | updates | p50 / p99 / max ms | server CPU µs "
        "per delivery | lost | duplicated |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in data["streams"].items():
        if "error" in r:
            continue
        key, era, _n = name.split()
        for round_name, x in r["rounds"].items():
            if "error" in x:
                cells = f"failed: {x['error']} ||||"
            else:
                cells = (
                    f"{x['count']} | {fmt(x['p50_ms'], '.0f')} / {fmt(x['p99_ms'], '.0f')} / "
                    f"{fmt(x['max_ms'], '.0f')} | {x['cpu_us_per_delivery']:.1f} | {x['lost']} "
                    f"| {x['duplicated']}"
                )
            lines.append(
                f"| {TARGETS[key].label} | {ERA_NAMES[era]} × {r['n']:,} "
                f"| {ROUND_NAMES[round_name]} | {cells} |"
            )
        stalled = r["stalled"]
        lines.append(
            f"| {TARGETS[key].label} | {ERA_NAMES[era]} × {r['n']:,} | the stalled listener, "
            f"read at the end | {stalled['raised']} raised | {stalled['received']} received, "
            f"{'cut by the server' if stalled['cut_by_server'] else 'still open'} |||"
        )
    return [*lines, ""]


# -- the targets of issue #15 --------------------------------------------------------------------


def targets_15(data: dict[str, Any]) -> list[str]:
    """The issue's targets for our server under hypercorn-trio, each with figure and verdict,
    beside what hypercorn-trio alone (the ceiling) reaches on the same measure."""
    rows = [
        "## Targets (issue #15): trio_mcp_http under hypercorn-trio",
        "",
        "Ratios are CPU-normalised (units per second of server CPU); the wall-clock figures "
        "are in the tables above. The ceiling column holds the same measure for hypercorn-trio "
        "alone (the fixed-body app of section 1, and its streams in section 6): where the "
        "ceiling misses a target too, no transport served by hypercorn-trio on this machine "
        "can meet it.",
        "",
        "| target | goal | trio_mcp_http | hypercorn alone (ceiling) | verdict |",
        "|---|---|---|---|---|",
    ]

    def cpu(section: str, key: str, field: str = "cpu_ms_per_req") -> float | None:
        return cpu_figure(data, section, key, field)

    ceiling = cpu("throughput", "ceiling")
    ratios = {title: (sdk, of_ceiling) for title, sdk, of_ceiling in ratio_rows(data)}
    for title, section, mode, floor in (
        ("2026-07-28, SSE", "modern", "sse", 0.85),
        ("2026-07-28, JSON", "modern", "json", 0.85),
        ("session era, JSON", "throughput", "json", 0.90),
        ("session era, SSE", "throughput", "sse", 0.85),
    ):
        sdk, of_ceiling = ratios.get(title, (None, None))
        ceiling_x = ratio(cpu(section, f"sdk-hypercorn-{mode}"), ceiling)
        rows.append(
            _row(f"{title}: × SDK (hypercorn-trio, same mode)", "≥ 3×", sdk, 3, ceiling=ceiling_x)
        )
        rows.append(
            _row(f"{title}: of the ceiling", f"≥ {floor:.0%}", of_ceiling, floor, spec="of")
        )
    sdk, _ = ratios.get("input-required round trip", (None, None))
    per_call = cpu("input", "sdk-hypercorn-sse", "cpu_ms_per_completed")
    ceiling_x = ratio(per_call, None if ceiling is None else 2 * ceiling)  # two requests a call
    rows.append(
        _row("input-required: completed calls per CPU s × SDK", "≥ 3×", sdk, 3, ceiling=ceiling_x)
    )
    ceiling_p99 = data.get("throughput", {}).get("ceiling", {}).get("p99_ms")
    for section, mode in (("throughput", "sse"), ("throughput", "json"), ("modern", "sse")):
        ours = data.get(section, {}).get(f"ours-{mode}", {}).get("p99_ms")
        sdk_p99 = data.get(section, {}).get(f"sdk-hypercorn-{mode}", {}).get("p99_ms")
        what = f"{'session era' if section == 'throughput' else '2026-07-28'}, {mode.upper()}"
        rows.append(
            _row(
                f"p99 under load ÷ SDK's, {what} (ours: {fmt(ours, '.1f')} vs "
                f"{fmt(sdk_p99, '.1f')} ms)",
                "≤ 1/3",
                ratio(ours, sdk_p99),
                1 / 3,
                ceiling=ratio(ceiling_p99, sdk_p99),
                spec="share",
            )
        )
    rows += _stream_targets(data)
    return [*rows, ""]


def _row(
    what: str,
    goal: str,
    value: float | None,
    bound: float,
    *,
    ceiling: float | None = None,
    spec: str = "times",
) -> str:
    """One target row: ``value`` (and the ceiling's) against ``bound``, which is a floor for
    the ``times`` and ``of`` specs and a cap for ``share``, ``kib``, ``ms``, ``us``, ``cpu``."""
    formats = {
        "times": ("{:.2f}×", True),
        "of": ("{:.0%}", True),
        "share": ("{:.2f}", False),
        "kib": ("{:.1f} KiB", False),
        "ms": ("{:.0f} ms", False),
        "us": ("{:.1f} µs", False),
        "cpu": ("{:.2%}", False),
    }
    pattern, at_least = formats[spec]

    def shown(v: float | None) -> str:
        return "n/a" if v is None else pattern.format(v)

    def ok(v: float) -> bool:
        if at_least:
            return v >= bound
        return v < bound if spec == "cpu" else v <= bound

    said = verdict(None if value is None else ok(value))
    if value is not None and not ok(value) and ceiling is not None and not ok(ceiling):
        said += " (the ceiling too)"
    floor = "—" if ceiling is None else shown(ceiling)
    return f"| {what} | {goal} | {shown(value)} | {floor} | {said} |"


# The stream targets: (what, goal, cap, _row spec, the figure of one stream result).
_STREAM_MEASURES: tuple[tuple[str, str, float, str, Callable[[dict[str, Any]], Any]], ...] = (
    ("RSS per open stream", "≤ 8 KiB", 8, "kib", lambda r: r["kib_per_stream"]),
    ("idle CPU", "< 2% of a core", 0.02, "cpu", lambda r: r["idle_cpu_share"]),
    *(
        (
            f"fan-out, {what}, 1 stalled: {label}",
            goal,
            cap,
            spec,
            lambda r, k=round_name, f=field: r["rounds"].get(k, {}).get(f),
        )
        for what, round_name in (("1 update", "single_stalled"), ("burst", "burst_stalled"))
        for label, field, goal, cap, spec in (
            ("last delivery", "max_ms", "≤ 250 ms", 250, "ms"),
            ("CPU per delivery", "cpu_us_per_delivery", "≤ 20 µs", 20, "us"),
        )
    ),
)


def _stream_targets(data: dict[str, Any]) -> list[str]:
    rows = []
    floors = {r["n"]: r for r in stream_series(data, "modern").get("ceiling", [])}
    for era in ("legacy", "modern"):
        results = stream_series(data, era).get("ours-sse", [])
        if not results:
            continue
        largest = results[-1]
        n, name = largest["n"], ERA_NAMES[era]
        floor = floors.get(n)
        for what, goal, cap, spec, figure in _STREAM_MEASURES:
            line = _row(
                f"{name}: {what} ({n:,} open)",
                goal,
                figure(largest),
                cap,
                ceiling=None if floor is None else figure(floor),
                spec=spec,
            )
            if n < 10_000:  # the targets are set at 10,000 streams
                line = line.rsplit("|", 2)[0] + "| n/a (set at 10,000) |"
            rows.append(line)
        rows.append(
            f"| {name}: all {n:,} streams open at the end | all | {largest['open_at_end']:,} "
            f"| — | {verdict(largest['open_at_end'] == n)} |"
        )
        lost = sum(
            x.get("lost", 0) + x.get("duplicated", 0) for r in results for x in r["rounds"].values()
        )
        rows.append(
            f"| {name}: lost + duplicated, all rounds | 0 | {lost} | — | {verdict(not lost)} |"
        )
    return rows


def _proxy(data: dict[str, Any]) -> list[str]:
    """Section 7: HAProxy in front of two workers against one worker direct."""
    result = data.get("proxy", {}).get("ours-sse")
    if not result:
        return []
    lines = [
        "## 7. Proxy overhead: HAProxy in front of two workers (2026-07-28 `tools/call` echo)",
        "",
        "The same wrk load (16 connections, every answer checked) straight to one worker, "
        "then through HAProxy (one thread, round-robin) to two workers; every process on the "
        "server CPU, so CPU per request is the figure to compare (each process's CPU over the "
        "measured run; the workers' split of their CPU shows the balance).",
        "",
    ]
    if "error" in result:
        return [*lines, f"failed: {result['error']}", ""]
    direct, proxied = result["direct"], result["proxied"]
    d_us = direct["cpu_ms_per_req"] * 1000
    p_us = proxied["cpu_ms_per_req"] * 1000
    lines += [
        "| path | requests/s | p50 / p99 ms | CPU µs per request: total "
        "| of it HAProxy | of it workers | workers' CPU split | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| direct, 1 worker | {direct['rps']:.0f} "
        f"| {direct['p50_ms']:.1f} / {direct['p99_ms']:.1f} | {d_us:.0f} | — | {d_us:.0f} "
        f"| — | {direct['errors']} |",
        f"| {proxied['haproxy']}, 2 workers | {proxied['rps']:.0f} "
        f"| {proxied['p50_ms']:.1f} / {proxied['p99_ms']:.1f} | {p_us:.0f} "
        f"| {proxied['proxy_us_per_req']:.0f} | {proxied['workers_us_per_req']:.0f} "
        f"| {' / '.join(f'{x:.0%}' for x in proxied['worker_cpu_split'])} "
        f"| {proxied['errors']} |",
        "",
        f"Through the proxy a request costs {fmt(ratio(p_us, d_us), '.2f')}× the CPU of a "
        f"direct one ({p_us - d_us:+.0f} µs: HAProxy's {proxied['proxy_us_per_req']:.0f} µs, "
        f"the workers' {proxied['workers_us_per_req'] - d_us:+.0f} µs).",
        "",
    ]
    return lines
