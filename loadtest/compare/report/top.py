"""The top of the report, one model for report.md and report.html: the grids, their legend, the Recommendation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loadtest.compare.report import grades
from loadtest.compare.report.grid import Grid, build_grids
from loadtest.compare.report.recommend import Recommendation, recommend

GRADE_WORDS = {
    grades.FINE: "fine: nothing a user would notice",
    grades.COSTLY: "costly: it works, at a price users notice (a re-login, a failed request, a slow page)",
    grades.BROKEN: "broken: users lose sessions, writes or patience",
}


@dataclass(frozen=True)
class Top:
    grids: list[Grid]
    legend: list[str]  # the thresholds, one line per measure
    grade_words: Mapping[str, str]
    recommendation: Recommendation


def build_top(results: Mapping[str, Any]) -> Top:
    cells = results.get("cells", [])
    meta = results.get("meta", {})
    return Top(build_grids(cells), grades.legend(), GRADE_WORDS, recommend(cells, meta))
