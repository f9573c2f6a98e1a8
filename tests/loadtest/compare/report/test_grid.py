"""The report's grid and grades: driven by whatever results.json holds, graded by the stated thresholds."""

from __future__ import annotations

import re
from pathlib import Path

from loadtest.compare.report import grades
from loadtest.compare.report.grid import GridCell, build_grids, grid_cell
from loadtest.compare.report.render import write_report

from ..generated import cell, concurrent_cell, matrix
from .reading import numbers


def test_one_grid_per_scenario_rows_stores_columns_routings() -> None:
    grids = build_grids(matrix())
    assert [g.scenario for g in grids] == ["steady", "node-failure"]
    steady = grids[0]
    assert steady.routings == ["random", "hash"]
    assert [row.label for row in steady.rows] == ["memory", "redis"]
    assert set(steady.rows[0].cells) == {"random", "hash"} and set(steady.rows[1].cells) == {"random"}


def test_every_measured_cell_appears_once_with_its_own_miss_rate() -> None:
    cells = matrix()
    shown = [(gc.get("store"), gc.get("routing"), gc.get("scenario"), gc.get("miss_rate"))
             for g in build_grids(cells) for row in g.rows for gc in row.cells.values()]  # fmt: skip
    assert sorted(shown) == sorted((c["store"], c["routing"], c["scenario"], c["miss_rate"]) for c in cells)


def test_unknown_stores_routings_and_scenarios_still_get_a_place() -> None:
    odd = {**cell("random", "redis", "steady", 0.0), "store": "replicated", "routing": "route", "scenario": "rolling"}
    grids = build_grids([*matrix(), odd])
    assert grids[-1].scenario == "rolling" and grids[-1].routings == ["route"]
    assert grids[-1].rows[0].label == "replicated"


def test_concurrent_rows_split_by_consistency_mode_only_where_a_store_ran_several() -> None:
    cells = [concurrent_cell("redis", "cas", acked=100, lost=0), concurrent_cell("redis", "last_write_wins", acked=100,
             lost=30), concurrent_cell("cookie", "last_write_wins", acked=100, lost=20)]  # fmt: skip
    (grid,) = build_grids(cells)
    assert [r.label for r in grid.rows] == ["cookie (last_write_wins)", "redis (cas)", "redis (last_write_wins)"]
    lost = [r.cells["sticky"].measure_grades["lost_update_rate"] for r in grid.rows]
    assert lost == [grades.BROKEN, grades.FINE, grades.BROKEN]
    (plain,) = build_grids([cell("random", "redis", "steady", 0.0), cell("random", "cookie", "steady", 0.0)])
    assert [r.label for r in plain.rows] == ["cookie", "redis"]  # each store in its one (default) mode


def test_grades_follow_the_stated_thresholds() -> None:
    base = {"miss_rate": 0.0, "error_rate": 0.0, "p99_ms": 100.0}
    assert grades.grade(base) == grades.FINE
    assert grades.grade({**base, "miss_rate": 0.01}) == grades.COSTLY
    assert grades.grade({**base, "miss_rate": 0.5}) == grades.BROKEN
    assert grades.grade({**base, "error_rate": 0.005}) == grades.COSTLY
    assert grades.grade({**base, "p99_ms": 1500.0}) == grades.BROKEN
    assert grades.grade({**base, "lost_update_rate": 0.0}) == grades.FINE
    assert grades.grade({**base, "lost_update_rate": 0.3}) == grades.BROKEN
    assert grades.grades_of(base) == {"miss_rate": "fine", "error_rate": "fine", "p99_ms": "fine"}
    assert [(250, 1000)] in [numbers(r"fine ≤ # ms, costly ≤ # ms", line) for line in grades.legend()]


def test_a_cell_that_did_not_run_stays_in_the_grid() -> None:
    failed = {"routing": "sticky", "store": "redis", "scenario": "steady", "verdict": "DID NOT RUN", "failure": "x",
              "consistency": "cas"}  # fmt: skip
    redis = next(r for r in build_grids([*matrix(), failed])[0].rows if r.store == "redis")
    assert redis.cells["sticky"].grade == "not-run" and not redis.cells["sticky"].ran


def off(**verdicts: object) -> GridCell:
    """The hash cell of the matrix with its per-measure verdicts replaced."""
    cells = matrix()
    return grid_cell({**cells[0], "agrees_with_theory": False, "verdict": "DISAGREES WITH THEORY", **verdicts})


def test_the_mark_names_the_measure_that_disagreed() -> None:
    errors = off(miss_agrees_with_theory=True, errors_agree_with_theory=False, errors=7, expected_errors=0,
                 errors_allowed=4)  # fmt: skip
    assert errors.off_theory() == ["errors"] and errors.theory_text().startswith("errors")
    assert numbers(r"\(#,", errors.theory_text()) == [(7,)] and numbers(r"at most #", errors.theory_text()) == [(4,)]
    miss = off(miss_agrees_with_theory=False, errors_agree_with_theory=True)
    assert miss.off_theory() == ["miss_rate"] and miss.theory_text().startswith("miss rate")
    assert numbers(r"expected #% ± #%", miss.theory_text()) == [(0.0, 0.0)]
    both = off(miss_agrees_with_theory=False, errors_agree_with_theory=False, changes=[])
    assert both.off_theory() == ["miss_rate", "errors"]
    # outside membership changes a cell's errors do not join its verdict: its miss rate is what disagreed
    assert off(miss_agrees_with_theory=False, errors_agree_with_theory=False).off_theory() == ["miss_rate"]
    legacy = {k: v for k, v in off().cell.items() if not k.endswith(("_agrees_with_theory", "_agree_with_theory"))}
    assert grid_cell(legacy).off_theory() == ["miss_rate"]  # results from before the per-measure verdicts
    assert grid_cell(matrix()[0]).off_theory() == []


def test_html_and_markdown_marks_say_which_measure(tmp_path: Path) -> None:
    cells = matrix()
    cells[0].update(agrees_with_theory=False, verdict="DISAGREES WITH THEORY", errors_agree_with_theory=False,
                    expected_errors=0, errors_allowed=1, changes=[])  # fmt: skip
    write_report(tmp_path, {"meta": {"cells": len(cells)}, "cells": cells})
    md, page = (tmp_path / "report.md").read_text(), (tmp_path / "report.html").read_text()
    assert re.search(r'data-store="redis"\s+data-routing="random".*?data-miss-rate="0.0" data-off-theory="errors">',
                     page, re.S)  # fmt: skip
    assert re.search(r'data-routing="hash".*?data-off-theory="miss_rate">', page, re.S)
    for text in (md, page):
        assert numbers(r"≠ theory on errors \(#, at most #", text) == [(2, 1)]  # the mark names its measure
        assert "≠ theory on miss rate" in text
        assert all(measure in text for measure in ("miss rate", "errors", "lost updates", "store latency"))  # legend
        assert numbers(r"redis / random / steady: # failed requests, theory #, at most #", text) == [(2, 0, 1)]
