"""The "What replication costs" figure: p50 and p99 against node count per store, and messages per write."""

from __future__ import annotations

from collections.abc import Sequence

from loadtest.compare.report.figures.canvas import Cell, plt, to_png
from loadtest.compare.report.replication import cost_cells, node_counts, pick, series


def replication_cost(cells: Sequence[Cell]) -> bytes | None:
    """Three panels over node count: p50, p99 (per store and routing) and replication messages per write."""
    chosen = cost_cells(cells)
    if not any(c.get("replication") for c in chosen):
        return None
    counts = node_counts(chosen)
    figure, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for label, routing in series(chosen):
        found = [(n, pick(chosen, label, routing, n)) for n in counts]
        for panel, key in zip(axes[:2], ("p50_ms", "p99_ms"), strict=True):
            points = [(n, c[key]) for n, c in found if c and c.get(key) is not None]
            panel.plot(*zip(*points, strict=True), marker="o", label=f"{label} / {routing}") if points else None
        traffic = [(n, c["replication_traffic"]["messages_per_write"]) for n, c in found
                   if c and (c.get("replication_traffic") or {}).get("messages_per_write") is not None]  # fmt: skip
        if traffic:
            axes[2].plot(*zip(*traffic, strict=True), marker="o", label=f"{label} / {routing}")
    axes[2].plot(counts, [n - 1 for n in counts], color="grey", linestyle="dashed", label="Tomcat all-to-all: N-1")
    for panel, title in zip(axes, ("p50 ms", "p99 ms", "replication messages per write"), strict=True):
        panel.set_title(title)
        panel.set_xlabel("nodes")
        panel.set_xticks(counts)
        panel.grid(alpha=0.3)
    axes[1].set_yscale("log")
    axes[2].legend(fontsize=7, loc="upper left")
    axes[0].legend(fontsize=7, loc="upper left")
    return to_png(figure)
