"""report.html in real headless Chromium at 1,280 x 800: no console error, every image decodes, nothing wider
than the window, and a grid whose cells say what results.json says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loadtest.compare.report import grades
from loadtest.compare.report.render import write_report, write_results
from loadtest.lab import browser as chromium

from ..loadtest.compare.generated import cell, concurrent_cell, matrix
from ..support import sessionlab

GRID_CELLS_JS = "() => Array.from(document.querySelectorAll('td[data-miss-rate]')).map(td => ({...td.dataset}))"


def generated_results() -> dict[str, Any]:
    """Every kind of cell: clean, missing, off theory, node-failure, concurrent in two modes, a new store."""
    odd = {**cell("random", "redis", "steady", 0.0), "store": "replicated", "routing": "route"}
    cells = [*matrix(), odd, concurrent_cell("redis", "cas", acked=200, lost=0),
             concurrent_cell("redis", "last_write_wins", acked=200, lost=40)]  # fmt: skip
    meta = {"cells": len(cells), "nodes": 3, "users": 30, "duration": 10.0, "user_kinds": ["browser", "app"]}
    return {"meta": meta, "cells": cells}


def written(folder: Path, results: dict[str, Any]) -> Path:
    write_results(folder, results["meta"], results["cells"])
    write_report(folder, results)
    return folder / "report.html"


def look(page: Any, html: Path) -> chromium.PageLook:
    return chromium.inspect(page, html.resolve().as_uri())


def assert_grid_matches(page: Any, results: dict[str, Any]) -> None:
    shown = page.evaluate(GRID_CELLS_JS)
    measured = [c for c in results["cells"] if "miss_rate" in c]
    assert len(shown) == len(measured)
    for expected in measured:
        same = [s for s in shown if (s["store"], s["routing"], s["scenario"], s["consistency"])
                == (expected["store"], expected["routing"], expected["scenario"], expected["consistency"])]  # fmt: skip
        assert len(same) == 1, expected
        assert float(same[0]["missRate"]) == expected["miss_rate"]
        assert same[0]["grade"] == grades.grade(expected)


def test_generated_report_looks_right_at_laptop_width(page: Any, tmp_path: Path) -> None:
    results = generated_results()
    seen = look(page, written(tmp_path, results))
    assert seen.problems() == []
    assert seen.images >= 4
    assert_grid_matches(page, json.loads((tmp_path / "results.json").read_text()))


def test_the_top_of_the_page_is_the_decision_then_the_grid_and_the_recommendation(page: Any, tmp_path: Path) -> None:
    look(page, written(tmp_path, generated_results()))
    headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
    assert headings[:4] == ["The decision: what can you not afford?", "Scenario: steady", "Scenario: node-failure",
                            "Scenario: concurrent"]  # fmt: skip
    assert "Recommendation" in headings and "The design's claims, measured" in headings
    assert page.locator("td.off-theory[data-store=memory][data-routing=hash]").count() == 1


def test_the_first_screen_shows_the_whole_decision_table(page: Any, tmp_path: Path) -> None:
    """At 1,280 x 800 the table of what a team cannot afford, and this run's answer, fit above the fold, and no
    choice that lost writes is named among the survivors of parallel writes."""
    results = generated_results()
    results["cells"].append(concurrent_cell("cookie", "last_write_wins", acked=200, lost=180))
    look(page, written(tmp_path, results))
    table, answer = page.locator("#decision table.decision"), page.locator("#decision .answer")
    assert table.locator("tbody tr").count() == 6
    bottom = answer.bounding_box()
    assert bottom["y"] + bottom["height"] <= chromium.LAPTOP["height"]  # visible without scrolling
    writes = page.locator("#decision tr[data-priority='parallel writes to one session'] td.survivors").inner_text()
    assert writes == "redis with cas"  # redis with last_write_wins lost 20%, cookie 90%
    apps = page.locator("#decision tr[data-priority='app clients without cookies'] td.survivors").inner_text()
    assert "memory" not in apps
    assert "lossless" not in page.locator("#decision").inner_text()


@pytest.mark.timeout(120)
def test_compare_writes_a_report_that_chromium_shows_and_its_screenshot(page: Any, tmp_path: Path) -> None:
    run = sessionlab("compare", "--routing", "random", "--store", "memory,redis", "--scenario", "steady",
                     "--users", "10", "--duration", "3", "--revocation-bound", "0", "--out", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"wrote {tmp_path / 'report.png'}" in run.stdout
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")
    seen = look(page, tmp_path / "report.html")
    assert seen.problems() == []
    assert_grid_matches(page, json.loads((tmp_path / "results.json").read_text()))
