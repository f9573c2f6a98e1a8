"""The report's figures, drawn with matplotlib's Agg backend into PNG bytes (no display, no network).

Each function takes results.json cells and returns PNG bytes, or None when there is nothing to draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from loadtest.compare.report.figures import connections, latency_overlay
from loadtest.compare.report.figures.canvas import (
    BAD_COLOR,
    KILL_COLOR,
    KIND_STYLES,
    OK_COLOR,
    PERCENTILE_COLORS,
    Cell,
    plt,  # pyplot on the Agg backend
    to_png,
)
from loadtest.compare.report.figures.replication import replication_cost
from loadtest.compare.report.membership import draw_panel, membership_cells
from loadtest.compare.report.table import cell_name, ran  # one naming of cells for tables and figures
from nodes.contract.names import CAS
from nodes.contract.registry import Registry


def _height(rows: int) -> float:
    return 1.2 + 0.32 * rows


def latency(cells: Sequence[Cell]) -> bytes | None:
    """p50/p95/p99 per cell, as grouped horizontal bars (log scale: percentiles differ by orders)."""
    cells = [c for c in ran(cells) if c.get("p50_ms") is not None]
    if not cells:
        return None
    figure, axes = plt.subplots(figsize=(9, _height(len(cells))))
    bar = 0.27
    for offset, (key, color) in enumerate(PERCENTILE_COLORS.items()):
        ys = [i + (offset - 1) * bar for i in range(len(cells))]
        axes.barh(ys, [c.get(key) or 0 for c in cells], height=bar, color=color, label=key.replace("_ms", ""))
    axes.set_yticks(range(len(cells)), [cell_name(c) for c in cells])
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("response time, ms (log scale; session-miss events excluded)")
    axes.set_title("Latency percentiles per cell")
    axes.legend(loc="lower right")
    axes.grid(axis="x", alpha=0.3)
    return to_png(figure)


def misses(cells: Sequence[Cell]) -> bytes | None:
    """Measured miss rate per cell, with theory's expectation and tolerance as a marker and error bar."""
    cells = ran(cells)
    if not cells:
        return None
    figure, axes = plt.subplots(figsize=(9, _height(len(cells))))
    ys = range(len(cells))
    colors = [OK_COLOR if c.get("agrees_with_theory") else BAD_COLOR for c in cells]
    axes.barh(ys, [100 * c["miss_rate"] for c in cells], color=colors, height=0.6, label="measured")
    axes.errorbar([100 * c["expected_miss_rate"] for c in cells], ys, xerr=[100 * c["tolerance"] for c in cells],
                  fmt="D", color="black", markersize=4, capsize=3, label="theory ± tolerance")  # fmt: skip
    axes.set_yticks(ys, [cell_name(c) + ("" if c.get("agrees_with_theory") else "  (!)") for c in cells])
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("session misses, % of authenticated requests (red: disagrees with theory)")
    axes.set_title("Session-miss rate: measured vs theory")
    axes.legend(loc="lower right")
    axes.grid(axis="x", alpha=0.3)
    return to_png(figure)


def timelines(cells: Sequence[Cell]) -> bytes | None:
    """Miss rate per second for each node-failure (or open-loop) cell, with the kill marked and theory's rates
    dashed; p50/p99 per second on a second axis, and every event marked (latency_overlay)."""
    cells = [c for c in ran(cells) if c.get("timeline") and (c.get("kill_at_s") is not None or c.get("events")
                                                             or c.get("load_model") == "open")]  # fmt: skip
    if not cells:
        return None
    columns = min(3, len(cells))  # 3 panels a row stay legible when the page scales the figure down
    rows = math.ceil(len(cells) / columns)
    size = (max(3.3 * columns, 8.0), 2.5 * rows + 1.0)
    figure, grid = plt.subplots(rows, columns, figsize=size, squeeze=False, sharey=True)
    for axes, cell in zip(grid.flat, cells, strict=False):
        _timeline(axes, cell)
    for axes in list(grid.flat)[len(cells) :]:
        axes.set_visible(False)
    handles, names = grid.flat[0].get_legend_handles_labels()
    twins = [t for t in (latency_overlay.overlay(a, c) for a, c in zip(grid.flat, cells, strict=False)) if t]
    if twins:
        more_handles, more_names = twins[0].get_legend_handles_labels()
        handles, names = handles + more_handles, names + more_names
    top = 1 - 0.75 / size[1]  # the title and the legend take 0.75 inch, whatever the number of rows
    figure.legend(handles, names, loc="lower center", bbox_to_anchor=(0.5, top), fontsize=8, ncols=5, frameon=False)
    figure.suptitle("Miss rate (left axis) and p50/p99 latency in ms (right axis, log) over time; red: events")
    figure.supxlabel("seconds since the load started")
    figure.supylabel("misses / session requests")
    figure.tight_layout(rect=(0, 0, 1, top))
    return to_png(figure)


