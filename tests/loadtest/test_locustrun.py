"""The locust runner never mistakes an earlier run's files in the same --out folder for this run's."""

from __future__ import annotations

from pathlib import Path

from loadtest.cells import CellSpec
from loadtest.locustrun import LocustRun


def test_files_of_an_earlier_run_are_cleared_before_a_new_one(tmp_path: Path) -> None:
    run = LocustRun(CellSpec("random", "memory", "node-failure", 3, 20, 7.0), "http://127.0.0.1:1", tmp_path / "cell")
    run.folder.mkdir()
    run.stats_path.write_text('{"test_start": 1.0}')  # what made a re-run kill its node "at 1159 s"
    (run.folder / "locust_stats.csv").write_text("old")
    kept = run.folder / "locust.log"
    kept.write_text("log")
    run.clear_previous()
    assert not run.stats_path.exists()
    assert not (run.folder / "locust_stats.csv").exists()
    assert kept.exists()
