"""A cell's record, built from a generated locust run."""

from __future__ import annotations

import pytest

from loadtest.compare.record.cells import build_cell, failed_cell, split_at_kill, timeline
from loadtest.compare.spec import CellSpec, Kill
from loadtest.users import tally as T
from tests.loadtest.compare.generated import START, cell, concurrent_cell, stats_doc

REQUIRED = {
    "routing", "store", "scenario", "requests", "rps", "p50_ms", "p95_ms", "p99_ms", "miss_rate",
    "expected_miss_rate", "relogins", "errors", "node_share", "nodes", "users", "duration", "session_requests",
    "misses", "tolerance", "verdict", "kill_at_s", "timeline", "workers", "workers_requested", "load_processes",
    "consistency", "errors_by_status", "events",
}  # fmt: skip


def test_a_cell_has_every_field_results_json_promises() -> None:
    record = cell("random", "memory", "node-failure", 2 / 3, after_p=0.5)
    assert record.keys() >= REQUIRED
    assert record["requests"] == 600  # HTTP rows only: the SESSION miss rows are not requests
    assert record["errors"] == 2
    assert record["kill_at_s"] == 5.0 and record["killed_node"] == "node-3"
    assert sum(record["node_share"].values()) == pytest.approx(1.0)
    assert record["p50_ms"] <= record["p95_ms"] <= record["p99_ms"]


def test_memory_random_near_theory_is_ok_and_a_wild_cell_is_flagged() -> None:
    assert cell("random", "memory", "steady", 2 / 3)["verdict"] == "ok"
    wild = cell("hash", "memory", "steady", 0.30)
    assert wild["verdict"] == "DISAGREES WITH THEORY" and not wild["agrees_with_theory"]


def test_a_single_miss_in_a_shared_store_is_flagged() -> None:
    stats = stats_doc(0.002, seed=3)
    record = build_cell(CellSpec("random", "redis", "steady", 3, 30, 10.0), stats).to_json()
    assert record["misses"] > 0 and record["verdict"] != "ok"


def test_session_requests_split_at_the_kill_pro_rata() -> None:
    rows = timeline(stats_doc(0.1, kill_at=5.0)["per_second"], START)
    assert rows[0]["t"] == pytest.approx(-0.25)
    before, after = split_at_kill(rows, 5.0)
    total = sum(r["session_requests"] for r in rows)
    assert sum(before.values()) + sum(after.values()) == pytest.approx(total, abs=2)
    assert sum(after.values()) == pytest.approx(total * 0.5, rel=0.1)


def test_a_cell_that_did_not_run_says_why() -> None:
    record = failed_cell(CellSpec("random", "redis", "steady", 3, 30, 10.0), "no redis-server").to_json()
    assert record["verdict"] == "DID NOT RUN" and record["failure"] == "no redis-server"


def test_kill_is_optional() -> None:
    record = build_cell(CellSpec("random", "cookie", "steady", 3, 30, 10.0), stats_doc(0.0), None).to_json()
    assert record["kill_at_s"] is None and record["expected_rate_after_kill"] is None
    assert isinstance(Kill("node-1", 1.0).ejected_at_s, type(None))


def test_a_concurrent_cell_reports_lost_updates_with_raw_counts() -> None:
    record = concurrent_cell("redis", "last_write_wins", acked=400, lost=120, conflicts=3)
    assert record["lost_update_rate"] == pytest.approx(0.3)
    assert (record["increments_acked"], record["increments_lost"], record["conflicts_409"]) == (400, 120, 3)
    assert record["bursts"] == 40 and record["consistency"] == "last_write_wins"
    assert record["lost_update_expected"] is None and record["lost_update_agrees"] is None
    assert record["verdict"] == "ok"  # last write wins: reported, not predicted


def test_a_single_lost_update_under_cas_disagrees_with_theory() -> None:
    clean = concurrent_cell("redis", "cas", acked=400, lost=0)
    assert clean["lost_update_expected"] == 0 and clean["lost_update_agrees"] and clean["verdict"] == "ok"
    lossy = concurrent_cell("redis", "cas", acked=400, lost=1)
    assert lossy["lost_update_agrees"] is False and lossy["miss_agrees_with_theory"]
    assert lossy["verdict"] == "DISAGREES WITH THEORY"


def test_other_scenarios_carry_no_lost_update_fields_but_say_their_consistency() -> None:
    record = cell("random", "redis", "steady", 0.0)
    assert "lost_update_rate" not in record and record["consistency"] == "cas"
    assert cell("random", "cookie", "steady", 0.0)["consistency"] == "last_write_wins"


def test_load_sources_count_the_processes_whose_requests_arrived() -> None:
    stats = stats_doc(0.0)
    stats["workers"] = 2
    stats["per_second"][str(int(START))].update({"process:4001": 300, "process:4002": 290})
    record = build_cell(CellSpec("random", "redis", "steady", 3, 30, 10.0, workers=2), stats).to_json()
    assert (record["workers"], record["workers_requested"], record["load_processes"]) == (2, 2, 2)
    assert record["requests_by_process"] == {"4001": 300, "4002": 290}


def test_errors_are_recorded_by_status_and_a_missing_answer_as_connection() -> None:
    stats = stats_doc(0.0)
    stats["per_second"][str(int(START))].update({T.key(T.STATUS, "502"): 3, T.key(T.STATUS, "0"): 2})
    record = build_cell(CellSpec("random", "redis", "steady", 3, 30, 10.0), stats).to_json()
    assert record["errors_by_status"] == {"502": 3, "connection": 2}
    assert failed_cell(CellSpec("random", "redis", "steady", 3, 30, 10.0), "x").to_json()["errors_by_status"] == {}
