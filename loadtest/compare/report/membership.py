"""The report's part for membership changes (rolling-deploy, scale-out, scale-in): a paragraph per cell and a
timeline figure with each change marked, built from the cells' `changes` and `epochs`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadtest.compare.record.model import DISAGREES
from loadtest.compare.report.grid import OFF_THEORY, off_theory_measures
from loadtest.compare.report.table import error_ceiling
from loadtest.render.format import pct
from nodes.contract.names import HASH

Cell = dict[str, Any]
CHANGE_STYLES = {  # how each change is drawn on the timeline
    "leave": {"color": "#ee7733", "linestyle": "dashed"},
    "unpin": {"color": "#cc3311", "linestyle": "solid"},
    "join": {"color": "#228833", "linestyle": "dotted"},
}
INTRO = ("Each node that leaves (drained, killed, removed: orange dashed), loses its pinned clients (stopped, "
         "removed: red) or joins (ready, added: green dotted) changes where sessions can be found; theory "
         "(loadtest/compare/theory/churn.py) predicts each change's misses from the run's own exposure.")  # fmt: skip

# Routings whose placement a join moves along the balancer's hash ring. Sticky pins clients by cookie and route by
# the node tag in the reference (its ring only redispatches tags that name no available node, and a join leaves
# every tag valid), so the ring's movement says nothing about where their sessions went.
RING_ROUTINGS = (HASH,)


def membership_cells(cells: Sequence[Cell]) -> list[Cell]:
    return [c for c in cells if "miss_rate" in c and "changes" in c]


def _shares(shares: dict[str, float]) -> str:
    return " / ".join(f"{node} {100 * share:.0f}%" for node, share in shares.items()) or "-"


def paragraph(cell: Cell) -> str:
    """What happened in one cell, measured against theory, with the node shares before and after."""
    name = f"{cell['store']} / {cell['routing']} / {cell['scenario']}"
    if cell.get("deploy_mode"):
        name += f" ({cell['deploy_mode']})"
    off = " and ".join(OFF_THEORY[key][1] for key in off_theory_measures(cell))
    verdict = "agrees with theory" if cell.get("verdict") == "ok" else f"{DISAGREES} on {off}"
    text = (f"{name}: {cell['misses']:,} misses in {cell['session_requests']:,} authenticated requests "
            f"({pct(cell['miss_rate'])}), theory {cell['expected_misses']:,.0f} ({pct(cell['expected_miss_rate'])} "
            f"± {pct(cell['tolerance'])}): {verdict}. Failed requests: {cell.get('errors', 0):,}")  # fmt: skip
    if cell.get("expected_errors") is not None:
        text += f" (theory {cell['expected_errors']:,}, at most {error_ceiling(cell):,} allowed)"
    epochs = cell.get("epochs") or []
    if len(epochs) > 1:
        first, last = epochs[0], epochs[-1]
        text += (f". Requests per node before: {_shares(first['node_share'])} (theory "
                 f"{_shares(first['expected_node_share'])}); after the last change: {_shares(last['node_share'])} "
                 f"(theory {_shares(last['expected_node_share'])})")  # fmt: skip
    if cell.get("ring_moved_share") is not None and cell.get("routing") in RING_ROUTINGS:
        text += (f". The ring moved {pct(cell['ring_moved_share'])} of ids to the new node "
                 f"(ideal {pct(cell['ideal_moved_share'])})")  # fmt: skip
    return text + "."


def paragraphs(cells: Sequence[Cell]) -> list[str]:
    return [paragraph(cell) for cell in membership_cells(cells)]


def draw_panel(axes: Any, cell: Cell, kind_styles: dict[str, dict[str, Any]]) -> None:
    """One cell: each user kind's miss rate per second, theory per epoch (dashed), every change marked."""
    for kind, style in kind_styles.items():
        rows = [r for r in cell["timeline"] if r["by_kind"].get(kind, [0])[0] >= 3]
        if rows:
            rates = [r["by_kind"][kind][1] / r["by_kind"][kind][0] for r in rows]
            axes.plot([r["t"] + 0.5 for r in rows], rates, label=kind, **style)
    end = max([r["t"] + 1 for r in cell["timeline"]], default=1.0)
    epochs = cell.get("epochs") or []
    for index, epoch in enumerate(epochs):
        stop = epochs[index + 1]["start_s"] if index + 1 < len(epochs) else end
        axes.hlines(epoch["expected_rate"], epoch["start_s"], stop, colors="black", linestyles="dashed",
                    linewidth=0.8, label="theory, per request" if index == 0 else None)  # fmt: skip
    for change in cell.get("changes", []):
        style = CHANGE_STYLES.get(change["what"], {"color": "grey", "linestyle": "solid"})
        axes.axvline(change["t"], linewidth=1.2, **style)
    axes.set_ylim(-0.03, 1.03)
    title = f"{cell['store']} / {cell['routing']} / {cell['scenario']}"
    axes.set_title(title, fontsize=9, color="black" if cell.get("verdict") == "ok" else "#cc3311")
    axes.grid(alpha=0.3)
