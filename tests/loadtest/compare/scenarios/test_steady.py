"""steady: no event, and the plain routing x store theory (zero errors expected)."""

from __future__ import annotations

from loadtest.compare.record.cells import build_cell
from loadtest.compare.scenarios import scenario_for
from loadtest.compare.spec import CellSpec
from tests.loadtest.compare.generated import stats_doc

SPEC = CellSpec("random", "memory", "steady", nodes=3, users=30, duration=10.0)


def test_steady_applies_no_event_and_keeps_the_cluster_as_configured() -> None:
    steady = scenario_for("steady")
    assert steady.events(SPEC) == []
    assert steady.disruption([]) is None
    assert steady.users is None  # the cell's own user kinds


def test_steady_memory_random_expects_two_thirds_misses_and_no_error() -> None:
    record = build_cell(SPEC, stats_doc(2 / 3)).to_json()
    assert abs(record["expected_miss_rate"] - 2 / 3) < 0.01 and record["verdict"] == "ok"
    assert record["events"] == [] and record["expected_errors"] == 0
    assert record["errors_agree_with_theory"] is False  # the generated run has 2 failed /me requests
    assert "sessions live on one node" in record["theory"]
