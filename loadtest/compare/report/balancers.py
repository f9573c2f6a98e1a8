"""The report's per-balancer section: the mode → mechanism table, each balancer's control plane and saved configs,
and per cell the measures where real balancers differ. Empty when the run used only ours with no new measures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadtest.compare.report.grid import ordered
from loadtest.compare.report.table import Cell
from loadtest.lab.balancers import BALANCERS
from loadtest.lab.balancers.mechanisms import BALANCER_NAMES, LABELS, TABLE
from loadtest.render.format import pct

AGREEMENT_HEADERS = ["routing", "store", "scenario", "replicas", "browsers to one node", "app clients to one node",
                     "theory"]  # fmt: skip
HEADERS = ["routing", "store", "scenario", "verdict", "nodes per session", "re-pins after event",
           "cookie re-issued", "errors GET", "errors POST", "POSTs replayed", "fair share after"]  # fmt: skip


def section(cells: Sequence[Cell]) -> dict[str, Any]:
    """One block per balancer that ran, with the mechanism table on top; {} when only ours ran, with one replica."""
    names = ordered((str(c.get("balancer", "sessionlab")) for c in cells), BALANCER_NAMES)
    if names == ["sessionlab"] and not any(c.get("affinity_agreement") is not None for c in cells):
        return {}
    modes = list(TABLE)
    table = [[mode, *(TABLE[mode][name].describe() for name in names)] for mode in modes]
    return {"headers": ["mode", *(LABELS.get(n, n) for n in names)], "table": table,
            "balancers": [_block(name, [c for c in cells if c.get("balancer", "sessionlab") == name])
                          for name in names], "agreement_headers": AGREEMENT_HEADERS}  # fmt: skip


def _block(name: str, cells: Sequence[Cell]) -> dict[str, Any]:
    plugin = BALANCERS[name]
    modes = ordered((str(c["routing"]) for c in cells if "miss_rate" in c), list(TABLE))
    return {
        "name": LABELS.get(name, name),
        "control_plane": plugin.control_plane,
        "drain": plugin.drain_means,
        "configs": [f"configs/{name}/{mode}/" for mode in modes],
        "best": best(name, cells),
        "rows": [_row(c) for c in cells],
        "agreement": [_agreement_row(c) for c in cells if c.get("affinity_replicas")],
    }


def best(name: str, cells: Sequence[Cell]) -> str:
    """Behind this balancer, the store x routing that lost least (its worst miss rate over the scenarios that ran),
    and the directive that gives it."""
    worst: dict[tuple[str, str], float] = {}
    for cell in (c for c in cells if "miss_rate" in c):
        key = (str(cell["store"]), str(cell["routing"]))
        worst[key] = max(worst.get(key, 0.0), float(cell["miss_rate"]))
    if not worst:
        return ""
    (store, routing), rate = min(worst.items(), key=lambda item: (item[1], list(TABLE).index(item[0][1])))
    directive = TABLE[routing][name].describe()
    missed = f"at worst {100 * rate:.1f}% of session requests missed"
    return f"least lossy here: {store} + {routing} ({missed}), with {directive}"


def _row(cell: Cell) -> list[str]:
    if "miss_rate" not in cell:
        return [str(cell["routing"]), str(cell["store"]), str(cell["scenario"]), str(cell.get("failure", "-")),
                *["-"] * (len(HEADERS) - 4)]  # fmt: skip
    mean = cell.get("distinct_nodes_per_session_mean")
    after = cell.get("repins_after_event")
    fair = cell.get("fair_share_s", "-")
    return [
        str(cell["routing"]), str(cell["store"]), str(cell["scenario"]), str(cell.get("verdict", "-")),
        "-" if mean is None else f"{mean:.2f}",
        "-" if after is None else str(after),
        str(cell.get("cookie_reissued", "-")),
        str(cell.get("errors_idempotent", "-")), str(cell.get("errors_non_idempotent", "-")),
        str(cell.get("posts_replayed", "-")),
        "not reached" if fair is None else (fair if fair == "-" else f"{fair:g} s"),
    ]  # fmt: skip


def _agreement_row(cell: Cell) -> list[str]:
    """With replicas: the share of probe sessions every replica sent to one node, and what the mechanism says."""

    def share(key: str) -> str:
        theory = cell.get(f"{key}_theory")
        said = "not modelled" if theory is None else f"theory {pct(theory)}"
        return f"{pct(cell.get(key))} ({said})"

    why = str(cell.get("affinity_agreement_explanation", ""))
    return [str(cell["routing"]), str(cell["store"]), str(cell["scenario"]), str(cell["affinity_replicas"]),
            share("affinity_agreement"), share("affinity_agreement_app"), why]  # fmt: skip
