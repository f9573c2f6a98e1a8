"""What a user would call a measured cell: fine, costly or broken, by stated thresholds.

Three measures decide, each graded on its own and the cell taking the worst: the session-miss rate (a miss
logs the user out), the error rate (5xx and connection errors) and p99 latency; concurrent cells add the
lost-update rate (an acknowledged write that vanished). The thresholds are here once, and the report prints
them under the grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loadtest.render.format import ms

FINE, COSTLY, BROKEN = "fine", "costly", "broken"
GRADES = (FINE, COSTLY, BROKEN)


@dataclass(frozen=True)
class Band:
    """One measure's upper bounds: at most `fine` is fine, at most `costly` is costly, above is broken."""

    measure: str
    key: str  # the results.json field
    fine: float
    costly: float
    unit: str  # "%" for fractions, "ms" for milliseconds

    def grade(self, value: float | None) -> str | None:
        """The grade of a value; None when the cell did not measure it."""
        if value is None:
            return None
        return FINE if value <= self.fine else COSTLY if value <= self.costly else BROKEN

    def show(self, value: float) -> str:
        return f"{100 * value:g}%" if self.unit == "%" else f"{ms(value)} ms"

    def describe(self) -> str:
        """The thresholds in words, for the legend under the grid."""
        fine = "fine at 0" if self.fine == 0 else f"fine ≤ {self.show(self.fine)}"
        return f"{self.measure}: {fine}, costly ≤ {self.show(self.costly)}, broken above"


# A single miss is a user logged out; past 5% of requests a user can hardly stay logged in at all.
MISSES = Band("miss rate", "miss_rate", fine=0.0, costly=0.05, unit="%")
# A request in flight when a node dies may fail; past 1% of requests users see failures.
ERRORS = Band("error rate", "error_rate", fine=0.001, costly=0.01, unit="%")
# A page that answers within a quarter second feels instant; past a second users notice waiting.
LATENCY = Band("p99", "p99_ms", fine=250.0, costly=1000.0, unit="ms")
# Any vanished acknowledged write is data lost; past 1% it happens to users every day.
LOST_UPDATES = Band("lost updates", "lost_update_rate", fine=0.0, costly=0.01, unit="%")
BANDS = (MISSES, ERRORS, LATENCY, LOST_UPDATES)


def worst(grades: list[str | None]) -> str:
    """The worst of some grades (measures not taken ignored); fine when none was taken."""
    taken = [g for g in grades if g is not None]
    return max(taken, key=GRADES.index) if taken else FINE


def grades_of(cell: Mapping[str, Any]) -> dict[str, str]:
    """Each measured band's grade for one results.json cell, by band key."""
    graded = {band.key: band.grade(value_of(cell, band)) for band in BANDS}
    return {key: grade for key, grade in graded.items() if grade is not None}


def value_of(cell: Mapping[str, Any], band: Band) -> float | None:
    value = cell.get(band.key)
    if value is None and band is ERRORS and cell.get("requests"):
        return float(cell.get("errors", 0)) / float(cell["requests"])  # results from before error_rate
    return None if value is None else float(value)


def grade(cell: Mapping[str, Any]) -> str:
    """The cell's grade: the worst of its measures."""
    return worst(list(grades_of(cell).values()))


def legend() -> list[str]:
    """One line per band, as printed under the grid."""
    return [band.describe() for band in BANDS]
