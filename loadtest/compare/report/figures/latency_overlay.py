"""The latency-over-time layer of the timeline panels: p50 and p99 per second, and every event of the cell.

Drawn on a second y axis (log scale, ms) over the miss-rate panel, from the per-second HDR percentiles in the
timeline rows (`p50_ms`, `p99_ms`); the cell's `events` ({"t", "what"}) become labelled vertical lines, so a
kill, a stall or a failover shows beside the latency spike and the misses it caused.
"""

from __future__ import annotations

from typing import Any

from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

P50_STYLE = {"color": "#999933", "linewidth": 1, "linestyle": "dashed"}
P99_STYLE = {"color": "#882255", "linewidth": 1.2}
EVENT_COLOR = "#cc3311"
LABELLED_EVENTS = 3  # more labels than this overlap in a panel a third of the page wide: lines only (the
# report's events table names them)


def has_latency(cell: dict[str, Any]) -> bool:
    return any(row.get("p99_ms") is not None for row in cell.get("timeline") or [])


def overlay(axes: Any, cell: dict[str, Any]) -> Any:
    """Add p50/p99 per second on a twin axis and mark the events; returns the twin axis (None if no latency)."""
    events = cell.get("events") or []
    for event in events:
        axes.axvline(event["t"], color=EVENT_COLOR, linewidth=1, linestyle="dotted")
        if len(events) <= LABELLED_EVENTS:
            axes.annotate(event["what"], (event["t"], 1.0), xycoords=("data", "axes fraction"), rotation=90,
                          fontsize=6, va="top", ha="right", color=EVENT_COLOR)  # fmt: skip
    if not has_latency(cell):
        return None
    rows = [r for r in cell["timeline"] if r.get("p99_ms") is not None]
    twin = axes.twinx()
    twin.plot([r["t"] + 0.5 for r in rows], [r["p50_ms"] for r in rows], label="p50 ms", **P50_STYLE)
    twin.plot([r["t"] + 0.5 for r in rows], [r["p99_ms"] for r in rows], label="p99 ms", **P99_STYLE)
    twin.set_yscale("log")
    twin.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 1, 2, 5, 10, 20, 50 ms: enough to read off
    twin.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 10, 100: not 10^1
    twin.yaxis.set_minor_formatter(NullFormatter())  # 2x10^0, 3x10^0, ... crowded the axis
    twin.tick_params(labelsize=7)
    return twin