def _timeline(axes: Any, cell: Cell) -> None:
    """One panel: each user kind's miss rate per second (seconds with too few requests left out)."""
    for kind, style in KIND_STYLES.items():
        rows = [r for r in cell["timeline"] if r["by_kind"].get(kind, [0])[0] >= 3]
        if rows:
            rates = [r["by_kind"][kind][1] / r["by_kind"][kind][0] for r in rows]
            axes.plot([r["t"] + 0.5 for r in rows], rates, label=kind, **style)
    end = max(r["t"] + 1 for r in cell["timeline"])
    kill = cell.get("kill_at_s")
    if kill is not None:
        axes.axvline(kill, color=KILL_COLOR, linewidth=1.5)
        end = max(end, kill + 1)
    before, after = cell.get("expected_rate_before_kill"), cell.get("expected_rate_after_kill")
    if before is not None:  # no kill: theory's rate before it holds throughout
        axes.hlines(before, 0, end if kill is None else kill, colors="black", linestyles="dashed", linewidth=0.8,
                    label="theory (all users)")  # fmt: skip
    if after is not None and kill is not None:
        axes.hlines(after, kill, end, colors="black", linestyles="dashed", linewidth=0.8)
    axes.set_ylim(-0.03, 1.03)
    title_color = "black" if cell.get("agrees_with_theory") else BAD_COLOR
    axes.set_title(cell_name(cell), fontsize=9, color=title_color)  # two cells may differ only by scenario
    axes.grid(alpha=0.3)


def shares(cells: Sequence[Cell]) -> bytes | None:
    """Each node's share of the requests per cell, as stacked bars (skew and the dead node's drop show)."""
    cells = [c for c in ran(cells) if c.get("node_share")]
    if not cells:
        return None
    nodes = sorted({node for c in cells for node in c["node_share"]})
    figure, axes = plt.subplots(figsize=(9, _height(len(cells))))
    left = [0.0] * len(cells)
    palette = plt.get_cmap("tab10")
    for index, node in enumerate(nodes):
        widths = [100 * c["node_share"].get(node, 0.0) for c in cells]
        axes.barh(range(len(cells)), widths, left=left, color=palette(index % 10), height=0.6, label=node)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(range(len(cells)), [cell_name(c) for c in cells])
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of requests served (X-Node-Id)")
    axes.set_title("Per-node load share")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_png(figure)


def lost_updates(cells: Sequence[Cell]) -> bytes | None:
    """Lost-update rate per concurrent cell; cas in blue (theory: 0), last_write_wins in orange (measured only)."""
    cells = [c for c in ran(cells) if c.get("lost_update_rate") is not None]
    if not cells:
        return None
    figure, axes = plt.subplots(figsize=(9, _height(len(cells))))
    colors = [OK_COLOR if c["consistency"] == CAS else "#ee7733" for c in cells]
    colors = [
        BAD_COLOR if c.get("lost_update_agrees") is False else color for c, color in zip(cells, colors, strict=True)
    ]
    axes.barh(range(len(cells)), [100 * c["lost_update_rate"] for c in cells], color=colors, height=0.6)
    for y, cell in enumerate(cells):
        text = f" {cell['increments_lost']:,} of {cell['increments_acked']:,}"
        axes.annotate(text, (100 * cell["lost_update_rate"], y), va="center", fontsize=8)
    axes.set_yticks(range(len(cells)), [cell_name(c) for c in cells])
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("acknowledged increments lost, % (blue: cas, theory 0; orange: last_write_wins; red: disagrees)")
    axes.set_title("Lost updates under concurrent writes to one session")
    axes.grid(axis="x", alpha=0.3)
    return to_png(figure)


def membership(cells: Sequence[Cell]) -> bytes | None:
    """Miss rate over time for each rolling-deploy, scale-out and scale-in cell, with every change marked."""
    cells = [c for c in membership_cells(cells) if c.get("timeline")]
    if not cells:
        return None
    columns = min(3, len(cells))
    rows = math.ceil(len(cells) / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.6 * rows), squeeze=False, sharey=True)
    for axes, cell in zip(grid.flat, cells, strict=False):
        draw_panel(axes, cell, KIND_STYLES)
    for axes in list(grid.flat)[len(cells) :]:
        axes.set_visible(False)
    handles, names = grid.flat[0].get_legend_handles_labels()
    top = 1 - 0.7 / (2.6 * rows)  # the title and the legend above the panels take 0.7 inch
    figure.legend(handles, names, loc="lower center", bbox_to_anchor=(0.5, top), fontsize=8, ncols=3, frameon=False)
    figure.suptitle("Miss rate over time (orange dashed: a node leaves; red: its pins go; green dotted: a node joins)")
    figure.supxlabel("seconds since the load started")
    figure.supylabel("misses / session requests")
    figure.tight_layout(rect=(0, 0, 1, top))
    return to_png(figure)


# Every figure the report draws, in the report's order: name -> (title, draw); captions.py keys on the name.
FIGURES: Registry[tuple[str, Callable[[Sequence[Cell]], bytes | None]]] = Registry(
    "figure",
    {
        "misses": ("Session-miss rate: measured vs theory", misses),
        "lost_updates": ("Lost updates: cas vs last_write_wins", lost_updates),
        "timelines": ("Miss rate and latency over time, events marked", timelines),
        "membership": ("Miss rate over time through rolling deploys, scale-out and scale-in", membership),
        "open_connections": ("Open long-lived connections per node over time", connections.open_connections),
        "skew": ("Connection skew after a scale-out: the new node's share", connections.skew),
        "latency": ("Latency percentiles", latency),
        "shares": ("Per-node load share", shares),
        "replication_cost": (
            "What replication costs: latency and messages per write against node count",
            replication_cost,
        ),
    }.items(),
)


def render_all(cells: Sequence[Cell]) -> dict[str, tuple[str, bytes]]:
    """name -> (title, PNG bytes) for every figure that has data."""
    drawn = {}
    for name, (title, draw) in FIGURES.items():
        png = draw(cells)
        if png is not None:
            drawn[name] = (title, png)
    return drawn
