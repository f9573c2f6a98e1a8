"""The long-lived figures: each node's open connections over time per cell (a kill's storm and a join show), and a
scale-out's skew, the new node's share of open connections over time, with and without `--rebalance`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from loadtest.compare.report.figures.canvas import KILL_COLOR, Cell, plt, to_png
from loadtest.compare.report.table import cell_name, ran

JOIN_COLOR, OTHER_COLOR = "#228833", "#777777"


def label(cell: Cell) -> str:
    """The cell's name, with the balancer (when not ours), the long-lived kind and the rebalance share."""
    front = f"{cell['balancer']}: " if cell.get("balancer") not in (None, "sessionlab") else ""
    kind = f" [{cell['long_lived_kind']}]" if cell.get("long_lived_kind") not in (None, "ws") else ""
    rebalance = f" (rebalance {cell['rebalance']:.0%})" if cell.get("rebalance") else ""
    return f"{front}{cell_name(cell)}{kind}{rebalance}"


def open_connections(cells: Sequence[Cell]) -> bytes | None:
    """One panel per long-lived cell: a line per node, its open connections each second; events marked."""
    cells = [c for c in ran(cells) if c.get("open_connections")]
    if not cells:
        return None
    columns = min(3, len(cells))
    rows = math.ceil(len(cells) / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.6 * rows + 0.6), squeeze=False)
    for axes, cell in zip(grid.flat, cells, strict=False):
        _panel(axes, cell)
    for axes in list(grid.flat)[len(cells) :]:
        axes.set_visible(False)
    figure.suptitle("Open long-lived connections per node (red: a node killed; green dotted: a node joins)")
    figure.supxlabel("seconds since the load started")
    figure.supylabel("open connections")
    figure.tight_layout()
    return to_png(figure)


def _panel(axes: Any, cell: Cell) -> None:
    series = cell["open_connections"]
    nodes = sorted({node for row in series for node in row["nodes"]})
    palette = plt.get_cmap("tab10")
    for index, node in enumerate(nodes):
        axes.plot([row["t"] + 0.5 for row in series], [row["nodes"].get(node, 0) for row in series],
                  color=palette(index % 10), linewidth=1, marker=".", markersize=3, label=node)  # fmt: skip
    for event in cell.get("events", []):
        if "killed" in event:
            axes.axvline(event["t"], color=KILL_COLOR, linewidth=1.5)
        elif "added" in event:
            axes.axvline(event["t"], color=JOIN_COLOR, linewidth=1.2, linestyle="dotted")
        elif "t" in event:
            axes.axvline(event["t"], color=OTHER_COLOR, linewidth=0.8, linestyle="dashed")
    axes.set_title(label(cell), fontsize=8)
    axes.legend(fontsize=6, loc="lower left")
    axes.grid(alpha=0.3)


def skew(cells: Sequence[Cell]) -> bytes | None:
    """One line per scale-out cell: the new node's share of open connections after it joined; its fair share
    dashed. Without a rebalance it stays near zero: open connections do not move."""
    cells = [c for c in ran(cells) if c.get("new_node_share_over_time")]
    if not cells:
        return None
    figure, axes = plt.subplots(figsize=(9, 3.6))
    palette = plt.get_cmap("tab10")
    for index, cell in enumerate(cells):
        series = cell["new_node_share_over_time"]
        axes.plot([row["t"] + 0.5 for row in series], [100 * row["share"] for row in series],
                  color=palette(index % 10), marker=".", linewidth=1,
                  linestyle="solid" if cell.get("rebalance") else "dotted", label=label(cell))  # fmt: skip
    fair = max((c["fair_share"] for c in cells if c.get("fair_share")), default=None)
    if fair is not None:
        axes.axhline(100 * fair, color="black", linestyle="dashed", linewidth=0.8, label="fair share")
    axes.set_ylim(-2, 102)
    axes.set_xlabel("seconds since the load started")
    axes.set_ylabel("new node's share of open connections, %")
    axes.set_title("Connection skew after a scale-out (dotted: no rebalance; solid: --rebalance)")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes.grid(alpha=0.3)
    return to_png(figure)
