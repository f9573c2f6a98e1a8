"""`sessionlab repeat`: per cell, how many of N compare runs agreed with theory, and the bar that judges it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from loadtest.compare.fidelity.repeat import EXIT_BELOW_BAR, EXIT_INTERRUPTED, CellTally, parse_args, tally
from loadtest.compare.record.model import DID_NOT_RUN, DISAGREES
from loadtest.lab.processes import wait_until
from tests.support import living, recorded_pids, sessionlab, spawn, stop_tree


def cell(verdict: str, miss_rate: float = 0.1, **extra: object) -> dict[str, object]:
    return {"store": "memory", "routing": "sticky", "scenario": "steady", "verdict": verdict,
            "miss_rate": miss_rate, "expected_miss_rate": 0.1, "tolerance": 0.02, **extra}  # fmt: skip


def test_nineteen_of_twenty_holds_and_eighteen_does_not() -> None:
    holding = tally([[cell("ok")]] * 19 + [[cell(DISAGREES)]])
    failing = tally([[cell("ok")]] * 18 + [[cell(DISAGREES)]] * 2)
    (held,) = holding.values()
    (fell,) = failing.values()
    assert (held.agreed, held.judged, held.holds(0.95)) == (19, 20, True)
    assert (fell.agreed, fell.judged, fell.holds(0.95)) == (18, 20, False)


def test_unjudged_and_unrun_cells_neither_agree_nor_disagree() -> None:
    found = tally([[cell("ok")], [cell("not modelled")], [cell(DID_NOT_RUN)], [cell("ok")]])
    (entry,) = found.values()
    assert (entry.agreed, entry.judged, entry.not_run, entry.holds(0.95)) == (2, 3, 1, False)
    assert CellTally("nothing judged", ["not modelled"]).holds(0.95) is None


def test_cells_are_told_apart_by_load_model_and_balancer() -> None:
    found = tally([[cell("ok"), cell("ok", arrival_rate=100.0), cell("ok", balancer="haproxy")]])
    assert list(found) == ["memory / sticky / steady", "memory / sticky / steady / open 100/s",
                           "memory / sticky / steady / haproxy"]  # fmt: skip


def test_repeat_owns_the_output_folder_and_refuses_it_after_the_separator() -> None:
    args, compare = parse_args(["--runs", "3", "--", "--store", "memory"])
    assert (args.runs, compare) == (3, ["--store", "memory"])
    with pytest.raises(SystemExit):
        parse_args(["--runs", "3", "--", "--out", "elsewhere"])


def test_two_real_runs_are_counted_per_cell_each_in_its_own_folder(tmp_path: Path) -> None:
    """Two real compare processes of one random cell: both ran, each wrote its own report, the table counts both
    (random's theory is exact, so a disagreement is chance and exits 3 by the bar: either exit is the tool's)."""
    done = sessionlab("repeat", "--runs", "2", "--out", str(tmp_path), "--", "--store", "memory", "--routing",
                      "random", "--scenario", "steady", "--users", "6", "--duration", "3",
                      "--revocation-bound", "0", timeout=240)  # fmt: skip
    assert done.returncode in (0, EXIT_BELOW_BAR), done.stderr
    saved = json.loads((tmp_path / "agreement.json").read_text())
    (verdicts,) = [entry["verdicts"] for entry in saved["cells"].values()]
    assert len(verdicts) == 2 and DID_NOT_RUN not in verdicts
    assert (tmp_path / "run-01" / "results.json").exists() and (tmp_path / "run-02" / "report.md").exists()
    assert "memory / random / steady" in (tmp_path / "agreement.md").read_text()


def test_variants_are_split_like_a_shell_and_may_not_carry_the_output_folder() -> None:
    args, _ = parse_args(["--variant", "", "--variant", "--arrival-rate 200 --poisson", "--", "--store", "memory"])
    assert args.variant == [[], ["--arrival-rate", "200", "--poisson"]]
    with pytest.raises(SystemExit):
        parse_args(["--variant", "--out x"])


def test_sigterm_stops_the_running_compare_and_its_cluster_and_keeps_the_finished_runs(tmp_path: Path) -> None:
    """A stopped repeat must not orphan the cluster of the compare it was running (a bare kill of that compare
    would): the compare gets SIGINT, stops everything it started, and repeat exits 130 with its table."""
    run = spawn("repeat", "--runs", "3", "--out", str(tmp_path), "--", "--store", "memory", "--routing", "random",
                "--scenario", "steady", "--users", "4", "--duration", "20", "--revocation-bound", "0")  # fmt: skip
    pids = tmp_path / "run-01" / "pids.txt"
    try:
        assert wait_until(lambda: pids.exists() and "locust" in pids.read_text(), timeout=90), "run 1 never started"
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=90)
    finally:
        stop_tree(run, pids)
    assert run.returncode == EXIT_INTERRUPTED, stderr
    assert "interrupted" in stderr and not living(recorded_pids(pids))
    assert not (tmp_path / "run-02").exists()


def test_runs_of_earlier_repeats_are_counted_with_add(tmp_path: Path) -> None:
    for name, verdict in (("run-01-1", "ok"), ("run-01-2", DISAGREES), ("run-02-1", "ok")):
        (tmp_path / "earlier" / name).mkdir(parents=True)
        (tmp_path / "earlier" / name / "results.json").write_text(json.dumps({"cells": [cell(verdict)]}))
    done = sessionlab("repeat", "--runs", "0", "--add", str(tmp_path / "earlier"), "--out", str(tmp_path / "t"))
    assert done.returncode == EXIT_BELOW_BAR and "2 of 3" in (tmp_path / "t" / "agreement.md").read_text()
