"""report.md and report.html from one model: both open with the grids and the Recommendation, then narrow tables
and figures that say how to read them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from loadtest.compare.report import grades
from loadtest.compare.report.captions import HOW_TO_READ
from loadtest.compare.report.recommend import recommend
from loadtest.compare.report.render import write_report
from loadtest.compare.report.tables import GROUPS

from ..generated import concurrent_cell, matrix
from .reading import numbers

MAX_COLUMNS = 8  # a cell name and up to 7 short values fit 1,280 px (checked in a real browser in tests/browser)


def written(tmp_path: Path) -> tuple[dict[str, Any], str, str]:
    cells = [*matrix(), concurrent_cell("redis", "cas", acked=100, lost=0)]
    results = {"meta": {"cells": len(cells), "user_kinds": ["browser", "app"]}, "cells": cells}
    write_report(tmp_path, results)
    return results, (tmp_path / "report.md").read_text(), (tmp_path / "report.html").read_text()


def test_both_open_with_the_decision_then_the_grids_then_the_recommendation(tmp_path: Path) -> None:
    results, md, page = written(tmp_path)
    headline = recommend(results["cells"], results["meta"]).headline
    for text, section in ((md, "## Recommendation"), (page, "<h2>Recommendation</h2>")):
        order = [text.index("The decision: what can you not afford?"), text.index("parallel writes to one session")]
        order += [text.index("client mix ("), text.index(headline)]  # the answer for this run, in one line
        order += [text.index(f"Scenario: {name}") for name in ("steady", "node-failure", "concurrent")]
        order += [text.index(section), text.index(headline, text.index(section))]
        order += [text.index("claims, measured"), text.index("Details")]
        assert order == sorted(order), order
        assert numbers(r"p99: fine ≤ # ms, costly ≤ # ms", text) == [(250, 1000)]


def test_html_grid_cells_carry_what_results_json_says(tmp_path: Path) -> None:
    results, _, page = written(tmp_path)
    shown = re.findall(r'data-store="([^"]+)"\s+data-routing="([^"]+)" data-scenario="([^"]+)" '
                       r'data-consistency="([^"]+)"\s+data-grade="([^"]+)" data-miss-rate="([^"]+)"', page)  # fmt: skip
    expected = [(c["store"], c["routing"], c["scenario"], c["consistency"], grades.grade(c), repr(c["miss_rate"]))
                for c in results["cells"]]  # fmt: skip
    assert sorted(shown) == sorted(expected)


def test_a_cell_that_disagrees_with_theory_is_marked_in_the_grid(tmp_path: Path) -> None:
    _, md, page = written(tmp_path)
    assert re.search(r'class="cell g-\w+ off-theory" data-store="memory"\s+data-routing="hash"', page)
    assert "≠ theory" in md.split("## Recommendation")[0]


def test_detail_tables_are_narrow_and_figures_say_how_to_read_them(tmp_path: Path) -> None:
    _, md, page = written(tmp_path)
    assert all(len(group.columns) + 1 <= MAX_COLUMNS for group in GROUPS)
    for row in re.findall(r"<thead><tr>(.*?)</tr></thead>", page):
        assert row.count("<th>") <= MAX_COLUMNS
    for title in ("Traffic", "Misses vs theory", "Errors", "Consistency", "Events"):
        assert f"<h3>{title}</h3>" in page and f"### {title}" in md
    figures = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert len(figures) >= 4 and all("How to read:" in caption for caption in figures)
    assert set(re.findall(r'<figure id="figure-(\w+)"', page)) <= set(HOW_TO_READ)


def test_names_in_backticks_are_code_in_html_and_stay_backticks_in_markdown(tmp_path: Path) -> None:
    _, md, page = written(tmp_path)  # the survival lines name the scenarios that were not run: `--scenario ...`
    assert "`--scenario rolling-deploy`" in md
    assert "<code>--scenario rolling-deploy</code>" in page
    assert "`" not in re.sub(r"<img [^>]*>", "", page)
