# ruff: noqa: RUF001
# (the plots use the multiplication sign on purpose)
"""The report's plots (matplotlib, benchmark environment only): ratios against the SDK and the
ceiling, fan-out latency against listener count, RSS against open streams. Each is a PNG
beside the results file; the documentation's benchmark page shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _report import ratio

PLOTS = {
    "ratios": "plot-ratios.png",
    "fanout": "plot-fanout-latency.png",
    "rss": "plot-stream-rss.png",
}
COLOURS = {"ours-sse": "#1f77b4", "sdk-hypercorn-sse": "#d62728", "ceiling": "#7f7f7f"}
LABELS = {"ours-sse": "trio_mcp_http", "sdk-hypercorn-sse": "SDK", "ceiling": "hypercorn alone"}


def plot_all(data: dict[str, Any], folder: Path) -> dict[str, str]:
    """Draw every plot the data allows; return {plot: file name or why it is missing}."""
    try:
        import matplotlib as mpl  # noqa: PLC0415  (optional: only the benchmark venv has it)

        mpl.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return dict.fromkeys(PLOTS, "not drawn: matplotlib is not installed")
    caption = f"{data.get('date', '')}, commit {data.get('versions', {}).get('commit', '-')}"
    drawn = {}
    for name, draw in (("ratios", _ratios), ("fanout", _fanout), ("rss", _rss)):
        fig = draw(plt, data)
        if fig is None:
            drawn[name] = "not drawn: no data"
            continue
        fig.text(0.99, 0.01, caption, ha="right", va="bottom", fontsize=7, color="grey")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        fig.savefig(folder / PLOTS[name], dpi=110)
        plt.close(fig)
        drawn[name] = PLOTS[name]
    return drawn


def cpu_figure(
    data: dict[str, Any], section: str, key: str, field: str = "cpu_ms_per_req"
) -> float | None:
    """A target's server CPU per unit in ``section`` (``None`` when not measured)."""
    value = data.get(section, {}).get(key, {}).get(field)
    return None if not value else float(value)


def ratio_rows(data: dict[str, Any]) -> list[tuple[str, float | None, float | None]]:
    """(measurement, ours/SDK capacity ratio, ours/ceiling capacity ratio), CPU-normalised:
    units per second of server CPU, the figure a noisy neighbour does not skew."""

    def cpu(section: str, key: str, field: str = "cpu_ms_per_req") -> float | None:
        return cpu_figure(data, section, key, field)

    ceiling = cpu("throughput", "ceiling")
    rows = []
    for title, section, mode in (
        ("session era, SSE", "throughput", "sse"),
        ("session era, JSON", "throughput", "json"),
        ("2026-07-28, SSE", "modern", "sse"),
        ("2026-07-28, JSON", "modern", "json"),
    ):
        ours, sdk = cpu(section, f"ours-{mode}"), cpu(section, f"sdk-hypercorn-{mode}")
        rows.append((title, ratio(sdk, ours), ratio(ceiling, ours)))
    field = "cpu_ms_per_completed"
    rows.append(
        (
            "input-required round trip",
            ratio(cpu("input", "sdk-hypercorn-sse", field), cpu("input", "ours-sse", field)),
            None,
        )
    )
    field = "cpu_ms_per_session"
    rows.append(
        (
            "session churn",
            ratio(cpu("churn", "sdk-hypercorn-sse", field), cpu("churn", "ours-sse", field)),
            None,
        )
    )
    return rows


def _ratios(plt: Any, data: dict[str, Any]) -> Any:
    rows = [row for row in ratio_rows(data) if row[1] is not None or row[2] is not None]
    if not rows:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    names = [row[0] for row in rows]
    ys = range(len(rows))
    left.barh(ys, [row[1] or 0 for row in rows], color="#1f77b4")
    left.axvline(3, color="grey", linestyle="--", linewidth=1, label="target 3×")
    left.set_yticks(list(ys), names)
    left.invert_yaxis()
    left.set_xlabel("× the SDK on hypercorn-trio (server CPU per unit)")
    left.legend(loc="lower right", fontsize=8)
    for y, row in zip(ys, rows, strict=True):
        if row[1] is not None:
            left.text(row[1], y, f" {row[1]:.1f}×", va="center", fontsize=8)
    right.barh(ys, [(row[2] or 0) * 100 for row in rows], color="#2ca02c")
    right.axvline(85, color="grey", linestyle="--", linewidth=1, label="target 85%")
    right.set_yticks(list(ys), [""] * len(rows))
    right.invert_yaxis()
    right.set_xlim(0, 110)
    right.set_xlabel("% of the fixed-body ceiling (server CPU per request)")
    right.legend(loc="lower right", fontsize=8)
    for y, row in zip(ys, rows, strict=True):
        if row[2] is not None:
            right.text(row[2] * 100, y, f" {row[2]:.0%}", va="center", fontsize=8)
    fig.suptitle("trio_mcp_http under hypercorn-trio: capacity ratios", fontsize=10)
    return fig


