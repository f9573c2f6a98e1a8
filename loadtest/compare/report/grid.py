"""The top of the report: per scenario, a routing x store grid of graded cells, built from results.json alone.

Rows are stores (split by consistency mode where one scenario ran several), columns routings, in the
contract's order first and then in the order results.json holds any others: a new store, routing or
scenario shows up without a change here. A cell that disagrees with theory keeps that flag; a cell that
did not run stays in the grid, marked so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loadtest.compare.report import grades
from loadtest.compare.report.table import error_ceiling, store_text
from loadtest.compare.scenarios import SCENARIOS
from loadtest.lab.balancers.mechanisms import BALANCER_NAMES
from loadtest.render.format import ms
from nodes.contract.names import ROUTING_MODES, STORES

Cell = Mapping[str, Any]


def ordered(values: Iterable[str], known: Sequence[str]) -> list[str]:
    """Distinct values: the known ones in their order, then the rest in the order they came."""
    seen = list(dict.fromkeys(values))
    return [v for v in known if v in seen] + [v for v in seen if v not in known]


def row_label(cell: Cell, split_modes: bool) -> str:
    """The store in its posture (`redis (AOF)`), and its consistency mode where one scenario ran several."""
    label = store_text(cell)
    if not split_modes:
        return label
    return f"{label[:-1]}, {cell['consistency']})" if label.endswith(")") else f"{label} ({cell['consistency']})"


@dataclass(frozen=True)
class GridCell:
    """One measured (or failed) cell as the grid shows it."""

    cell: Cell
    grade: str  # fine / costly / broken, or "not-run"
    measure_grades: Mapping[str, str]

    @property
    def ran(self) -> bool:
        return "miss_rate" in self.cell

    @property
    def agrees(self) -> bool:
        """Agrees with theory, or theory does not model it (then the grid says "not modelled")."""
        return bool(self.cell.get("agrees_with_theory")) or self.modelled is False

    @property
    def modelled(self) -> bool:
        return self.cell.get("verdict") != "not modelled"

    @property
    def not_run_text(self) -> str:
        """Why a cell has no measurement: its balancer does not offer the mode, is not installed, or it failed."""
        if self.cell.get("not_offered"):
            return f"not offered: {self.cell['not_offered']}"
        return f"skipped: {self.cell['skipped']}" if self.cell.get("skipped") else "did not run"

    def get(self, key: str) -> Any:
        return self.cell.get(key)

    def facts(self) -> list[tuple[str, str, str]]:
        """(band key, short text, grade) per measured band, in the legend's order: what the grid cell says."""
        return [(band.key, fact_text(band, self.cell), self.measure_grades[band.key])
                for band in grades.BANDS if band.key in self.measure_grades]  # fmt: skip

    def off_theory(self) -> list[str]:
        """The keys of the measures that disagree with theory (OFF_THEORY), for a cell that disagrees."""
        return [] if self.agrees else off_theory_measures(self.cell)

    def theory_text(self) -> str:
        """What disagreed with theory and what theory expected of it: "miss rate (expected 1.0% ± 0.5%)"."""
        return ", ".join(_off_text(key, self.cell) for key in self.off_theory())


# The measures a cell is judged on, each by the key its verdict is kept under in results.json, as the grid names them.
OFF_THEORY = {
    "miss_rate": ("miss_agrees_with_theory", "miss rate"),
    "errors": ("errors_agree_with_theory", "errors"),
    "lost_update_rate": ("lost_update_agrees", "lost updates"),
    "store_latency": ("store_latency_agrees", "store latency"),
    "affinity_agreement": ("affinity_agrees_with_theory", "affinity agreement"),
}


def off_theory_measures(cell: Cell) -> list[str]:
    """The measures (OFF_THEORY keys) whose own verdict is "disagrees", for a cell that disagrees with theory.

    Every cell records whether its errors agree with theory, but only membership-change cells (those with
    `changes`) are judged on them (cells.with_error_verdict); elsewhere errors count here only when nothing else
    disagreed. A cell without `miss_agrees_with_theory` (results from before it) disagrees on its miss rate.
    """
    off = [key for key, (verdict, _) in OFF_THEORY.items() if key != "errors" and cell.get(verdict) is False]
    if "miss_agrees_with_theory" not in cell and "miss_rate" not in off:
        off.insert(0, "miss_rate")
    if cell.get("errors_agree_with_theory") is False and ("changes" in cell or not off):
        off.insert(1 if "miss_rate" in off else 0, "errors")
    return off or ["miss_rate"]


