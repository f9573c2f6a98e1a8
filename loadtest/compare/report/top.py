"""The top of the report, one model for report.md and report.html: the decision, the grids and their legend, the
Recommendation and the design's claims; and the same decision for results.json's meta."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loadtest.compare.report import claims as design
from loadtest.compare.report import decision as deciding
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
    decision: deciding.Decision
    grids: list[Grid]
    legend: list[str]  # the thresholds, one line per measure
    grade_words: Mapping[str, str]
    recommendation: Recommendation
    claims: list[design.Claim]


def build_top(results: Mapping[str, Any]) -> Top:
    cells = results.get("cells", [])
    meta = results.get("meta", {})
    return Top(deciding.decide(cells, meta), build_grids(cells), grades.legend(), GRADE_WORDS, recommend(cells, meta),
               design.design_claims(cells))  # fmt: skip


def meta_fields(cells: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> dict[str, Any]:
    """`recommendation` (headline, for_this_mix, by_priority) and `design_claims` for results.json's meta."""
    headline = recommend(cells, meta).headline
    return {"recommendation": deciding.as_json(deciding.decide(cells, meta), headline),
            "design_claims": design.as_json(design.design_claims(cells))}  # fmt: skip