def stream_series(data: dict[str, Any], era: str) -> dict[str, list[dict[str, Any]]]:
    """{target: [stream results of ``era`` in listener order]}."""
    series: dict[str, list[dict[str, Any]]] = {}
    for name, result in data.get("streams", {}).items():
        key, result_era, _n = name.split()
        if result_era == era and "error" not in result:
            series.setdefault(key, []).append(result)
    for results in series.values():
        results.sort(key=lambda r: r["n"])
    return series


def _eras(data: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """{era: its stream series} for the eras that have results."""
    return {era: s for era in ("legacy", "modern") if (s := stream_series(data, era))}


def _fanout(plt: Any, data: dict[str, Any]) -> Any:
    eras = _eras(data)
    if not eras:
        return None
    floor = eras.get("modern", {}).get("ceiling")
    if floor and "legacy" in eras:  # hypercorn alone is the floor of any stream: both panels
        eras["legacy"] = {**eras["legacy"], "ceiling": floor}
    fig, axes = plt.subplots(1, len(eras), figsize=(5 * len(eras), 3.6), squeeze=False)
    for ax, (era, series) in zip(axes[0], eras.items(), strict=True):
        for key, results in series.items():
            for round_name, style in (("single_stalled", "-"), ("burst_stalled", ":")):
                points = [
                    (r["n"], r["rounds"][round_name]["max_ms"])
                    for r in results
                    if r["rounds"].get(round_name, {}).get("max_ms") is not None
                ]
                if points:
                    sizes = sorted({r["rounds"][round_name].get("count", 0) for r in results})
                    what = (
                        "1 update"
                        if round_name == "single_stalled"
                        else f"burst of {'/'.join(map(str, sizes))}"
                    )
                    ax.plot(
                        *zip(*points, strict=True),
                        style,
                        marker="o",
                        color=COLOURS.get(key, "black"),
                        label=f"{LABELS.get(key, key)}, {what}",
                    )
        ax.axhline(250, color="grey", linestyle="--", linewidth=1, label="target 250 ms")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("listeners (one stalled among them)")
        ax.set_ylabel("ms until the last listener has every update")
        ax.set_title(
            "GET streams (2025-11-25)" if era == "legacy" else "subscriptions/listen (2026-07-28)",
            fontsize=9,
        )
        ax.legend(fontsize=7)
    fig.suptitle("Fan-out of resources/updated", fontsize=10)
    return fig


def _rss(plt: Any, data: dict[str, Any]) -> Any:
    eras = _eras(data)
    if not eras:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for era, series in eras.items():
        style = "--" if era == "legacy" else "-"
        for key, results in series.items():
            xs = [0] + [r["opened"] for r in results]
            ys = [(results[0]["rss0_kib"]) / 1024] + [r["rss_open_kib"] / 1024 for r in results]
            ax.plot(
                xs,
                ys,
                style,
                marker="o",
                color=COLOURS.get(key, "black"),
                label=f"{LABELS.get(key, key)}, {'GET streams' if era == 'legacy' else 'listen'}",
            )
    ours = eras.get("legacy", eras.get("modern", {})).get("ours-sse")
    if ours:  # the target, drawn from our server's RSS before any stream
        base, most = ours[0]["rss0_kib"] / 1024, max(r["opened"] for r in ours)
        ax.plot(
            [0, most],
            [base, base + 8 * most / 1024],
            ":",
            color="grey",
            label="target: 8 KiB per stream",
        )
    ax.set_xlabel("open streams")
    ax.set_ylabel("server RSS, MiB")
    ax.legend(fontsize=8)
    ax.set_title("Server memory against open streams", fontsize=10)
    return fig