def _off_text(key: str, cell: Cell) -> str:
    name = OFF_THEORY[key][1]
    if key == "miss_rate":
        expected, tolerance = cell.get("expected_miss_rate"), cell.get("tolerance")
        return name if expected is None else f"{name} (expected {100 * expected:.1f}% ± {100 * (tolerance or 0):.1f}%)"
    if key == "errors" and cell.get("expected_errors") is not None:
        return f"{name} ({cell.get('errors', 0):,}, at most {error_ceiling(cell):,} allowed)"
    if key == "affinity_agreement":
        shares = [f"{who} {short_pct(cell[key])}" for who, key in (("browsers", "affinity_agreement"),
                  ("app clients", "affinity_agreement_app")) if cell.get(key) is not None]  # fmt: skip
        return f"{name} ({', '.join(shares)} of sessions on one node; the mechanism's theory: 100%)"
    if key == "lost_update_rate" and cell.get("lost_update_expected") is not None:
        return f"{name} (expected exactly {cell['lost_update_expected']})"
    return name


def short_pct(value: float) -> str:
    """A fraction as a percentage that never shows a small nonzero rate as 0."""
    if value == 0:
        return "0%"
    return f"{100 * value:.2f}%" if value < 0.001 else f"{100 * value:.1f}%"


FACT_NAMES = {"miss_rate": "miss", "error_rate": "errors", "p99_ms": "p99", "lost_update_rate": "lost"}


def fact_text(band: grades.Band, cell: Cell) -> str:
    value = grades.value_of(cell, band) or 0.0
    shown = f"{ms(value)} ms" if band.unit == "ms" else short_pct(value)
    return f"{FACT_NAMES.get(band.key, band.measure)} {shown}"


@dataclass(frozen=True)
class GridRow:
    label: str
    store: str
    consistency: str | None  # set when the row is one consistency mode of the store
    cells: dict[str, GridCell]  # by routing; a routing missing here did not run for this row


@dataclass(frozen=True)
class Grid:
    scenario: str
    routings: list[str]
    rows: list[GridRow]
    balancer: str | None = None  # set when the run compared balancers: one grid per scenario per balancer

    @property
    def title(self) -> str:
        return self.scenario if self.balancer is None else f"{self.scenario}, behind {self.balancer}"


def grid_cell(cell: Cell) -> GridCell:
    if "miss_rate" not in cell:
        return GridCell(cell, "not-run", {})
    return GridCell(cell, grades.grade(cell), grades.grades_of(cell))


def build_grid(scenario: str, cells: Sequence[Cell]) -> Grid:
    """The grid of one scenario's cells."""
    mine = [c for c in cells if c.get("scenario") == scenario]
    modes: dict[str, set[Any]] = {}
    for cell in mine:
        modes.setdefault(str(cell["store"]), set()).add(cell.get("consistency"))
    split = any(len(m) > 1 for m in modes.values())  # a store ran in several modes: one row per store and mode
    routings = ordered((str(c["routing"]) for c in mine), ROUTING_MODES)
    rows: dict[str, GridRow] = {}
    for store in ordered((str(c["store"]) for c in mine), STORES):
        for cell in (c for c in mine if c["store"] == store):
            label = row_label(cell, split)
            row = rows.setdefault(label, GridRow(label, store, cell.get("consistency") if split else None, {}))
            row.cells[str(cell["routing"])] = grid_cell(cell)
    return Grid(scenario, routings, list(rows.values()))


def build_grids(cells: Sequence[Cell]) -> list[Grid]:
    """One grid per scenario that has cells, in the lab's scenario order, then any others; when the run compared
    balancers (or ran another than ours), one per scenario per balancer."""
    scenarios = ordered((str(c["scenario"]) for c in cells), list(SCENARIOS))
    balancers = ordered((str(c.get("balancer", "sessionlab")) for c in cells), BALANCER_NAMES)
    if balancers == ["sessionlab"]:
        return [build_grid(scenario, cells) for scenario in scenarios]
    grids = []
    for scenario in scenarios:
        for balancer in balancers:
            mine = [c for c in cells if c.get("balancer", "sessionlab") == balancer]
            if any(c.get("scenario") == scenario for c in mine):
                grid = build_grid(scenario, mine)
                grids.append(Grid(grid.scenario, grid.routings, grid.rows, balancer))
    return grids
